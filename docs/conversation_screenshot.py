"""Take the README's picture of a conversation's turn 2 (docs/conversation.png) in headless
Chromium.

Usage: .venv/bin/python docs/conversation_screenshot.py [OUT.png]

A throw-away database: two MT-Bench-style questions and two systems' answers, written in
MT-Bench's own file formats (tests/conversation_helpers.py) and imported as a researcher would
(``--prompts question.jsonl``); only the turn-2 pairs are left to rate, and the earlier turn is
opened, so both responses' own histories show.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

from tests.browser_support import chromium, init_demo, log_in, serve_app, wait_idle  # noqa: E402

PASSWORD = "screenshot-pw-2026"


def main(out: Path) -> None:
    from sqlmodel import delete, select

    from sidebyside.annotate.auth import create_user
    from sidebyside.annotate.membership import add_member
    from sidebyside.foundation.db import get_engine, init_db, unit_of_work
    from sidebyside.foundation.models import Pair, Prompt
    from tests.conversation_helpers import mt_bench_study

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        db_url = f"sqlite:///{tmp / 'conversation.db'}"
        init_demo(db_url)
        engine = init_db(get_engine(db_url))
        with unit_of_work(engine) as s:
            study, _ = mt_bench_study(s, name="mt-bench", k=1)
            first = select(Prompt.id).where(Prompt.study_id == study.id, Prompt.turn == 1)
            s.exec(delete(Pair).where(Pair.prompt_id.in_(first)))
            create_user(s, username="rater", password=PASSWORD)
            add_member(s, study=study, username="rater")  # annotators see their studies only
        engine.dispose()
        with (
            serve_app(db_url, tmp / "streamlit.log") as url,
            chromium(tmp / "profile", width=1440, height=900) as page,
        ):
            log_in(page, url, "rater", PASSWORD)
            page.get_by_role("radiogroup").first.wait_for()
            wait_idle(page)
            if page.get_by_test_id("stSelectbox").count():  # more than one study to choose from
                page.get_by_test_id("stSelectbox").first.click()
                page.get_by_role("option", name="mt-bench").click()
            page.get_by_text("Earlier in this conversation").click()
            page.locator(".st-key-hist_right_1").wait_for()
            wait_idle(page)
            page.wait_for_timeout(1000)  # the expander's opening animation
            page.mouse.move(0, 0)
            page.screenshot(path=str(out))
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "conversation.png")
