"""In Chromium (issue 19): a Prolific participant arrives through a join link, is given a
passwordless account, rates the quota — the first pair a gold one, indistinguishable from the
next in page source and websocket frames — and sees the completion code; a second id in the
same browser cannot take over the first."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from sidebyside.analysis.verdicts import load_pairs
from sidebyside.annotate.crowd import open_link
from sidebyside.annotate.gold import add_gold, set_gold_settings
from sidebyside.foundation.db import get_engine
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import GoldPair, Participant, Rating
from tests.browser_support import chromium, init_demo, rate_current_pair, serve_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _setup(db_url: str) -> tuple[str, int]:
    """A join link of the demo study (quota 2), one gold pair, and qualification on its first
    pair, so a participant's first pair is gold and the second an ordinary one."""
    engine = get_engine(db_url)
    with Session(engine) as session:
        study = get_study(session, "demo")
        first = load_pairs(session, study.id).iloc[0]
        gold = (
            "prompt_id,system_a,system_b,expected\n"
            f"{first['prompt']},{first['system_a']},{first['system_b']},a\n"
        )
        add_gold(session, study=study, name="gold.csv", data=gold.encode())
        set_gold_settings(session, study=study, rate=0.0, qualify_n=1, qualify_min=0.0)
        _, token = open_link(session, study=study, quota=2, completion_code="PROLIFIC-OK-7")
        gold_pair = session.exec(select(GoldPair.pair_id)).one()
        session.commit()
    engine.dispose()
    return token, gold_pair


#: What the page adds after any vote (the "Saved" line, its scroll-to-top, a loading
#: skeleton), whatever the pair: not part of the pair's own page.
AFTER_A_VOTE = re.compile(r"Alert|Skeleton|st-key-top_")


def _keys(html: str) -> set[str]:
    """The page's structure: its element keys and test ids, counters stripped."""
    keys = re.findall(r'(st-key-[A-Za-z_]+|data-testid="[A-Za-z]+")', html)
    found = {re.sub(r"_\d+$", "", k) for k in keys if not AFTER_A_VOTE.search(k)}
    if "st-key-undo_last" in found:  # the undo button comes with a vote before, gold or not
        found -= {"st-key-undo_last", 'data-testid="stButton"'}
    return found


def test_participant_link_quota_completion_and_no_takeover(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'crowd.db'}"
    init_demo(db_url)
    token, gold_pair = _setup(db_url)
    frames: list[bytes] = []
    join = f"/join/{token}?PROLIFIC_PID=5f1e2dPID&STUDY_ID=st&SESSION_ID=se"
    with serve_app(db_url, tmp_path / "streamlit.log") as url, chromium(tmp_path / "p") as page:

        def keep(ws) -> None:
            ws.on(
                "framereceived", lambda f: frames.append(f if isinstance(f, bytes) else f.encode())
            )

        page.on("websocket", keep)
        page.goto(url + join)
        page.get_by_role("heading", name="Annotate").wait_for()
        page.get_by_role("radiogroup").nth(7).wait_for()
        wait_idle(page)
        gold_html, gold_frames = page.content(), len(frames)
        rate_current_pair(page, [3] * 8, "Alt+KeyA")
        page.get_by_text(re.compile(r"^1 rated")).wait_for()
        page.get_by_role("radiogroup").nth(7).wait_for()
        wait_idle(page)
        plain_html = page.content()
        for html in (gold_html, plain_html):
            assert "gold" not in html.lower() and "5f1e2dPID" not in html
        assert not any(b"gold" in f.lower() for f in frames)
        assert gold_frames > 0
        assert _keys(gold_html) == _keys(plain_html)  # the same page, element for element
        rate_current_pair(page, [4] * 8, "Alt+KeyB")
        page.get_by_text("You have finished this study. Thank you!").wait_for()
        page.wait_for_function("() => document.body.innerText.includes('PROLIFIC-OK-7')")
        # the same browser, another id: refused, and the first participant keeps the session
        page.goto(url + f"/join/{token}?PROLIFIC_PID=someone-else")
        assert "one link cannot be used to become another participant" in page.content()
        page.goto(url + "/rate")
        page.get_by_text("You have finished this study. Thank you!").wait_for()
    engine = get_engine(db_url)
    with Session(engine) as session:
        (p,) = session.exec(select(Participant)).all()
        assert p.external_id == "5f1e2dPID" and p.completed_at is not None
        ratings = session.exec(select(Rating).where(Rating.user_id == p.user_id)).all()
        assert len(ratings) == 2 and gold_pair in {r.pair_id for r in ratings}
    engine.dispose()
