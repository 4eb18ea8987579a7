"""The shape of the code: every module imports alone, and imports only point down the layers.

Layers, bottom to top (README, "How the code is laid out"):

    foundation  <  analysis  <  metrics, judge, annotate  <  ui, cli  <  pages, app

A feature never imports another feature (metrics, judge and annotate meet only through the
foundation's tables and analysis's pure functions).
"""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("foundation", "analysis", "metrics", "judge", "annotate", "ui", "cli", "pages")

#: What each top-level package (or the app) may import from the project.
ALLOWED: dict[str, set[str]] = {
    "foundation": {"foundation"},
    "analysis": {"foundation", "analysis"},
    "metrics": {"foundation", "analysis", "metrics"},
    "judge": {"foundation", "analysis", "judge"},
    "annotate": {"foundation", "analysis", "annotate"},
    "ui": {"foundation", "analysis", "metrics", "judge", "annotate", "ui"},
    "cli": {"foundation", "analysis", "metrics", "judge", "annotate", "cli"},
    "pages": {"foundation", "analysis", "metrics", "judge", "annotate", "ui", "pages"},
    "app": {"foundation", "analysis", "metrics", "judge", "annotate", "ui"},
}
PROJECT = set(ALLOWED)


def distribution_modules() -> list[str]:
    """Every module the wheel ships (the packages above plus ``app``)."""
    names = ["app"]
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names.append(".".join(parts))
    return names


def project_imports(path: Path) -> set[str]:
    """Top-level project packages a file imports anywhere (module top or inside functions)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found & PROJECT


def test_imports_only_point_down():
    problems = []
    for module in distribution_modules():
        top = module.split(".")[0]
        path = ROOT / "app.py" if module == "app" else ROOT / Path(*module.split("."))
        if path.is_dir() or not path.with_suffix(".py").exists():
            path = path / "__init__.py"
        else:
            path = path.with_suffix(".py")
        for imported in sorted(project_imports(path) - ALLOWED[top]):
            problems.append(f"{path.relative_to(ROOT)} imports {imported}")
    assert not problems, "imports that point up or sideways:\n" + "\n".join(problems)


def test_foundation_and_analysis_never_import_a_feature():
    """The two bottom layers, checked by name so the rule reads plainly here."""
    features = {"annotate", "judge", "metrics", "ui", "cli", "pages", "app"}
    for package in ("foundation", "analysis"):
        for path in (ROOT / package).rglob("*.py"):
            assert not project_imports(path) & features, path


def test_a_planted_upward_import_is_caught(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from annotate.studies import get_study\n")
    assert project_imports(bad) == {"annotate"}


# The app's pages are Streamlit scripts: importing one runs it, so they are left out here and
# smoke-tested with AppTest instead (tests/test_pages.py).
IMPORTABLE = [m for m in distribution_modules() if m.split(".")[0] not in ("pages", "app")]

#: One child per module, forked from an interpreter that has loaded only third-party
#: libraries: each project module is imported with no other project module loaded before it,
#: so an import cycle that only works in one order fails here.
_FORK_EACH = textwrap.dedent(
    """
    import os, sys, traceback
    for lib in ("numpy", "pandas", "scipy.stats", "sqlmodel", "sqlalchemy", "pydantic",
                "typer", "streamlit", "httpx", "sklearn"):
        __import__(lib)
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


@pytest.mark.skipif(not hasattr(__import__("os"), "fork"), reason="needs os.fork")
def test_every_module_imports_alone_in_a_fresh_interpreter():
    proc = subprocess.run(
        [sys.executable, "-c", _FORK_EACH, *IMPORTABLE],
        cwd=ROOT,
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
    code = "import sys, ui.common, cli.main; print('torch' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert out.stdout.strip() == "False", out.stderr
