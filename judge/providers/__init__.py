"""Judge providers behind one small Protocol, loaded lazily by name.

Each provider declares itself in its own module (``INFO``, see :mod:`judge.providers.registry`).
Importing this package imports no SDK and no torch: a provider's SDK is imported only when a
judge of that provider is built, and a missing SDK or key raises :class:`ConfigError`
with a one-line message saying what to install or set.
"""

from __future__ import annotations

import importlib
import importlib.util
import logging
import os
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from sidebyside.foundation.errors import ConfigError, NotFound
from sidebyside.judge.providers import registry
from sidebyside.judge.providers.base import Completion, Judge, JudgeRequest
from sidebyside.judge.providers.registry import ProviderInfo

log = logging.getLogger(__name__)

if TYPE_CHECKING:  # judge.specs imports the registry, so this package must not import it back
    from sidebyside.judge.specs import JudgeSpec

__all__ = [
    "Completion",
    "Judge",
    "JudgeRequest",
    "ProviderInfo",
    "api_key",
    "key_withheld",
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


def key_base_urls(info: ProviderInfo) -> set[str]:
    """Where the server's API key for ``info`` may go: the official endpoint, the SDK's base-URL
    variable (e.g. ``OPENAI_BASE_URL``) and ``SIDEBYSIDE_API_KEY_BASE_URLS`` (environment or
    ``.env``), all set by the operator. Never a URL typed into a spec or on the Judges page."""
    from sidebyside.foundation.settings import get_settings

    urls = {info.base_url} if info.base_url else set()
    env = os.environ.get(info.base_url_env, "") if info.base_url_env else ""
    configured = get_settings().api_key_base_urls.split(",") + [env]
    urls |= {u.strip() for u in configured if u.strip()}
    return {_normal(u) for u in urls}


def _normal(url: str) -> str:
    """Scheme and host lower-cased, default port dropped, no trailing slash: equal URLs match."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    default = {"http": 80, "https": 443}.get(parts.scheme.lower())
    port = f":{parts.port}" if parts.port and parts.port != default else ""
    return f"{parts.scheme.lower()}://{host}{port}{parts.path.rstrip('/')}"


def key_withheld(spec: JudgeSpec) -> str | None:
    """Why the API key is not sent to this judge's server (None when it is, or when no key
    is set): the clear message of the key rule, for the CLI and the Judges page."""
    info = registry.find(spec.provider)
    if info is None or not info.api_key_env or not os.environ.get(info.api_key_env, "").strip():
        return None
    url = resolve_base_url(spec)
    if url is None or _normal(url) in key_base_urls(info):
        return None
    return (
        f"{info.api_key_env} is not sent to {url}: a key goes only to the provider's official "
        f"host or to a base URL the operator configured ({info.base_url_env} or "
        "SIDEBYSIDE_API_KEY_BASE_URLS); the judge is called without it"
    )


def api_key(spec: JudgeSpec) -> str:
    """The API key to send: the server's key only to the official host or an operator-configured
    base URL (a URL from a spec or the Judges page could be anyone's server); elsewhere a
    placeholder (local OpenAI-compatible servers such as vLLM or Ollama accept anything)."""
    env = registry.get(spec.provider).api_key_env
    key = os.environ.get(env, "").strip() if env else ""
    withheld = key_withheld(spec)
    if withheld:
        log.warning("%s", withheld)
        return "not-needed"
    if key:
        return key
    if env and is_official(spec):
        raise ConfigError(
            f"judge {spec.name} needs an API key: set {env} "
            f"(or point it at a local server with {spec.provider}:MODEL@URL)"
        )
    return "not-needed"


def provider_class(provider: str) -> type:
    """Import a provider's SDK, then its class; ``NotFound`` for an unknown provider,
    ``ConfigError`` naming the pip extra if the SDK or library is missing."""
    try:
        info = registry.get(provider)
    except KeyError as exc:
        raise NotFound(exc.args[0]) from None
    module_name, _, attr = info.target.partition(":")
    try:
        for name in info.requires:
            # Found, not imported: an SDK costs ~1 s to import, paid only when a request
            # needs it (a cached rerun sends nothing and never imports it).
            if importlib.util.find_spec(name) is None:
                raise ImportError(f"No module named {name!r}", name=name)
        module = importlib.import_module(module_name)
    except ImportError as exc:
        missing = exc.name or "a missing package"
        install = f"sidebyside[{info.extra}]" if info.extra else missing
        raise ConfigError(f"{provider}: judges need {missing}: pip install '{install}'") from exc
    return getattr(module, attr)


def load_judge(spec: JudgeSpec, **options: object) -> Judge:
    """Build the judge for ``spec`` (options: ``timeout`` for API judges, ``batch_size`` and
    ``max_new_tokens`` for hf). Fails fast with ConfigError."""
    cls = provider_class(spec.provider)
    return cls(spec, **options)
