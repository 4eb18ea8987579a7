"""Real-browser helpers shared by the end-to-end test and docs/screenshot.py: a fresh demo
database, the app served on a free localhost port, and Debian's headless Chromium."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def app_env(db_url: str) -> dict[str, str]:
    env = dict(os.environ)
    env["SIDEBYSIDE_DATABASE_URL"] = db_url
    env["STREAMLIT_BROWSER_GATHER_USAGE_STATS"] = "false"
    return env


def init_demo(db_url: str) -> str:
    """`sidebyside init --demo` against ``db_url``; returns its output."""
    proc = subprocess.run(
        [str(BIN / "sidebyside"), "init", "--demo"],
        env=app_env(db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"sidebyside init --demo failed:\n{proc.stdout}\n{proc.stderr}")
    return proc.stdout


@contextmanager
def serve_app(db_url: str, log: Path) -> Iterator[str]:
    """`streamlit run ui/server.py` (app.py plus the cookie routes) on a free port; yields the
    base URL, stops the server after."""
    port = free_port()
    cmd = [
        str(BIN / "streamlit"),
        "run",
        "ui/server.py",  # as served: app.py plus the login cookie's routes
        "--server.port",
        str(port),
        "--server.address",
        "127.0.0.1",
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.showErrorDetails",
        "none",  # as served: no traceback, SQL or server path reaches a browser
    ]
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=app_env(db_url), stdout=out, stderr=out)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc, log)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited early:\n{log.read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.3)  # polling a server start-up, not a timing assert
    raise RuntimeError(f"streamlit did not answer within {timeout}s:\n{log.read_text()}")


@contextmanager
def chromium(profile_dir: Path, *, width: int = 1400, height: int = 1000) -> Iterator:
    """A Playwright page in Debian's Chromium with a fresh profile."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: install it with `apt-get install chromium`")
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile_dir),
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": width, "height": height},
        )
        try:
            page = context.pages[0] if context.pages else context.new_page()
            page.set_default_timeout(30_000)
            yield page
        finally:
            context.close()


#: What the browser helpers choose when the app demands a new password (the demo admin's).
NEW_PASSWORD = "e2e-Replacement-pw-42"


def log_in(
    page,
    base_url: str,
    username: str,
    password: str,
    landing: str = "Annotate",
    *,
    new_password: str = NEW_PASSWORD,
) -> str:
    """Log in through the form and wait for the ``landing`` page's title. When the app
    demands a new password first (the demo admin), set ``new_password``. Returns the
    password the account has afterwards."""
    page.goto(base_url)
    page.get_by_role("textbox", name="Username").fill(username)
    password_box = page.get_by_role("textbox", name="Password")
    password_box.fill(password)
    password_box.press("Enter")
    change = page.get_by_role("heading", name="Choose a new password")
    page.get_by_role("heading", name=landing).or_(change).first.wait_for()
    if change.count():
        page.get_by_role("textbox", name="Current password").fill(password)
        page.get_by_role("textbox", name="New password", exact=True).fill(new_password)
        page.get_by_role("textbox", name="Repeat the new password").fill(new_password)
        page.get_by_role("button", name="Set password").click()
        page.get_by_role("heading", name=landing).wait_for()
        return new_password
    return password


def wait_idle(page) -> None:
    """Wait until the app has no script run in flight (Streamlit marks it on stApp)."""
    page.wait_for_function(
        "() => { const app = document.querySelector('[data-testid=stApp]');"
        " return app && app.dataset.testScriptState === 'notRunning'; }"
    )


def rate_current_pair(
    page, scores: list[int], vote_key: str, *, comment: str = "", n_groups: int = 8
) -> None:
    """Rate the pair on screen with the keyboard only: Space/arrows pick each score, Tab moves
    to the next score, an Alt-chord casts the vote. ``scores`` holds one value (1-5) per
    radio group, in page order (criterion 1 A, criterion 1 B, ...)."""
    groups = page.get_by_role("radiogroup")
    groups.nth(n_groups - 1).wait_for()  # radios are lazily loaded; wait for the last one
    wait_idle(page)
    groups.nth(0).get_by_role("radio").first.focus()  # where a Tab from the prompt would land
    for i, score in enumerate(scores):
        page.keyboard.press("Space")  # selects the first option of the focused group
        for _ in range(score - 1):
            page.keyboard.press("ArrowRight")
        if i < len(scores) - 1:
            page.keyboard.press("Tab")
    if comment:
        page.keyboard.press("Tab")  # into the comment box
        page.keyboard.type(comment)
    page.keyboard.press(vote_key)
