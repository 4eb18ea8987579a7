"""The annotator's screen in Debian's Chromium (issue 10): faithful outputs, nothing remote
fetched, a login that survives a reload and deep links, the validation message where the eye
is, undo and edit, the phone layout, progress that two annotators agree on, and blindness on
every new view. One served app for the whole module, to keep it quick."""

from __future__ import annotations

import csv
import io
import re

import pytest
from sqlmodel import Session, select

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import Assignment, RatingRevision
from tests.browser_support import (
    chromium,
    init_demo,
    log_in,
    rate_current_pair,
    serve_app,
    wait_idle,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SYS_1, SYS_2 = "sysalpha-zz9", "sysbeta-qq7"  # distinctive: found anywhere means a leak
POEM = "Roses are red,\nViolets are blue,\nSugar is sweet,\nAnd so are you."
CODE = (
    "Steps:\n1. read\n2. print\n"
    "def greet(name):\n    if name:\n        return 'hi ' + name\n    return 'hi'\n"
    "![logo](http://images.invalid/logo.png) and [a link](http://evil.invalid/page)"
)
PASSWORD = "screen-tester-2026"
# A 2,000-character answer with a code line far wider than half a screen.
LONG_LINE = "result = compute(" + ", ".join(f"argument_{i}" for i in range(40)) + ")"
LONG = "\n\n".join(["A long answer. " * 25] * 4) + "\n\n```python\n" + LONG_LINE + "\n```"


def _outputs_csv() -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["prompt_id", "prompt", "system", "output"])
    w.writerow(["s1", "Write a poem,\nthen a function.", SYS_1, POEM])
    w.writerow(["s1", "Write a poem,\nthen a function.", SYS_2, CODE])
    return buf.getvalue().encode()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo plus a one-pair study "screen" (a poem against unfenced code with an image and
    a link) and three annotators of our own; one server for every test here."""
    tmp = tmp_path_factory.mktemp("screen")
    db_url = f"sqlite:///{tmp / 'screen.db'}"
    init_demo(db_url)
    engine = init_db(get_engine(db_url))
    with unit_of_work(engine) as s:
        study = create_study(s, name="screen", k=3, seed=5)
        import_sources(s, study=study, sources=[("screen.csv", _outputs_csv())])
        for name in ("screener", "twin1", "twin2", "drafter"):
            create_user(s, username=name, password=PASSWORD)
        long_study = create_study(s, name="long", k=3, seed=5)
        rows = [["prompt_id", "prompt", "system", "output"]]
        rows += [["l1", "Explain at length.", name, LONG] for name in (SYS_1, SYS_2)]
        buf = io.StringIO()
        csv.writer(buf).writerows(rows)
        import_sources(s, study=long_study, sources=[("long.csv", buf.getvalue().encode())])
        # Annotators see only their studies: the screener all three, the others the demo.
        for name in ("screener", "twin1", "twin2", "drafter"):
            add_member(s, study=get_study(s, "demo"), username=name)
        for study_name in ("screen", "long"):
            add_member(s, study=get_study(s, study_name), username="screener")
    with serve_app(db_url, tmp / "streamlit.log") as url:
        yield {"url": url, "engine": engine, "tmp": tmp}


def pick_study(page, name: str) -> None:
    page.get_by_test_id("stSelectbox").first.click()
    page.get_by_role("option", name=name).click()
    wait_idle(page)


def in_viewport(page, locator, timeout: float = 10_000) -> bool:
    """Whether the element comes to rest wholly inside the window (the app redraws and
    scrolls after a script run, so wait for that rather than sample one frame)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_idle(page)
    try:
        page.wait_for_function(
            "(el) => { const r = el.getBoundingClientRect();"
            " return r.top >= 0 && r.bottom <= window.innerHeight; }",
            arg=locator.first.element_handle(),
            timeout=timeout,
        )
    except PlaywrightTimeout:
        return False
    return True


