"""Judge providers behind one small Protocol, loaded lazily by name.

Importing this package imports no SDK and no torch: a provider's module is imported only when
a judge of that provider is built, and a missing SDK or key raises
:class:`ProviderUnavailable` with a one-line message saying what to install or set.
"""

from __future__ import annotations

import importlib
import os

from judge.providers.base import (
    EXTRAS,
    Completion,
    Judge,
    JudgeRequest,
    ProviderError,
    ProviderUnavailable,
)
from judge.specs import JudgeSpec

PROVIDERS: dict[str, str] = {
    "openai": "judge.providers.openai:OpenAIJudge",
    "anthropic": "judge.providers.anthropic:AnthropicJudge",
    "hf": "judge.providers.hf:HFJudge",
    "baseline": "judge.providers.baseline:BaselineJudge",
}

#: Official endpoints, and the environment variables that override them (the SDKs' own names).
DEFAULT_BASE_URLS = {
    "openai": ("OPENAI_BASE_URL", "https://api.openai.com/v1"),
    "anthropic": ("ANTHROPIC_BASE_URL", "https://api.anthropic.com"),
}
API_KEY_ENV = {"openai": "OPENAI_API_KEY", "anthropic": "ANTHROPIC_API_KEY"}

__all__ = [
    "PROVIDERS",
    "Completion",
    "Judge",
    "JudgeRequest",
    "ProviderError",
    "ProviderUnavailable",
    "api_key",
    "load_judge",
    "resolve_base_url",
]


def resolve_base_url(spec: JudgeSpec) -> str | None:
    """The server a judge talks to: its @URL, else the SDK's environment variable, else the
    official endpoint; None for local judges. Part of the cache key."""
    if spec.provider not in DEFAULT_BASE_URLS:
        return None
    if spec.base_url:
        return spec.base_url.rstrip("/")
    env, default = DEFAULT_BASE_URLS[spec.provider]
    return (os.environ.get(env) or default).rstrip("/")


def is_official(spec: JudgeSpec) -> bool:
    return resolve_base_url(spec) == DEFAULT_BASE_URLS[spec.provider][1]


def api_key(spec: JudgeSpec) -> str:
    """The API key to send; required only for the official endpoint (local OpenAI-compatible
    servers such as vLLM or Ollama accept anything)."""
    env = API_KEY_ENV[spec.provider]
    key = os.environ.get(env, "").strip()
    if key:
        return key
    if is_official(spec):
        raise ProviderUnavailable(
            f"judge {spec.name} needs an API key: set {env} "
            f"(or point it at a local server with {spec.provider}:MODEL@URL)"
        )
    return "not-needed"


def provider_class(provider: str) -> type:
    """Import a provider's class; raise ProviderUnavailable naming the pip extra if its SDK or
    library is missing."""
    try:
        target = PROVIDERS[provider]
    except KeyError:
        raise ProviderUnavailable(
            f"unknown judge provider {provider!r}; known: {', '.join(PROVIDERS)}"
        ) from None
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        extra = EXTRAS.get(provider, "api")
        raise ProviderUnavailable(
            f"{provider}: judges need {exc.name or 'a missing package'}: "
            f"pip install 'sidebyside[{extra}]'"
        ) from exc
    return getattr(module, attr)


def load_judge(spec: JudgeSpec, **options: object) -> Judge:
    """Build the judge for ``spec`` (options: ``timeout`` for API judges, ``batch_size`` and
    ``max_new_tokens`` for hf). Fails fast with ProviderUnavailable."""
    cls = provider_class(spec.provider)
    return cls(spec, **options)
