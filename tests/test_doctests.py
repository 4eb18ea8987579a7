"""The examples in the package's docstrings run, imported the way users import them
(``sidebyside.analysis.alpha``), never as bare folder names."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
from pathlib import Path

import pytest

import sidebyside

#: Streamlit scripts run when imported; they carry no examples.
SCRIPTS = ("sidebyside.pages", "sidebyside.app", "sidebyside.__main__", "sidebyside.ui.server")
#: Folders of the checkout that are not part of the package (the editable install sees them).
OUTSIDE = ("sidebyside.tests",)


def _modules_with_examples() -> list[str]:
    names = []
    for info in pkgutil.walk_packages(sidebyside.__path__, "sidebyside."):
        if info.name.startswith(SCRIPTS + OUTSIDE):
            continue
        spec = importlib.util.find_spec(info.name)
        if spec and spec.origin and ">>>" in Path(spec.origin).read_text(encoding="utf-8"):
            names.append(info.name)
    return names


MODULES = _modules_with_examples()


def test_the_walk_finds_the_documented_modules():
    assert "sidebyside.analysis.alpha" in MODULES
    assert len(MODULES) > 10


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples failed in {name}"
    assert result.attempted > 0
