"""The two test tiers: ``make test`` runs everything, ``make test-fast`` skips the tests marked
``slow`` or ``browser``. A test that drives a browser must be marked ``browser``; one that starts
another process (an app server, a worker, a pip build, a process killed with -9) must be marked
``slow``, or the fast tier would start browsers and servers again.

The check reads the test sources (AST): a test needs the marker when its body, a function or
fixture of its module that it uses, or a helper it imports from a non-test module in tests/
(``browser_support.serve_app``, ...) does one of those things."""

from __future__ import annotations

import ast
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent

#: Calls (by function or method name) that drive a browser.
BROWSER_CALLS = {"sync_playwright", "launch_persistent_context"}
#: Calls that start, fork or kill another process.
PROCESS_CALLS = {"Popen", "fork", "kill", "killpg", "send_signal", "ProcessPoolExecutor"}
#: Names whose mere use means another process.
PROCESS_NAMES = {"SIGKILL", "multiprocessing"}
#: Command words of a subprocess that builds or installs (``[python, "-m", "pip", "wheel"]``).
INSTALL_WORDS = {"pip", "venv"}
#: What each kind of work needs as a marker.
MARKER = {"browser": "browser", "process": "slow"}


@dataclass
class Module:
    """One source file's functions: what each does itself and which of its names it uses."""

    path: Path
    tree: ast.Module
    kinds: dict[str, set[str]] = field(default_factory=dict)
    uses: dict[str, set[str]] = field(default_factory=dict)


def _own_kinds(fn: ast.AST) -> set[str]:
    """The kinds of work a function's own body does (nested functions included)."""
    kinds: set[str] = set()
    for node in ast.walk(fn):
        if isinstance(node, ast.Call):
            f = node.func
            name = (
                f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            )
            if name in BROWSER_CALLS:
                kinds.add("browser")
            if name in PROCESS_CALLS:
                kinds.add("process")
        elif _names_a_process(node):
            kinds.add("process")
        elif isinstance(node, ast.Import | ast.ImportFrom):
            modules = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            modules.append(getattr(node, "module", None) or "")
            if any(m.split(".")[0] == "multiprocessing" for m in modules):
                kinds.add("process")
            if any(m.split(".")[0] == "playwright" for m in modules):
                kinds.add("browser")
    return kinds


def _names_a_process(node: ast.AST) -> bool:
    """``signal.SIGKILL``, ``multiprocessing``, or a ``"pip"``/``"venv"`` command word."""
    if isinstance(node, ast.Attribute):
        return node.attr in PROCESS_NAMES
    if isinstance(node, ast.Name):
        return node.id in PROCESS_NAMES
    return isinstance(node, ast.Constant) and node.value in INSTALL_WORDS


def _is_test(node: ast.AST) -> bool:
    return isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith("test")


def _functions(tree: ast.Module) -> dict[str, ast.FunctionDef | ast.AsyncFunctionDef]:
    """Module-level functions and the methods of module-level classes, by name."""
    out = {}
    for node in tree.body:
        defs = node.body if isinstance(node, ast.ClassDef) else [node]
        for d in defs:
            if isinstance(d, ast.FunctionDef | ast.AsyncFunctionDef):
                out[d.name] = d
    return out


def scan(path: Path, source: str | None = None) -> Module:
    tree = ast.parse(source if source is not None else path.read_text(), filename=str(path))
    mod = Module(path, tree)
    for name, fn in _functions(tree).items():
        mod.kinds[name] = _own_kinds(fn)
        used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        mod.uses[name] = used | {a.arg for a in fn.args.args + fn.args.kwonlyargs}
    return mod


