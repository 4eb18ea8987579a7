"""Panes sized to their content with a "more below" cue, *Show whole answers*, a long prompt's
*Show all*, and a Results page whose tabs and card fit 1366x768 (issue 22), checked by element
positions in Debian's Chromium. One served app for the module; the prompt is PandaLM's longest
(read from ../shared/reference/, not copied here), against a 6,000-character answer and a
one-line one."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from sqlmodel import Session

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from tests.analysis_helpers import build_study, pair_of, rate, verdict
from tests.browser_support import chromium, log_in, rate_current_pair, serve_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
PANDALM = ROOT.parent / "shared" / "reference" / "testset-v1.json"
PASSWORD = "panes-check-2026x"
WIDTH, HEIGHT = 1366, 768

# Where each box is and how much it holds (our probe, run in the page).
BOXES = """() => {
  const box = (key) => {
    const e = document.querySelector('.st-key-' + key);
    const r = e.getBoundingClientRect();
    return {top: r.top, bottom: r.bottom, height: r.height, scroll: e.scrollHeight,
            client: e.clientHeight, more: e.dataset.sbsMore || null,
            cue: getComputedStyle(e.parentElement, '::after').content};
  };
  return {a: box('pane_a'), b: box('pane_b'), prompt: box('prompt_box')};
}"""
# The score grid's height (first to eighth radio group) and the score rows' labels shown.
GRID = """() => {
  const groups = [...document.querySelectorAll('.st-key-score_grid [role=radiogroup]')];
  const shown = [...document.querySelectorAll('.st-key-score_grid [data-testid=stWidgetLabel]')]
    .filter(e => e.offsetParent !== null && getComputedStyle(e).display !== 'none');
  return {groups: groups.length, labels: shown.length,
          height: groups[7].getBoundingClientRect().bottom - groups[0].getBoundingClientRect().top};
}"""


def longest_pandalm_prompt() -> str:
    rows = json.loads(PANDALM.read_text(encoding="utf-8"))
    row = max(rows, key=lambda r: len(r["instruction"]) + len(r.get("input") or ""))
    return f"{row['instruction']}\n\n{row.get('input') or ''}".strip()


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    if not PANDALM.exists():
        pytest.skip(f"needs the PandaLM reference set at {PANDALM}")
    tmp = tmp_path_factory.mktemp("panes")
    db_url = f"sqlite:///{tmp / 'panes.db'}"
    engine = init_db(get_engine(db_url))
    # A rated study for the Results page (first in the list, so the page opens on it).
    with Session(engine, expire_on_commit=False) as s:
        b = build_study(s, name="card", systems=("base", "tuned", "big"), n_prompts=12)
        for i in range(12):
            for x, y in (("base", "tuned"), ("base", "big")):
                pid, _ = pair_of(b, i, x, y)
                for ann, pref in (("u1", "b"), ("u2", "b" if i % 3 else "a"), ("u3", "tie")):
                    rate(s, b, ann, pid, pref, scores={"Accuracy": {"a": 2, "b": 4}})
                verdict(s, b, "judge:position-biased-long-name", pid, "b", "b" if i % 2 else "a")
        create_user(s, username="boss", password=PASSWORD, role="admin")
        s.commit()
    prompt = longest_pandalm_prompt()
    answer = ("A long paragraph of the answer, sentence after sentence. " * 120)[:6000]
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(["prompt_id", "prompt", "system", "output"])
    writer.writerow(["long", prompt, "one", answer])
    writer.writerow(["long", prompt, "two", "A one-line answer."])
    with unit_of_work(engine) as s:
        study = create_study(s, name="fit", k=3, seed=1)
        import_sources(s, study=study, sources=[("fit.csv", buf.getvalue().encode())])
        create_user(s, username="paner", password=PASSWORD)
        add_member(s, study=study, username="paner")
    engine.dispose()
    with serve_app(db_url, tmp / "streamlit.log") as url:
        yield {"url": url, "tmp": tmp, "prompt": prompt}


def in_window(page, name: str) -> dict:
    box = page.get_by_role("button", name=name).first.bounding_box()
    where = {"top": box["y"], "bottom": box["y"] + box["height"], "window": HEIGHT}
    assert where["top"] >= 0 and where["bottom"] <= HEIGHT, (name, where)
    return where


def test_panes_cue_expand_and_show_all_at_1366x768(app):
    assert len(app["prompt"]) > 1500
    with chromium(app["tmp"] / "annotator", width=WIDTH, height=HEIGHT) as page:
        log_in(page, app["url"], "paner", PASSWORD)
        page.get_by_role("radiogroup").nth(7).wait_for()
        wait_idle(page)
        page.wait_for_function("() => document.querySelector('.st-key-pane_a[data-sbs-more]')")
        boxes = page.evaluate(BOXES)
        a, b, prompt = boxes["a"], boxes["b"], boxes["prompt"]
        # The long pane is bounded, scrolls and says so; the one-line pane is its own size.
        assert a["scroll"] > 2 * a["client"] and a["more"] == "1", a
        assert "more below" in a["cue"], a
        assert b["more"] == "0" and b["cue"] == "none" and b["height"] < 120, b
        # The long prompt shows its first lines (with the cue), its end hidden.
        assert prompt["height"] < 200 and prompt["scroll"] > prompt["client"] + 100, prompt
        assert prompt["more"] == "1", prompt
        for name in ("A is better", "Tie", "B is better"):
            in_window(page, name)
        # Scrolled to its end, the long pane's cue goes away.
        page.evaluate("() => { const e = document.querySelector('.st-key-pane_a');"
                      " e.scrollTop = e.scrollHeight; }")  # fmt: skip
        page.wait_for_function("() => document.querySelector('.st-key-pane_a')"
                               ".dataset.sbsMore === '0'")  # fmt: skip
        page.evaluate("() => { document.querySelector('.st-key-pane_a').scrollTop = 0; }")

        # Show whole answers: the long pane opens to its whole content, no cue, buttons stay.
        page.get_by_text("Show whole answers").click()
        page.wait_for_function(
            "() => { const e = document.querySelector('.st-key-pane_a');"
            " return e.clientHeight + 1 >= e.scrollHeight && e.scrollHeight > 1500; }"
        )
        wait_idle(page)
        page.wait_for_function("() => document.querySelector('.st-key-pane_a')"
                               ".dataset.sbsMore === '0'")  # fmt: skip
        opened = page.evaluate(BOXES)["a"]
        assert opened["height"] >= opened["scroll"] > 1500 and opened["cue"] == "none", opened
        for name in ("A is better", "Tie", "B is better"):
            in_window(page, name)  # pinned to the window while the form is far below

        # Show all: the prompt's last line is inside its box, nothing of it hidden.
        page.get_by_text("Show all", exact=True).click()
        page.wait_for_function(
            "() => { const e = document.querySelector('.st-key-prompt_box');"
            " return e.clientHeight + 1 >= e.scrollHeight && e.clientHeight > 300; }"
        )
        last_line = [line for line in app["prompt"].split("\n") if line.strip()][-1]
        tail = page.locator(".st-key-prompt_box p").filter(has_text=last_line[-40:].strip())
        line_box = tail.last.bounding_box()
        full = page.evaluate(BOXES)["prompt"]
        assert line_box["y"] + line_box["height"] <= full["bottom"], (line_box, full)
        page.wait_for_function("() => document.querySelector('.st-key-prompt_box')"
                               ".dataset.sbsMore === '0'")  # fmt: skip

        # My ratings shows the same compact grid as Annotate: no repeated row labels, one height.
        annotate_grid = page.evaluate(GRID)
        assert annotate_grid["groups"] == 8 and annotate_grid["labels"] == 0, annotate_grid
        rate_current_pair(page, [4, 3, 5, 2, 4, 4, 3, 5], "Alt+a")
        page.get_by_text("Thank you").first.wait_for()
        page.get_by_role("link", name="My ratings").click()
        page.get_by_role("heading", name="My ratings").wait_for()
        page.locator(".st-key-score_grid [role=radiogroup]").nth(7).wait_for()
        wait_idle(page)
        mine = page.evaluate(GRID)
        assert mine["labels"] == 0, mine
        assert abs(mine["height"] - annotate_grid["height"]) <= 4, (mine, annotate_grid)


def test_results_tabs_and_card_fit_1366x768(app):
    with chromium(app["tmp"] / "admin", width=WIDTH, height=HEIGHT) as page:
        log_in(page, app["url"], "boss", PASSWORD, landing="Studies")
        page.get_by_role("link", name="Results").click()
        page.get_by_role("tab", name="Card").wait_for(timeout=120_000)
        page.get_by_text("Evaluation card").first.wait_for()
        wait_idle(page)
        bar = page.get_by_role("tablist").first.bounding_box()
        assert bar["y"] + bar["height"] <= HEIGHT, bar  # every tab reachable without a scroll
        grid = page.locator("[data-testid=stDataFrame]").first
        grid.locator(".dvn-scroller").wait_for()
        widths = grid.evaluate(
            "(e) => { const s = e.querySelector('.dvn-scroller');"
            " return {scroll: s.scrollWidth, client: s.clientWidth}; }"
        )
        assert widths["scroll"] <= widths["client"], widths  # no card column cut off
