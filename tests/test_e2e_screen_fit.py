"""A screen that fits real prompts (issue 22): with the longest PandaLM prompt and a
6,000-character answer, the vote buttons are inside the viewport at 1366×768 and 1440×900
(checked by element positions in Debian's Chromium)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from tests.browser_support import chromium, log_in, serve_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PANDALM = ROOT.parent / "shared" / "reference" / "testset-v1.json"
PASSWORD = "screen-fit-2026x"


def longest_pandalm_prompt() -> str:
    rows = json.loads(PANDALM.read_text(encoding="utf-8"))
    row = max(rows, key=lambda r: len(r["instruction"]) + len(r.get("input") or ""))
    return f"{row['instruction']}\n\n{row.get('input') or ''}".strip()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not PANDALM.exists():
        pytest.skip(f"needs the PandaLM reference set at {PANDALM}")
    tmp = tmp_path_factory.mktemp("fit")
    db_url = f"sqlite:///{tmp / 'fit.db'}"
    engine = init_db(get_engine(db_url))
    answer = ("A long paragraph of the answer, sentence after sentence. " * 120)[:6000]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["prompt_id", "prompt", "system", "output"])
    prompt = longest_pandalm_prompt()
    writer.writerow(["long", prompt, "one", answer])
    writer.writerow(["long", prompt, "two", "A one-line answer."])
    with unit_of_work(engine) as s:
        study = create_study(s, name="fit", k=3, seed=1)
        import_sources(s, study=study, sources=[("fit.csv", buf.getvalue().encode())])
        for name in ("fit1", "fit2"):
            create_user(s, username=name, password=PASSWORD)
            add_member(s, study=study, username=name)
    with serve_app(db_url, tmp / "streamlit.log") as url:
        yield {"url": url, "tmp": tmp, "prompt": prompt}


def inside(page, locator) -> dict:
    box = locator.first.bounding_box()
    height = page.evaluate("() => window.innerHeight")
    return {"top": box["y"], "bottom": box["y"] + box["height"], "window": height}


@pytest.mark.parametrize(("user", "width", "height"), [("fit1", 1366, 768), ("fit2", 1440, 900)])
def test_the_vote_buttons_stay_on_screen_for_the_longest_pandalm_prompt(app, user, width, height):
    assert len(app["prompt"]) > 1500
    with chromium(app["tmp"] / f"p-{width}", width=width, height=height) as page:
        log_in(page, app["url"], user, PASSWORD)
        page.get_by_role("radiogroup").nth(7).wait_for()
        wait_idle(page)
        # The vote bar sticks to the window's bottom (ui/vote_bar.py): the buttons are
        # inside the window although the form runs on below it.
        for name in ("A is better", "Tie", "B is better"):
            where = inside(page, page.get_by_role("button", name=name))
            assert where["top"] >= 0 and where["bottom"] <= where["window"], (name, where)
