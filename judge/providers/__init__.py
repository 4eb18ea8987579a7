"""Judge providers behind one small Protocol, loaded lazily by name.

Each provider declares itself in its own module (``INFO``, see :mod:`judge.providers.registry`).
Importing this package imports no SDK and no torch: a provider's SDK is imported only when a
judge of that provider is built, and a missing SDK or key raises :class:`ProviderUnavailable`
with a one-line message saying what to install or set.
"""

from __future__ import annotations

import importlib
import os
from typing import TYPE_CHECKING

from judge.providers import registry
from judge.providers.base import (
    Completion,
    Judge,
    JudgeRequest,
    ProviderError,
    ProviderUnavailable,
)
from judge.providers.registry import ProviderInfo

if TYPE_CHECKING:  # judge.specs imports the registry, so this package must not import it back
    from judge.specs import JudgeSpec

__all__ = [
    "Completion",
    "Judge",
    "JudgeRequest",
    "ProviderError",
    "ProviderInfo",
    "ProviderUnavailable",
    "api_key",
    "load_judge",
    "provider_class",
    "resolve_base_url",
]


def resolve_base_url(spec: JudgeSpec) -> str | None:
    """The server a judge talks to: its @URL, else the SDK's environment variable, else the
    official endpoint; None for local judges. Part of the cache key."""
    info = registry.find(spec.provider)
    if info is None or info.base_url is None:
        return None
    if spec.base_url:
        return spec.base_url.rstrip("/")
    env = os.environ.get(info.base_url_env) if info.base_url_env else None
    return (env or info.base_url).rstrip("/")


def is_official(spec: JudgeSpec) -> bool:
    info = registry.find(spec.provider)
    return info is not None and resolve_base_url(spec) == info.base_url


def api_key(spec: JudgeSpec) -> str:
    """The API key to send; required only for the official endpoint (local OpenAI-compatible
    servers such as vLLM or Ollama accept anything)."""
    env = registry.get(spec.provider).api_key_env
    key = os.environ.get(env, "").strip() if env else ""
    if key:
        return key
    if env and is_official(spec):
        raise ProviderUnavailable(
            f"judge {spec.name} needs an API key: set {env} "
            f"(or point it at a local server with {spec.provider}:MODEL@URL)"
        )
    return "not-needed"


def provider_class(provider: str) -> type:
    """Import a provider's SDK, then its class; raise ProviderUnavailable naming the pip extra
    if the SDK or library is missing."""
    try:
        info = registry.get(provider)
    except KeyError as exc:
        raise ProviderUnavailable(exc.args[0]) from None
    module_name, _, attr = info.target.partition(":")
    try:
        for name in info.requires:
            importlib.import_module(name)
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or "a missing package"
        install = f"sidebyside[{info.extra}]" if info.extra else missing
        raise ProviderUnavailable(
            f"{provider}: judges need {missing}: pip install '{install}'"
        ) from exc
    return getattr(module, attr)


def load_judge(spec: JudgeSpec, **options: object) -> Judge:
    """Build the judge for ``spec`` (options: ``timeout`` for API judges, ``batch_size`` and
    ``max_new_tokens`` for hf). Fails fast with ProviderUnavailable."""
    cls = provider_class(spec.provider)
    return cls(spec, **options)
