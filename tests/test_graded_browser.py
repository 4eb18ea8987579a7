"""Five-level votes through the real Annotate page in Chromium, cast with the keyboard
(Alt+1 .. Alt+5), then exported with their grade."""

from __future__ import annotations

import json
import subprocess

import pytest
from sqlmodel import Session

from sidebyside.annotate.studies import update_study
from sidebyside.foundation.db import get_engine
from sidebyside.foundation.lookup import get_study
from tests.browser_support import (
    BIN,
    ROOT,
    app_env,
    chromium,
    init_demo,
    log_in,
    rate_current_pair,
    serve_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: (vote key, the grade it gives the response shown on the left: A>>B ... B>>A as shown)
VOTES = [
    ("Alt+Digit1", "A>>B"),
    ("Alt+Digit2", "A>B"),
    ("Alt+Digit3", "A=B"),
    ("Alt+Digit4", "B>A"),
    ("Alt+Digit5", "B>>A"),
]


def _as_shown(row: dict) -> str:
    """The exported grade (system_a vs system_b) as the annotator saw it (left vs right)."""
    grade = row["grade"]
    if row["shown_left"] == row["system_a"] or grade == "A=B":
        return grade
    return {"A>>B": "B>>A", "A>B": "B>A", "B>A": "A>B", "B>>A": "A>>B"}[grade]


def test_five_level_votes_with_shortcuts_then_export(tmp_path):
    db_url = f"sqlite:///{tmp_path / 'graded.db'}"
    init_demo(db_url)
    engine = get_engine(db_url)
    with Session(engine) as session:
        update_study(session, study=get_study(session, "demo"), preference_levels=5)
        session.commit()
    engine.dispose()
    with serve_app(db_url, tmp_path / "streamlit.log") as url, chromium(tmp_path / "p") as page:
        log_in(page, url, "annotator2", "demo")
        page.get_by_text("0 rated · about 30 left for you").wait_for()
        # the progress line is drawn before the form: wait for the buttons (CI, under load)
        page.get_by_role("button", name="B is much better").wait_for()
        for label in ("A is much better", "A is better", "Tie", "B is better", "B is much better"):
            assert page.get_by_role("button", name=label).count() == 1
        for n, (key, _) in enumerate(VOTES, start=1):
            assert "fine-tuned" not in page.content()  # still blind
            rate_current_pair(page, [3] * 8, key)
            page.get_by_text(f"{n} rated · about {30 - n} left for you").wait_for()

    proc = subprocess.run(
        [str(BIN / "sidebyside"), "export", "demo", "--what", "ratings", "--format", "jsonl"],
        env=app_env(db_url),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = sorted(
        (json.loads(line) for line in proc.stdout.splitlines() if line.strip()),
        key=lambda r: r["rating_id"],
    )
    assert [_as_shown(r) for r in rows] == [grade for _, grade in VOTES]