def _helper_kinds(helpers: dict[str, Module], mod: Module) -> dict[str, set[str]]:
    """Names ``mod`` imports from helper modules in tests/, with what those helpers do."""
    out: dict[str, set[str]] = {}
    for node in ast.walk(mod.tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            helper = helpers.get(node.module.removeprefix("tests."))
            for alias in node.names if helper else []:
                out[alias.asname or alias.name] = helper.kinds.get(alias.name, set())
    return out


def _close(mod: Module, extra: dict[str, set[str]]) -> dict[str, set[str]]:
    """Each function's kinds, including those of every function or fixture it reaches."""
    kinds = {**extra, **{k: set(v) for k, v in mod.kinds.items()}}
    changed = True
    while changed:
        changed = False
        for name, used in mod.uses.items():
            reached = set().union(*(kinds.get(u, set()) for u in used if u != name))
            if not reached <= kinds[name]:
                kinds[name] |= reached
                changed = True
    return kinds


def _marks(decorators: list[ast.expr]) -> set[str]:
    """``pytest.mark.X`` names among decorators or a ``pytestmark`` value."""
    out = set()
    for d in decorators:
        for node in ast.walk(d):
            mark = isinstance(node, ast.Attribute) and isinstance(node.value, ast.Attribute)
            if mark and node.value.attr == "mark":
                out.add(node.attr)
    return out


def _tests_and_marks(tree: ast.Module) -> dict[str, set[str]]:
    """test name ─► markers it carries (module ``pytestmark``, its class, its decorators)."""
    module_marks: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(isinstance(t, ast.Name) and t.id == "pytestmark" for t in targets):
                module_marks |= _marks([node.value])
    out = {}
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            class_marks = module_marks | _marks(node.decorator_list)
            for d in node.body:
                if _is_test(d):
                    out[d.name] = class_marks | _marks(d.decorator_list)
        elif _is_test(node):
            out[node.name] = module_marks | _marks(node.decorator_list)
    return out


def unmarked(mod: Module, helpers: dict[str, Module], fixtures: dict[str, set[str]]) -> list:
    """(test, missing marker, kind) for every test that lacks the marker its work needs."""
    kinds = _close(mod, {**fixtures, **_helper_kinds(helpers, mod)})
    missing = []
    for test, marks in _tests_and_marks(mod.tree).items():
        for kind in sorted(kinds.get(test, set())):
            if MARKER[kind] not in marks:
                missing.append((test, MARKER[kind], kind))
    return missing


def _suite() -> tuple[list[Module], dict[str, Module], dict[str, set[str]]]:
    """Test modules, helper modules (by import name) and conftest's fixtures' kinds."""
    mods = {p: scan(p) for p in sorted(TESTS.glob("*.py"))}
    helpers = {p.stem: m for p, m in mods.items() if not p.stem.startswith("test_")}
    for helper in helpers.values():  # a helper may build on another helper's functions
        helper.kinds = _close(helper, _helper_kinds(helpers, helper))
    conftest = helpers.get("conftest")
    fixtures = conftest.kinds if conftest else {}
    tests = [m for p, m in mods.items() if p.stem.startswith("test_")]
    return tests, helpers, fixtures


def test_every_browser_and_process_test_carries_its_marker():
    tests, helpers, fixtures = _suite()
    assert len(tests) > 50  # the glob really found the suite
    missing = [
        f"{m.path.name}::{test} needs @pytest.mark.{marker} ({kind})"
        for m in tests
        for test, marker, kind in unmarked(m, helpers, fixtures)
    ]
    assert not missing, "\n".join(missing)


def test_the_check_sees_the_known_browser_and_server_tests():
    """The scan finds the suite's own browser and process tests (so it is not vacuous)."""
    tests, helpers, fixtures = _suite()
    found = {}
    for m in tests:
        kinds = _close(m, {**fixtures, **_helper_kinds(helpers, m)})
        for test in _tests_and_marks(m.tree):
            for kind in kinds.get(test, set()):
                found.setdefault(kind, set()).add(f"{m.path.stem}::{test}")
    assert any(t.startswith("test_e2e_browser::") for t in found["browser"])
    assert any(t.startswith("test_two_servers::") for t in found["process"])
    assert any(t.startswith("test_multiprocess::") for t in found["process"])
    assert any(t.startswith("test_install::") for t in found["process"])


HELPER = """
import subprocess
from playwright.sync_api import sync_playwright

def serve(port):
    return subprocess.Popen(["python", "-m", "http.server", str(port)])

def browser():
    return sync_playwright()
"""


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("def test_a():\n    assert 1\n", []),
        ("import os, signal\ndef test_k(pid):\n    os.kill(pid, signal.SIGKILL)\n", ["slow"]),
        ("from helper import serve\ndef test_s():\n    serve(1)\n", ["slow"]),
        ("from tests.helper import browser\ndef test_b():\n    browser()\n", ["browser"]),
        (
            "import pytest\nfrom helper import serve\n\n@pytest.fixture\ndef srv():\n"
            "    yield serve(1)\n\ndef test_f(srv):\n    pass\n",
            ["slow"],
        ),
        (
            "import pytest\nfrom helper import serve\npytestmark = [pytest.mark.slow]\n"
            "def test_m():\n    serve(1)\n",
            [],
        ),
        (
            "import pytest, subprocess\n@pytest.mark.slow\ndef test_w():\n"
            "    subprocess.run(['python', '-m', 'pip', 'wheel', '.'])\n",
            [],
        ),
        (
            "import subprocess\ndef test_w():\n    subprocess.run(['python', '-m', 'venv', 'v'])\n",
            ["slow"],
        ),  # fmt: skip
        ("import subprocess\ndef test_r():\n    subprocess.run(['python', '-c', '1'])\n", []),
        (
            "import pytest\nfrom helper import browser\n\nclass TestX:\n"
            "    @pytest.mark.browser\n    def test_c(self):\n        browser()\n",
            [],
        ),
    ],
)
def test_the_scan_flags_exactly_the_unmarked(source: str, expected: list[str]):
    helper = scan(Path("helper.py"), HELPER)
    mod = scan(Path("test_x.py"), source)
    assert [marker for _, marker, _ in unmarked(mod, {"helper": helper}, {})] == expected


def test_the_fast_tier_skips_both_markers_and_they_are_declared():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    declared = {m.split(":")[0] for m in config["tool"]["pytest"]["ini_options"]["markers"]}
    assert {"slow", "browser"} <= declared
    makefile = (ROOT / "Makefile").read_text()
    recipe = re.search(r"^test-fast:.*\n((?:\t.*\n)+)", makefile, re.MULTILINE)
    assert recipe and '-m "not slow and not browser"' in recipe.group(1)
