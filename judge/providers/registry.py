"""The provider registry. A provider declares itself once, at the top of its own module in this
package, as ``INFO = ProviderInfo(...)``: its SDK, key, endpoint, batch API, spec rules and help
text. The registry finds those modules by scanning the package (a module without ``INFO``, such
as a batch client, is skipped), so adding a provider is adding one file; the spec parser, the
CLI's help and the Judges page read everything from here. A provider from elsewhere (a plugin,
a test's fake) joins with :func:`register`.

Declarations are cheap: a provider module imports its SDK (openai, anthropic, torch) only when
a judge is built, so listing providers (to parse a spec) imports no SDK. This module imports
nothing of the project: judge.specs depends on it.

>>> names()
('openai', 'anthropic', 'hf', 'rm', 'rmpair', 'baseline')
>>> get("openai").api_key_env, get("hf").extra, get("baseline").is_api
('OPENAI_API_KEY', 'local', False)
>>> get("baseline").usage, get("baseline").example_spec
(('baseline:longest|shortest|random',), 'baseline:longest')
"""

from __future__ import annotations

import importlib
import pkgutil
import re
import threading
from dataclasses import dataclass

_PACKAGE = "sidebyside.judge.providers"
_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")


@dataclass(frozen=True)
class ProviderInfo:
    """What the rest of the judge package needs to know about a provider, without importing
    its SDK."""

    name: str
    """The spec prefix: ``openai`` in ``openai:gpt-4o-mini``."""
    target: str
    """``module:Class`` of the judge (the :class:`~judge.providers.base.Judge` Protocol)."""
    requires: tuple[str, ...] = ()
    """Modules the judge cannot work without (its SDK), imported before the class is, so that
    a missing one is reported with :attr:`extra`."""
    extra: str | None = None
    """The pip extra that installs :attr:`requires`: ``pip install 'sidebyside[EXTRA]'``."""
    api_key_env: str | None = None
    """Environment variable holding the API key (needed for the official endpoint only)."""
    base_url: str | None = None
    """The official endpoint; None for a judge that talks to no server."""
    base_url_env: str | None = None
    """Environment variable that overrides :attr:`base_url` (the SDK's own name)."""
    is_api: bool = False
    """Calls cost money and go over the network (local and reference judges are free)."""
    takes_url: bool = False
    """The spec may name its own server: ``PROVIDER:MODEL@URL``."""
    models: tuple[str, ...] | None = None
    """A closed list of model names (lower case), for judges that are not models."""
    rank: int = 100
    """Position in help and error messages, lowest first."""
    help: str = ""
    """What the judge is, in one line, for ``sidebyside judge --help`` and the Judges page."""
    forms: tuple[str, ...] = ()
    """How its specs are written, for help texts (see :attr:`usage` for the default)."""
    example: str | None = None
    """A spec worth copying, for messages (see :attr:`example_spec` for the default)."""
    batch_client: str | None = None
    """``module:Class`` of its batch API client (a
    :class:`~judge.providers.batching.BatchClient`); None: ``--batch`` runs it live."""
    baseline: bool = False
    """A reference judge that reads only the responses: pairwise only, never asked with another
    prompt template, never a member of the ensemble."""
    shared_base_url: bool = False
    """``--base-url`` (and the Judges page's base URL) applies to its specs without an @URL."""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"provider name {self.name!r} must be lower-case letters/digits")
        for field, target in (("target", self.target), ("batch_client", self.batch_client)):
            if target is not None and ":" not in target:
                raise ValueError(f"provider {self.name}: {field} must be 'module:Class'")

    @property
    def usage(self) -> tuple[str, ...]:
        """:attr:`forms`, else ``NAME:a|b|c`` for a closed :attr:`models` list, else
        ``NAME:MODEL``."""
        if self.forms:
            return self.forms
        if self.models:
            return (f"{self.name}:{'|'.join(self.models)}",)
        return (f"{self.name}:MODEL",)

    @property
    def example_spec(self) -> str:
        """:attr:`example`, else the first of :attr:`models`, else the first of :attr:`usage`."""
        if self.example:
            return self.example
        return f"{self.name}:{self.models[0]}" if self.models else self.usage[0]


_lock = threading.Lock()
_providers: dict[str, ProviderInfo] | None = None


def _discover() -> dict[str, ProviderInfo]:
    """Every ``INFO`` declared by a module of this package."""
    package = importlib.import_module(_PACKAGE)
    found: dict[str, ProviderInfo] = {}
    for module in pkgutil.iter_modules(package.__path__):
        info = getattr(importlib.import_module(f"{_PACKAGE}.{module.name}"), "INFO", None)
        if isinstance(info, ProviderInfo):
            found[info.name] = info
    return found


def _registry() -> dict[str, ProviderInfo]:
    global _providers
    if _providers is None:
        with _lock:  # Streamlit sessions parse specs on several threads
            if _providers is None:
                _providers = _discover()
    return _providers


def names() -> tuple[str, ...]:
    """The known spec prefixes, in :attr:`ProviderInfo.rank` order."""
    return tuple(sorted(_registry(), key=lambda n: (_registry()[n].rank, n)))


def find(name: str) -> ProviderInfo | None:
    return _registry().get(name)


def get(name: str) -> ProviderInfo:
    """The provider called ``name``; KeyError naming the known ones otherwise."""
    info = find(name)
    if info is None:
        raise KeyError(f"unknown judge provider {name!r}; known: {', '.join(names())}")
    return info


def register(info: ProviderInfo) -> ProviderInfo:
    """Add a provider declared outside this package; a name already taken is an error."""
    registry = _registry()
    with _lock:
        if info.name in registry and registry[info.name] != info:
            raise ValueError(f"judge provider {info.name!r} is already registered")
        registry[info.name] = info
    return info


def unregister(name: str) -> None:
    registry = _registry()
    with _lock:
        registry.pop(name, None)


def providers() -> tuple[ProviderInfo, ...]:
    """Every provider, in :attr:`ProviderInfo.rank` order."""
    return tuple(get(name) for name in names())


def prefixes(infos: tuple[ProviderInfo, ...] | list[ProviderInfo]) -> str:
    """``openai: and anthropic:``: the spec prefixes of ``infos``, for messages and help.

    >>> prefixes([get("openai"), get("anthropic"), get("hf")])
    'openai:, anthropic: and hf:'
    """
    names = [f"{info.name}:" for info in infos]
    return " and ".join([", ".join(names[:-1]), names[-1]] if len(names) > 2 else names)


def spec_help(quote: str = "") -> list[str]:
    """One line per provider, its spec forms and what it is: the help of ``--judge`` and of
    the Judges page (``quote="`"`` for Markdown code).

    >>> spec_help(quote="`")[-1]  # doctest: +ELLIPSIS
    '`baseline:longest|shortest|random`: free reference judges that read only the two...'
    """
    lines = []
    for info in providers():
        forms = " or ".join(f"{quote}{form}{quote}" for form in info.usage)
        lines.append(f"{forms}: {info.help}" if info.help else forms)
    return lines