def record_traffic(page) -> dict[str, list]:
    seen: dict[str, list] = {"requests": [], "frames": []}
    page.on("request", lambda r: seen["requests"].append(r.url))
    page.on(
        "websocket",
        lambda ws: ws.on("framereceived", lambda payload: seen["frames"].append(payload)),
    )
    return seen


def assert_blind(page, seen) -> None:
    html = page.content()
    frames = b"".join(f if isinstance(f, bytes) else f.encode() for f in seen["frames"])
    for secret in (SYS_1, SYS_2, "fine-tuned"):
        assert secret not in html
        assert secret.encode() not in frames
        assert all(secret not in u for u in seen["requests"])
    assert all(secret not in page.url for secret in (SYS_1, SYS_2))


def test_outputs_keep_their_shape_and_fetch_nothing(app):
    with chromium(app["tmp"] / "p1") as page:
        seen = record_traffic(page)
        log_in(page, app["url"], "screener", PASSWORD)
        pick_study(page, "screen")
        page.get_by_text("Roses are red,").wait_for()
        wait_idle(page)  # every pane drawn, not only the first
        outs = page.locator(".sbs-out")
        texts = [outs.nth(i).inner_text() for i in range(outs.count())]
        # The prompt's single newline and the poem's four lines survive as line breaks.
        assert "Write a poem,\nthen a function." in texts
        assert POEM in texts
        [code] = [t for t in texts if "def greet" in t]
        lines = code.replace("\u00a0", " ").split("\n")
        assert "def greet(name):" in lines
        assert "    if name:" in lines and "        return 'hi ' + name" in lines
        # A list typed without a blank line before it is still a list.
        assert page.locator(".sbs-out ol li").count() == 2
        # Nothing remote: no <img>, no live link, and no request left for either address.
        assert page.locator(".sbs-out img").count() == 0
        assert page.locator(".sbs-out a").count() == 0
        assert "http://evil.invalid/page" in code and "image not loaded" in code
        assert not [u for u in seen["requests"] if ".invalid" in u]
        # The raw toggle shows the exact characters.
        page.get_by_text("Raw text", exact=True).click()
        raw = page.locator("pre.sbs-raw")
        raw.first.wait_for()
        wait_idle(page)
        assert CODE in [raw.nth(i).inner_text() for i in range(raw.count())]
        assert_blind(page, seen)


def test_missing_scores_are_named_next_to_the_buttons(app):
    with chromium(app["tmp"] / "p2", width=1366, height=768) as page:
        log_in(page, app["url"], "screener", PASSWORD)
        pick_study(page, "screen")
        page.get_by_role("radiogroup").nth(7).wait_for()
        page.get_by_role("radiogroup").nth(0).get_by_role("radio").nth(3).check(force=True)
        page.get_by_role("button", name="A is better").click()
        error = page.get_by_text("Score every criterion for both responses first")
        error.wait_for()
        assert in_viewport(page, error)
        assert "Accuracy (B)" in error.inner_text()
        # The rows left empty are marked where they are.
        page.get_by_text("Score A and B").first.wait_for()
        only_b = page.get_by_text("Score B", exact=True)  # Accuracy: only B is missing
        only_b.first.wait_for()  # the rows are redrawn one by one: wait, do not sample
        wait_idle(page)
        assert only_b.count() == 1


