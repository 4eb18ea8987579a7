"""``--model NAME=SOURCE``: which model a system's outputs come from.

>>> s = parse_model_spec("tuned=/models/base+/adapters/r16")
>>> s.name, s.engine, s.source, s.adapter
('tuned', 'transformers', '/models/base', '/adapters/r16')
>>> s = parse_model_spec("api=openai:llama-3@http://127.0.0.1:8000/v1")
>>> s.engine, s.source, s.base_url
('openai', 'llama-3', 'http://127.0.0.1:8000/v1')
"""

from __future__ import annotations

from dataclasses import dataclass

from sidebyside.foundation.errors import InputError

ENGINES = ("transformers", "openai", "vllm")


@dataclass(frozen=True)
class ModelSpec:
    """One ``--model``: the system's name in the study and where its answers come from."""

    name: str
    engine: str  # transformers | openai | vllm
    #: A local path or hub id (transformers, vllm), or the server's model name (openai).
    source: str
    adapter: str | None = None
    base_url: str | None = None

    @property
    def display(self) -> str:
        """The source as the user wrote it (adapter and URL included)."""
        if self.engine == "openai":
            return f"openai:{self.source}@{self.base_url}"
        return self.source + (f"+{self.adapter}" if self.adapter else "")


def parse_model_spec(text: str, *, engine: str = "transformers") -> ModelSpec:
    """``NAME=PATH``, ``NAME=PATH+ADAPTER`` or ``NAME=openai:MODEL@URL``; ``engine`` is the
    ``--engine`` for specs that do not name their own."""
    if engine not in ENGINES:
        raise InputError(f"--engine {engine!r}: use one of {', '.join(ENGINES)}")
    name, sep, source = text.partition("=")
    name, source = name.strip(), source.strip()
    if not sep or not name or not source:
        raise InputError(
            f"--model {text!r}: write NAME=SOURCE, e.g. base=./models/base, "
            "tuned=./models/base+./adapters/r16 or api=openai:MODEL@http://HOST:PORT/v1"
        )
    if len(name) > 200:
        raise InputError(f"--model {text[:40]!r}...: the name has at most 200 characters")
    if source.startswith("openai:"):
        model, at, url = source.removeprefix("openai:").rpartition("@")
        if not at or not model or not url.startswith(("http://", "https://")):
            raise InputError(
                f"--model {text!r}: an OpenAI-compatible server is openai:MODEL@URL, "
                "e.g. openai:llama-3@http://127.0.0.1:8000/v1"
            )
        return ModelSpec(name, "openai", model, None, url.rstrip("/"))
    if engine == "openai":
        raise InputError(f"--model {text!r}: --engine openai needs openai:MODEL@URL sources")
    base, plus, adapter = source.partition("+")
    if plus and (not base or not adapter):
        raise InputError(f"--model {text!r}: an adapter is written PATH+ADAPTER")
    return ModelSpec(name, engine, base, adapter or None)


def parse_model_specs(texts: list[str], *, engine: str = "transformers") -> list[ModelSpec]:
    """Every ``--model``; names must be distinct."""
    if not texts:
        raise InputError("give at least one --model NAME=SOURCE")
    specs = [parse_model_spec(t, engine=engine) for t in texts]
    seen: set[str] = set()
    for spec in specs:
        if spec.name in seen:
            raise InputError(f"--model: the name {spec.name!r} is given twice")
        seen.add(spec.name)
    return specs
