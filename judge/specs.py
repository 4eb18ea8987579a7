"""Judge spec strings: the one way a judge is named in the CLI, the UI and the Python API.

>>> parse_spec("openai:gpt-4o-mini")
JudgeSpec(provider='openai', model='gpt-4o-mini', base_url=None, variant=None)
>>> parse_spec("openai:gpt-4o-mini").with_variant("strict").name  # asked with another prompt
'openai:gpt-4o-mini#strict'
>>> parse_spec("openai:llama3@http://localhost:11434/v1").name
'openai:llama3@http://localhost:11434/v1'
>>> parse_spec("baseline:longest").is_baseline
True

The providers, and every rule of their specs (a closed model list, @URL, ``--base-url``, a
baseline), are declared by the providers themselves (:mod:`judge.providers.registry`): this
module names none of them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sidebyside.foundation.errors import SpecError
from sidebyside.judge.providers import registry

#: Judge name reserved for the majority vote of the real judges of a run.
ENSEMBLE = "ensemble"

_URL = re.compile(r"@(https?://\S+)$")


@dataclass(frozen=True)
class JudgeSpec:
    """A parsed judge spec: ``provider:model`` plus an optional server URL."""

    provider: str
    model: str
    base_url: str | None = None
    #: The prompt template's label when it is not the mode's default (see judge.templates).
    variant: str | None = None

    @property
    def name(self) -> str:
        """The judge's name as stored on every judgment and verdict."""
        base = f"{self.provider}:{self.model}"
        base = f"{base}@{self.base_url}" if self.base_url else base
        return f"{base}#{self.variant}" if self.variant else base

    def with_variant(self, label: str | None) -> JudgeSpec:
        """The same judge asked with another template: its verdicts are kept apart. Baselines
        read no prompt, so they stay as they are."""
        if self.is_baseline or not label:
            return self
        return JudgeSpec(self.provider, self.model, self.base_url, label)

    @property
    def is_baseline(self) -> bool:
        """A reference judge (:attr:`ProviderInfo.baseline`): no template, no ensemble."""
        info = registry.find(self.provider)
        return info is not None and info.baseline

    @property
    def is_api(self) -> bool:
        """Whether calls cost money and go over the network."""
        info = registry.find(self.provider)
        return info is not None and info.is_api

    def with_base_url(self, url: str | None) -> JudgeSpec:
        if not url or self.base_url:
            return self
        return JudgeSpec(self.provider, self.model, url.rstrip("/"), self.variant)

    def __str__(self) -> str:
        return self.name


def parse_spec(text: str) -> JudgeSpec:
    """Parse ``PROVIDER:MODEL[@URL]`` by the rules the provider declares; raise
    :class:`SpecError` saying what is wrong."""
    raw = text.strip()
    provider, sep, rest = raw.partition(":")
    provider = provider.strip().lower()
    known = ", ".join(registry.names())
    if not sep or not rest.strip():
        raise SpecError(
            f"judge spec {text!r} must look like PROVIDER:MODEL "
            f"(providers: {known}), e.g. {', '.join(i.example_spec for i in registry.providers())}"
        )
    info = registry.find(provider)
    if info is None:
        raise SpecError(f"judge spec {text!r}: unknown provider {provider!r}; use one of {known}")
    rest = rest.strip()
    if "#" in rest:
        raise SpecError(
            f"judge spec {text!r}: '#' marks a judge asked with another prompt template; "
            "give the plain spec and the template with --template"
        )
    base_url = None
    match = _URL.search(rest)
    if match:
        if not info.takes_url:
            takers = registry.prefixes([i for i in registry.providers() if i.takes_url])
            raise SpecError(f"judge spec {text!r}: only {takers} judges take @URL")
        base_url = match.group(1).rstrip("/")
        rest = rest[: match.start()]
    if not rest:
        raise SpecError(f"judge spec {text!r}: the model name is empty")
    if info.models is not None:  # a closed list (baselines): matched case-insensitively
        if rest.lower() not in info.models:
            raise SpecError(
                f"judge spec {text!r}: unknown {provider} {rest!r}; use one of "
                + ", ".join(f"{provider}:{m}" for m in info.models)
            )
        rest = rest.lower()
    return JudgeSpec(provider, rest, base_url)


def parse_specs(
    texts: list[str] | tuple[str, ...], *, base_url: str | None = None
) -> list[JudgeSpec]:
    """Parse several specs; ``base_url`` applies to the specs without their own @URL of the
    providers that share it (:attr:`ProviderInfo.shared_base_url`). Duplicates (after
    normalisation) are an error, as is the reserved name ``ensemble``."""
    specs: list[JudgeSpec] = []
    for text in texts:
        if text.strip().lower() == ENSEMBLE:
            raise SpecError("'ensemble' is computed from the other judges; it is not a spec")
        spec = parse_spec(text)
        if registry.get(spec.provider).shared_base_url:
            spec = spec.with_base_url(base_url)
        specs.append(spec)
    if not specs:
        raise SpecError(f"give at least one judge, e.g. --judge {_free_example()}")
    if base_url and not any(registry.get(s.provider).shared_base_url for s in specs):
        raise SpecError(f"--base-url applies to {base_url_prefixes()} judges, and none was given")
    names = [s.name for s in specs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise SpecError(f"judge given twice: {', '.join(dupes)}")
    return specs


def base_url_prefixes() -> str:
    """``openai:``: the providers whose specs ``--base-url`` applies to."""
    return registry.prefixes([i for i in registry.providers() if i.shared_base_url])


def _free_example() -> str:
    """A judge that costs nothing, for the message that asks for one."""
    infos = registry.providers()
    return next((i.example_spec for i in infos if i.baseline), infos[0].example_spec)