def test_long_outputs_scroll_in_their_panes_and_the_votes_stay_on_screen(app):
    with chromium(app["tmp"] / "p7", width=1440, height=900) as page:
        log_in(page, app["url"], "screener", PASSWORD)
        pick_study(page, "long")
        page.get_by_role("radiogroup").nth(7).wait_for()
        wait_idle(page)
        assert len(LONG) > 2000
        # Prompt, both answers, the score grid and the vote buttons: one laptop screen.
        assert in_viewport(page, page.get_by_role("button", name="B is better"))
        assert in_viewport(page, page.get_by_text("Prompt", exact=True))
        # Each answer scrolls inside its bounded pane; the long code line wraps there.
        # For each code block: the height of the first ancestor that scrolls (its pane), and
        # how far the block would scroll sideways.
        sizes = page.evaluate(
            """() => [...document.querySelectorAll('.sbs-out pre')].map(pre => {
                 let el = pre;
                 while (el && el.scrollHeight <= el.clientHeight + 1) el = el.parentElement;
                 return {pane: el ? el.clientHeight : null,
                         wide: pre.scrollWidth - pre.clientWidth};
               })"""
        )
        assert len(sizes) == 2
        # bounded by ui.pane_cues.PANE_BOUND: 36% of the 900-px window
        assert all(s["pane"] is not None and 180 <= s["pane"] <= 0.36 * 900 for s in sizes), sizes
        assert all(s["wide"] <= 1 for s in sizes), sizes  # no sideways scrolling
        # "Scroll together": scrolling one answer scrolls the other as far.
        page.get_by_text("Scroll together", exact=True).click()
        wait_idle(page)
        scroll = """(key) => { let el = document.querySelector('.st-key-' + key);
            while (el && el.scrollHeight <= el.clientHeight + 1) el = el.parentElement;
            return el; }"""
        page.evaluate(f"({scroll})('pane_a').scrollTop = 120")
        page.wait_for_function(f"({scroll})('pane_b').scrollTop === 120")


def test_reload_deep_links_logout_and_the_cookie(app):
    url = app["url"]
    with chromium(app["tmp"] / "p3") as page:
        password = log_in(page, url, "annotator2", "demo")  # the demo's forced new password
        page.reload()
        page.get_by_role("heading", name="Annotate").wait_for()
        assert page.get_by_role("textbox", name="Password").count() == 0
        cookie = next(c for c in page.context.cookies() if c["name"] == "sbs_session")
        assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
        assert "sbs_session" not in page.evaluate("document.cookie")  # no script can read it
        page.goto(f"{url}/mine")  # a bookmark
        page.get_by_role("heading", name="My ratings").wait_for()
        with Session(app["engine"]) as s:  # what annotator2 holds before the admin URL
            held = s.exec(select(Assignment.id).where(Assignment.status == "open")).all()
        page.goto(f"{url}/study-results")  # an admin page, typed by an annotator
        page.get_by_text("That page is for admins only").wait_for()
        page.get_by_role("heading", name="Admins only").wait_for()
        assert page.get_by_role("dialog").count() == 0
        with Session(app["engine"]) as s:  # nothing claimed on the way (issue 22)
            assert s.exec(select(Assignment.id).where(Assignment.status == "open")).all() == held
        page.get_by_role("link", name="Go to Annotate").click()
        page.get_by_role("heading", name="Annotate").wait_for()

        page.goto(f"{url}/logout")
        page.get_by_role("textbox", name="Password").wait_for()
        # The old cookie, replayed, opens nothing: the session was revoked on the server.
        page.context.add_cookies([{**cookie}])
        page.goto(f"{url}/rate")
        page.get_by_role("textbox", name="Password").wait_for()
        wait_idle(page)
        assert page.get_by_role("heading", name="Annotate").count() == 0
        assert page.get_by_role("dialog").count() == 0  # no "Page not found" over the form
        # Logging in at a deep link lands on that page.
        page.goto(f"{url}/mine")
        log_in_here(page, "annotator2", password)
        page.get_by_role("heading", name="My ratings").wait_for()
        page.wait_for_url(re.compile(r"/mine$"))


def log_in_here(page, username: str, password: str) -> None:
    page.get_by_role("textbox", name="Username").fill(username)
    box = page.get_by_role("textbox", name="Password")
    box.fill(password)
    box.press("Enter")


