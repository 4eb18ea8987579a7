"""The app is part of the distribution: a wheel installed into a fresh virtual environment
outside the repository can create the demo and serve the app, from any directory.

The new environment reuses this one's third-party packages (a path entry, so nothing is
downloaded) but not its editable install of sidebyside: the project itself comes only from
the wheel.
"""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.browser_support import CHROMIUM, chromium, free_port

pytestmark = [pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300, **kwargs)
    assert proc.returncode == 0, f"{cmd} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """A wheel built from a copy of the source files (git's view: tracked or not ignored), so
    no build/ directory is left in the checkout and nothing stale gets in."""
    src = tmp_path_factory.mktemp("src")
    listed = _run(["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT).stdout
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, src / name)
    out = tmp_path_factory.mktemp("wheel")
    _run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-w", str(out)]
        + [str(src)]
    )
    (built,) = out.glob("sidebyside-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel: Path, tmp_path_factory) -> Path:
    """bin/ of a fresh venv outside the repository with only the wheel installed."""
    venv = tmp_path_factory.mktemp("venv")
    _run([sys.executable, "-m", "venv", "--without-pip", str(venv)])
    (pth_dir,) = (venv / "lib").glob("python3*/site-packages")
    # Third-party packages from this environment; a plain path line does not run its .pth
    # files, so this environment's editable sidebyside stays invisible there.
    (pth_dir / "_third_party.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    _run(
        [sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), "install"]
        + ["--no-deps", "--quiet", str(wheel)]
    )
    return venv / "bin"


def test_the_wheel_ships_the_app_pages_and_demo(wheel: Path):
    names = set(zipfile.ZipFile(wheel).namelist())
    assert "sidebyside/app.py" in names
    assert "sidebyside/__main__.py" in names
    assert {
        "sidebyside/pages/annotate.py",
        "sidebyside/pages/login.py",
        "sidebyside/pages/results.py",
    } <= names
    assert "sidebyside/annotate/demo_data/demo_outputs.csv" in names
    assert "sidebyside/judge/prompts/pairwise_v1.txt" in names


def test_the_wheel_installs_one_name(wheel: Path):
    """Nothing but ``sidebyside/`` and its dist-info at the top of site-packages."""
    top = {name.split("/")[0] for name in zipfile.ZipFile(wheel).namelist()}
    (dist_info,) = [t for t in top if t.endswith(".dist-info")]
    assert top == {"sidebyside", dist_info}


def _foreign_folder(where: Path) -> None:
    """A research repository's own packages under the same generic names as our subpackages,
    each one failing loudly if anything imports it."""
    for name in ("analysis", "ui", "cli", "metrics", "annotate", "judge", "foundation"):
        (where / name).mkdir()
        (where / name / "__init__.py").write_text(f"raise ImportError('the user\\'s own {name}')\n")
    (where / "app.py").write_text("raise SystemExit('the user\\'s own app.py ran')\n")
    (where / "common.py").write_text("raise ImportError('the user\\'s own common')\n")


@pytest.mark.browser
def test_installed_sidebyside_serves_the_app_from_anywhere(installed: Path, tmp_path: Path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDEBYSIDE_")}
    env["SIDEBYSIDE_DATA_DIR"] = str(tmp_path / "data")
    env["PYTHONPATH"] = ""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    _foreign_folder(elsewhere)
    code = "import sidebyside.annotate.progress as p; print(p.__file__)"
    where = _run([str(installed / "python"), "-c", code], cwd=elsewhere, env=env)
    assert str(ROOT) not in where.stdout  # the wheel's copy, not the checkout
    assert "site-packages/sidebyside/annotate/progress.py" in where.stdout
    module = _run([str(installed / "python"), "-m", "sidebyside", "--help"], cwd=elsewhere, env=env)
    assert "serve" in module.stdout
    init = _run([str(installed / "sidebyside"), "init", "--demo"], cwd=elsewhere, env=env)
    assert "demo study 'demo'" in init.stdout
    assert (tmp_path / "data" / "sidebyside.db").is_file()

    port = free_port()
    log = tmp_path / "serve.log"
    cmd = [str(installed / "sidebyside"), "serve", "--port", str(port), "--host", "127.0.0.1"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=elsewhere, env=env, stdout=out, stderr=out)
    try:
        from tests.browser_support import _wait_healthy

        url = f"http://127.0.0.1:{port}"
        _wait_healthy(url, proc, log)
        if not Path(CHROMIUM).exists():
            pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
        with chromium(tmp_path / "profile") as page:
            # The first session of a fresh server, on a deep link: the login form at that
            # address, usable (no "Page not found" dialog over it).
            page.goto(f"{url}/study-results")
            page.get_by_role("textbox", name="Username").fill("annotator1")
            page.get_by_role("textbox", name="Password").fill("demo")
            assert page.locator("[role=dialog]").count() == 0
            assert "Page not found" not in page.inner_text("body")
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
