"""The shape of the code: every module imports alone, and imports only point down the layers.

Layers, bottom to top (README, "How the code is laid out"):

    foundation  <  analysis  <  metrics, judge, annotate  <  ui, cli  <  pages, app

A feature never imports another feature (metrics, judge and annotate meet only through the
foundation's tables and analysis's pure functions).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = (
    "foundation",
    "analysis",
    "metrics",
    "judge",
    "annotate",
    "generate",
    "ui",
    "cli",
    "pages",
)

#: What each subpackage of ``sidebyside`` (or the app) may import from the project.
ALLOWED: dict[str, set[str]] = {
    "foundation": {"foundation"},
    "analysis": {"foundation", "analysis"},
    "metrics": {"foundation", "analysis", "metrics"},
    "judge": {"foundation", "analysis", "judge"},
    "annotate": {"foundation", "analysis", "annotate"},
    "generate": {"foundation", "analysis", "generate"},
    "ui": {"foundation", "analysis", "metrics", "judge", "annotate", "generate", "ui"},
    "cli": {"foundation", "analysis", "metrics", "judge", "annotate", "generate", "cli"},
    "pages": {"foundation", "analysis", "metrics", "judge", "annotate", "generate", "ui", "pages"},
    "app": {"foundation", "analysis", "metrics", "judge", "annotate", "generate", "ui"},
    # The package root: its docstring, version and ``python -m sidebyside``.
    "__init__": set(),
    "__main__": {"cli"},
}
PROJECT = set(ALLOWED)


def distribution_modules() -> list[str]:
    """Every module the wheel ships, by its name under ``sidebyside.`` (``app``,
    ``annotate.progress``, ...)."""
    names = ["__init__", "__main__", "app"]
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


def module_path(module: str) -> Path:
    path = ROOT / Path(*module.split("."))
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def imported_modules(path: Path) -> set[str]:
    """Every project module a file imports anywhere (module top or inside functions), by its
    name under ``sidebyside.``; ``from sidebyside.x import y`` counts ``x.y`` when ``y`` is a
    module, else ``x``."""
    here = path.relative_to(ROOT).with_suffix("").parts
    package = here[:-1]
    found: set[str] = set()

    def add(name: str) -> None:
        parts = name.split(".")
        if parts[0] != "sidebyside" or len(parts) == 1:
            return
        found.add(".".join(parts[1:]))

    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                module = ".".join(("sidebyside", *base, *filter(None, [node.module])))
            else:
                module = node.module or ""
            for alias in node.names:
                full = f"{module}.{alias.name}"
                rel = full.split(".")[1:]
                is_module = rel and (
                    (ROOT / Path(*rel)).with_suffix(".py").exists() or (ROOT / Path(*rel)).is_dir()
                )
                add(full if is_module else module)
    return found


def bare_imports(path: Path) -> set[str]:
    """Project folder names imported without the ``sidebyside.`` prefix (``import annotate``):
    they only work when the repository root is on sys.path, never in an install."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & (PROJECT | {"sidebyside.app"})


def project_imports(path: Path) -> set[str]:
    """Top-level project packages a file imports anywhere (module top or inside functions)."""
    return {name.split(".")[0] for name in imported_modules(path)}


def test_imports_only_point_down():
    problems = []
    for module in distribution_modules():
        top = module.split(".")[0]
        path = module_path(module)
        for imported in sorted(project_imports(path) - ALLOWED[top]):
            problems.append(f"{path.relative_to(ROOT)} imports {imported}")
        for bare in sorted(bare_imports(path)):
            problems.append(
                f"{path.relative_to(ROOT)} imports bare {bare!r}, not sidebyside.{bare}"
            )
    assert not problems, "imports that point up or sideways:\n" + "\n".join(problems)


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def import_graph() -> dict[str, set[str]]:
    """module -> the project modules it imports (a package's ``__init__`` counts as the
    package); every import, function-local ones included."""
    modules = set(distribution_modules())
    return {m: (imported_modules(module_path(m)) & modules) - {m} for m in modules}


def test_no_import_circle_between_files():
    cycles = _cycles(import_graph())
    assert not cycles, "files that import each other (directly or round a circle):\n" + "\n".join(
        " <-> ".join(c) for c in cycles
    )


