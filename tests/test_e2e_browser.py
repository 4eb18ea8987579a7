"""End to end in a real browser: Debian's headless Chromium driven by Playwright against
`sidebyside serve`'s app (ui/server.py) on a demo database. Rates three pairs with the keyboard
only, reloads (still logged in), and checks the export. Fails (never skips) when the browser
is missing."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.browser_support import (
    BIN,
    CHROMIUM,
    ROOT,
    app_env,
    chromium,
    init_demo,
    log_in,
    rate_current_pair,
    serve_app,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VOTES = [  # (scores per radio group, vote key, comment)
    ([4, 2, 5, 3, 4, 4, 3, 2], "Alt+KeyA", "A is more accurate"),
    ([3, 3, 3, 3, 3, 3, 3, 3], "Alt+KeyT", ""),
    ([1, 5, 2, 4, 1, 5, 2, 5], "Alt+KeyB", ""),
]


def test_chromium_is_installed():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} missing: apt-get install chromium"


def test_rate_three_pairs_with_keyboard_then_export(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'e2e.db'}"
    init_demo(db_url)
    dialogs: list[str] = []
    with serve_app(db_url, tmp_path / "streamlit.log") as url, chromium(tmp_path / "p") as page:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        log_in(page, url, "annotator1", "demo")
        page.get_by_text("0 rated · about 30 left for you").wait_for()
        for n, (scores, key, comment) in enumerate(VOTES, start=1):
            html = page.content()
            assert "fine-tuned" not in html  # no system name reaches the browser
            # Untrusted output never becomes markup (the demo has <img onerror> and <script>).
            assert page.locator("img[src='x']").count() == 0
            rate_current_pair(page, scores, key, comment=comment)
            page.get_by_text(f"{n} rated · about {30 - n} left for you").wait_for()
        assert "?" not in page.url  # nothing in the URL either

        page.reload()  # a new websocket session: the cookie keeps us logged in, same place
        page.get_by_text("3 rated · about 27 left for you").wait_for()
        assert page.get_by_role("textbox", name="Password").count() == 0
        wait_idle(page)
        # Untrusted output never becomes markup: no <img onerror> element, no alert.
        assert page.locator("img[src='x']").count() == 0
    assert dialogs == []

    proc = subprocess.run(
        [str(BIN / "sidebyside"), "export", "demo", "--what", "ratings", "--format", "jsonl"],
        env=app_env(db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert len(rows) == 3
    assert {r["annotator"] for r in rows} == {"annotator1"}
    assert {r["source"] for r in rows} == {"app"}
    # Each vote unblinds to the system that was shown on the side pressed.
    for row, (scores, key, comment) in zip(
        sorted(rows, key=lambda r: r["rating_id"]), VOTES, strict=True
    ):
        shown = {"Alt+KeyA": row["shown_left"], "Alt+KeyB": row["shown_right"]}.get(key, "tie")
        assert row["winner"] == shown
        left_is_a = row["shown_left"] == row["system_a"]
        side = {True: ("a", "b"), False: ("b", "a")}[left_is_a]
        assert row["Accuracy_" + side[0]] == scores[0]
        assert row["Accuracy_" + side[1]] == scores[1]
        assert row["Fluency_" + side[1]] == scores[7]
        assert row["comment"] == comment
        assert row["time_spent_s"] > 0


def _page_not_found(page) -> bool:
    wait_idle(page)
    assert page.get_by_role("textbox", name="Username").count() == 0  # still logged in
    return page.get_by_text("Page not found").count() > 0


def test_every_address_opens_its_page_without_page_not_found(tmp_path):
    """Streamlit serves its default page only at "/", so a bookmark of the landing page's own
    address (``/rate`` for an annotator, ``/admin-studies`` for an admin) used to meet a
    "Page not found" dialog, also on the way back after logging in from that deep link."""
    db_url = f"sqlite:///{tmp_path / 'links.db'}"
    init_demo(db_url)
    with serve_app(db_url, tmp_path / "streamlit.log") as url, chromium(tmp_path / "p") as page:
        # logged out: the login form at that address (then the demo's forced new password)
        log_in(page, f"{url}/rate", "annotator1", "demo")
        page.get_by_text("rated · about").wait_for()
        assert not _page_not_found(page)
        assert page.url == f"{url}/rate"
        for path in ("/rate", "/mine"):
            page.goto(f"{url}{path}")
            assert not _page_not_found(page), path
            assert page.url == f"{url}{path}"
        page.goto(f"{url}/")  # the root opens the landing page at its own address
        page.get_by_text("rated · about").wait_for()
        assert page.url == f"{url}/rate"
        assert not _page_not_found(page)

    with chromium(tmp_path / "admin") as page, serve_app(db_url, tmp_path / "s2.log") as url:
        log_in(page, url, "admin", "admin", landing="Studies")
        # The forced password change starts the lasting session, through the landing page
        # (which must not switch pages before the browser has left for the session cookie).
        page.reload()
        page.get_by_role("heading", name="Studies").wait_for()
        for path in ("/admin-studies", "/study-results", "/rate"):
            page.goto(f"{url}{path}")
            assert not _page_not_found(page), path
            assert page.url == f"{url}{path}"