def test_half_entered_scores_survive_a_reload(app):
    with chromium(app["tmp"] / "p8") as page:
        log_in(page, app["url"], "drafter", PASSWORD)
        groups = page.get_by_role("radiogroup")
        groups.nth(7).wait_for()
        wait_idle(page)
        groups.nth(0).get_by_role("radio").nth(3).check(force=True)  # Accuracy A: 4
        groups.nth(3).get_by_role("radio").nth(1).check(force=True)  # Relevance B: 2
        page.wait_for_function(  # both picks kept in the tab (no id, an opaque token)
            "() => Object.entries(sessionStorage).some(([k, v]) =>"
            " k.startsWith('sbs-draft-') && Object.keys(JSON.parse(v)).length === 2)"
        )
        page.reload()
        groups.nth(7).wait_for()
        page.wait_for_function(
            "() => { const g = document.querySelectorAll('[role=radiogroup]');"
            " return g.length > 3 && g[0].querySelectorAll('input')[3].checked"
            " && g[3].querySelectorAll('input')[1].checked; }"
        )
        # Only what was picked comes back.
        assert not any(groups.nth(2).get_by_role("radio").nth(i).is_checked() for i in range(5))


def test_vote_scrolls_to_top_then_undo_and_edit(app):
    with chromium(app["tmp"] / "p4", width=1366, height=768) as page:
        seen = record_traffic(page)
        log_in(page, app["url"], "annotator3", "demo")
        first_prompt = page.locator(".sbs-out").first.inner_text()
        rate_current_pair(page, [4, 2, 5, 3, 4, 4, 3, 2], "Alt+KeyA")
        page.get_by_text("1 rated · about 29 left for you").wait_for()
        wait_idle(page)
        # The next pair starts at the top, and nothing covers the responses.
        assert in_viewport(page, page.get_by_text("Prompt", exact=True))
        assert page.get_by_test_id("stToast").count() == 0
        # The guidelines stay open in the sidebar after a vote.
        assert page.get_by_test_id("stSidebar").get_by_text("Scores run from").is_visible()
        assert page.locator(".sbs-out").first.inner_text() != first_prompt

        page.get_by_role("button", name="Undo last vote").click()
        page.get_by_text("Your last vote was taken back").wait_for()
        page.get_by_text("0 rated · about 30 left for you").wait_for()
        wait_idle(page)
        assert page.locator(".sbs-out").first.inner_text() == first_prompt
        # The form starts from the vote taken back: voting again needs no new scores.
        page.keyboard.press("Alt+KeyB")
        page.get_by_text("1 rated · about 29 left for you").wait_for()
        wait_idle(page)
        assert in_viewport(page, page.get_by_text("Prompt", exact=True))  # again at the top

        page.get_by_role("link", name="My ratings").click()
        page.get_by_role("heading", name="My ratings").wait_for()
        page.get_by_text("A is better").first.click()  # the overall choice, as shown
        page.get_by_role("button", name="Save changes").click()
        page.get_by_text("Rating 1 saved").wait_for()
        assert_blind(page, seen)
    with Session(app["engine"]) as s:
        [revision] = s.exec(select(RatingRevision)).all()
    assert revision.comment == ""


def test_phone_layout_labels_every_score_row(app):
    with chromium(app["tmp"] / "p5", width=390, height=844) as page:
        log_in(page, app["url"], "twin1", PASSWORD)
        page.get_by_role("radiogroup").nth(7).wait_for()
        label = page.get_by_text("Accuracy · A", exact=True)
        assert label.is_visible()
        assert page.get_by_text("Fluency · B", exact=True).is_visible()


def test_progress_totals_agree_between_annotators(app):
    texts = []
    for name in ("twin1", "twin2"):
        with chromium(app["tmp"] / f"p6{name}") as page:
            log_in(page, app["url"], name, PASSWORD)
            bar = page.get_by_text(re.compile(r"\d+ rated · about \d+ left for you"))
            bar.wait_for()
            texts.append(bar.inner_text())
    # twin1 already holds a pair (previous test), annotator3 rated one: twin2's total is
    # the same as twin1's all the same.
    assert texts[0] == texts[1] == "0 rated · about 30 left for you"