def test_a_planted_circle_is_caught():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def private_imports(path: Path) -> list[str]:
    """Another project module's private names a file imports (``from sidebyside.x import _y``),
    anywhere in the file: a private name is free to change, so no other module may lean on it."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (
            node.level or (node.module or "").split(".")[0] == "sidebyside"
        ):
            found += [
                f"{node.module}.{a.name}"
                for a in node.names
                if a.name.startswith("_") and not a.name.startswith("__")
            ]
    return found


def test_no_private_name_is_imported_from_another_module():
    problems = [
        f"{module_path(m).relative_to(ROOT)} imports {name}"
        for m in distribution_modules()
        for name in private_imports(module_path(m))
    ]
    assert not problems, "private names imported across modules:\n" + "\n".join(problems)


def test_a_planted_private_import_is_caught(tmp_path):
    planted = tmp_path / "planted.py"
    planted.write_text(
        "def f():\n    from sidebyside.annotate.queue import _mine, open_assignment\n"
    )
    assert private_imports(planted) == ["sidebyside.annotate.queue._mine"]


def test_foundation_and_analysis_never_import_a_feature():
    """The two bottom layers, checked by name so the rule reads plainly here."""
    features = {"annotate", "judge", "metrics", "ui", "cli", "pages", "app"}
    for package in ("foundation", "analysis"):
        for path in (ROOT / package).rglob("*.py"):
            assert not project_imports(path) & features, path


def test_a_planted_upward_import_is_caught(tmp_path, monkeypatch):
    source = "def f():\n    from sidebyside.annotate.studies import get_study\n"
    tree_path = tmp_path / "analysis" / "planted.py"
    tree_path.parent.mkdir()
    tree_path.write_text(source)
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    assert project_imports(tree_path) == {"annotate"}
    tree_path.write_text("import annotate.studies\n")
    assert bare_imports(tree_path) == {"annotate"}


def test_every_subpackage_is_in_the_wheel_list():
    """pyproject's explicit package list names every folder with an ``__init__.py``."""
    import tomllib

    listed = set(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]
    )
    folders = {
        ".".join(("sidebyside", *p.parent.relative_to(ROOT).parts))
        for package in PACKAGES
        for p in (ROOT / package).rglob("__init__.py")
    }
    assert folders | {"sidebyside"} == listed


# The app's pages are Streamlit scripts: importing one runs it, so they are left out here and
# smoke-tested with AppTest instead (tests/test_pages.py).
IMPORTABLE = [
    "sidebyside" if m == "__init__" else f"sidebyside.{m}"
    for m in distribution_modules()
    if m.split(".")[0] not in ("pages", "app", "__main__")
]

#: One child per module, forked from an interpreter that has loaded only third-party
#: libraries: each project module is imported with no other project module loaded before it,
#: so an import cycle that only works in one order fails here.
_FORK_EACH = textwrap.dedent(
    """
    import os, sys, traceback
    # Third-party libraries load once in the parent (the check is about our own modules'
    # imports); the heavy ones too, or each fork pays seconds for torch and transformers.
    for lib in ("numpy", "pandas", "scipy.stats", "sqlmodel", "sqlalchemy", "pydantic",
                "typer", "streamlit", "httpx", "sklearn", "altair", "statsmodels.api",
                "openai", "anthropic", "torch", "transformers", "peft", "sacrebleu",
                "rouge_score.rouge_scorer", "krippendorff", "alembic", "rich"):
        try:
            __import__(lib)
        except ImportError:  # an optional extra that is not installed
            pass
    failed = []
    for name in sys.argv[1:]:
        pid = os.fork()
        if pid == 0:
            try:
                __import__(name)
            except BaseException:
                traceback.print_exc()
                os._exit(1)
            os._exit(0)
        _, status = os.waitpid(pid, 0)
        if status != 0:
            failed.append(name)
    print("FAILED:" + ",".join(failed))
    """
)


@pytest.mark.slow  # ~100 forked imports
@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_every_module_imports_alone_in_a_fresh_interpreter():
    proc = subprocess.run(
        [sys.executable, "-c", _FORK_EACH, *IMPORTABLE],
        cwd=ROOT.parent,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr
    failed = proc.stdout.strip().rsplit("FAILED:", 1)[-1]
    assert failed == "", f"modules that fail to import alone: {failed}\n{proc.stderr[-4000:]}"
    assert len(IMPORTABLE) > 60  # the walk really found the distribution


def test_the_app_starts_without_torch():
    """Streamlit start-up never imports torch (it costs seconds)."""
    code = "import sys, sidebyside.ui.common, sidebyside.cli.main; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT.parent, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip() == "False", out.stderr


_BARE_IN_TEXT = re.compile(
    r"(?<![\w.])(?:from|import) (?:foundation|analysis|annotate|judge|metrics|ui|cli|pages)\."
)


def test_scripts_in_tests_and_benchmarks_import_the_package():
    """Code in strings (``python -c`` scripts, subprocess workers) runs with the checkout as the
    working directory, where a bare ``from foundation...`` happens to work; an install has only
    ``sidebyside.foundation``."""
    found = []
    for folder in ("tests", "bench", "docs"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name == "test_layout.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _BARE_IN_TEXT.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not found, "bare project imports:\n" + "\n".join(found)
