"""sidebyside: is the fine-tuned model really better?

Blind human A/B ratings, LLM judges and automatic metrics on the same pairs, and the statistics
that say who wins and how sure we can be. Everything the distribution installs lives under this
one package: ``sidebyside.foundation`` (tables, settings, errors) at the bottom, then
``analysis``, the features ``annotate``, ``judge`` and ``metrics``, and the edges ``ui``,
``cli``, ``pages`` and ``app`` (docs/architecture.md).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("sidebyside")
except PackageNotFoundError:  # pragma: no cover - a checkout that was never installed
    __version__ = "0+unknown"
