"""A conversation's turn 2 in Debian's Chromium: the earlier turn collapsed but readable, each
response's own turn-1 answer on its own side, the judged turn marked, no system name in the
page or on the websocket, the vote by keyboard; at 1440x900 and at phone width."""

from __future__ import annotations

import pytest
from sqlmodel import delete, select

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.membership import add_member
from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import Pair, Prompt, Rating
from tests.browser_support import chromium, init_demo, log_in, rate_current_pair, serve_app
from tests.conversation_helpers import ANSWERS, mt_bench_study
from tests.test_e2e_screen import in_viewport, pick_study, record_traffic

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PASSWORD = "conversation-tester-2026"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The two MT-Bench questions, two systems, only the turn-2 pairs left to rate."""
    tmp = tmp_path_factory.mktemp("conversation")
    db_url = f"sqlite:///{tmp / 'conv.db'}"
    init_demo(db_url)
    engine = init_db(get_engine(db_url))
    with unit_of_work(engine) as s:
        study, _ = mt_bench_study(s, name="mtbench", k=2)
        study_id = study.id
        first = select(Prompt.id).where(Prompt.study_id == study.id, Prompt.turn == 1)
        s.exec(delete(Pair).where(Pair.prompt_id.in_(first)))  # turn 2 comes first
        for name in ("talker", "phone"):
            create_user(s, username=name, password=PASSWORD)
            # Members of two studies, so the picker is there to choose the conversations.
            for member_of in (study, get_study(s, "demo")):
                add_member(s, study=member_of, username=name)
    with serve_app(db_url, tmp / "streamlit.log") as url:
        yield {"url": url, "engine": engine, "tmp": tmp, "study_id": study_id}


def assert_blind_of(page, seen, secrets: tuple[str, ...]) -> None:
    """No system name in the page, the websocket frames, the requests or the URL."""
    html = page.content()
    frames = b"".join(f if isinstance(f, bytes) else f.encode() for f in seen["frames"])
    for secret in secrets:
        assert secret not in html
        assert secret.encode() not in frames
        assert all(secret not in u for u in seen["requests"])
        assert secret not in page.url


def _side_of(text: str) -> str:
    """Which system wrote an answer, by the marker in our answers (ALPHA/BETA, or the poem)."""
    for system, convo in ANSWERS.items():
        if any(text.strip() in turn or turn in text for turns in convo for turn in turns):
            return system
    raise AssertionError(f"not one of our answers: {text!r}")


def test_turn_two_shows_both_histories_and_no_system_name(app):
    with chromium(app["tmp"] / "p1", width=1440, height=900) as page:
        seen = record_traffic(page)
        log_in(page, app["url"], "talker", PASSWORD)
        pick_study(page, "mtbench")
        page.get_by_text("Turn 2 of 2 (judged): the user asks").wait_for()
        # Collapsed: the vote buttons are on screen without scrolling at 1440x900.
        assert in_viewport(page, page.get_by_role("button", name="A is better"))
        expander = page.get_by_text("Earlier in this conversation: 1 turn")
        expander.click()
        left = page.locator(".st-key-hist_left_1 .sbs-out").inner_text()
        right = page.locator(".st-key-hist_right_1 .sbs-out").inner_text()
        now_left = page.locator(".st-key-pane_a .sbs-out").inner_text()
        now_right = page.locator(".st-key-pane_b .sbs-out").inner_text()
        # Each side's own earlier answer sits on its side: the same system on each column.
        assert _side_of(left) == _side_of(now_left) != _side_of(right) == _side_of(now_right)
        # The shared user turn 1 is on both sides; the judged user turn is the marked box.
        judged = page.locator(".st-key-judged_prompt .sbs-out").inner_text()
        assert judged in ("Rewrite your previous response. Start every line with the letter A.",
                          "And if it was the last person?")  # fmt: skip
        assert page.get_by_text("Turn 1 · user").count() == 2
        page.screenshot(path=str(app["tmp"] / "turn2.png"), full_page=True)
        assert_blind_of(page, seen, tuple(ANSWERS))
        # The keyboard votes as on any pair.
        rate_current_pair(page, [4] * 8, "Alt+A")
        page.get_by_text("Saved. Here is the next pair.").wait_for()
    with unit_of_work(app["engine"]) as s:
        [rating] = s.exec(select(Rating).where(Rating.study_id == app["study_id"])).all()
        assert s.get(Prompt, s.get(Pair, rating.pair_id).prompt_id).turn == 2


def test_phone_width_stacks_the_histories(app):
    with chromium(app["tmp"] / "p2", width=390, height=844) as page:
        seen = record_traffic(page)
        log_in(page, app["url"], "phone", PASSWORD)
        pick_study(page, "mtbench")
        page.get_by_text("Earlier in this conversation: 1 turn").click()
        page.locator(".st-key-hist_right_1").wait_for()
        # Nothing wider than the phone: no sideways scrolling.
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
        a = page.locator(".st-key-hist_left_1").bounding_box()
        b = page.locator(".st-key-hist_right_1").bounding_box()
        assert b["y"] > a["y"] + a["height"] - 1  # B's conversation below A's, not squeezed
        page.screenshot(path=str(app["tmp"] / "phone.png"), full_page=True)
        assert_blind_of(page, seen, tuple(ANSWERS))
