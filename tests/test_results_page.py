"""AppTest smoke tests of the admin Results page."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session
from streamlit.testing.v1 import AppTest

from sidebyside.analysis.card_render import HEADERS, card_cells
from sidebyside.analysis.frames import data_fingerprint
from sidebyside.analysis.ppi import NOTHING_TO_ADD
from sidebyside.analysis.report import report_for_study
from sidebyside.annotate.auth import create_user
from sidebyside.foundation.db import get_engine, init_db
from sidebyside.foundation.models import MetricResult
from sidebyside.foundation.settings import get_settings
from sidebyside.metrics.card_scoring import TEXT_SCORER
from sidebyside.ui.common import USER_KEY
from tests.analysis_helpers import build_study, pair_of, rate, verdict

ROOT = Path(__file__).resolve().parent.parent
PAGE = str(ROOT / "pages" / "results.py")


@pytest.fixture
def world(tmp_path, monkeypatch):
    monkeypatch.setenv("SIDEBYSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'results.db'}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = init_db(get_engine())
    with Session(engine, expire_on_commit=False) as s:
        b = build_study(s, name="res", systems=("base", "tuned", "big"), n_prompts=6)
        for i in range(6):
            for x, y in (("base", "tuned"), ("base", "big"), ("tuned", "big")):
                pid, _ = pair_of(b, i, x, y)
                for ann, pref in (("u1", "b"), ("u2", "b" if i % 3 else "a"), ("u3", "tie")):
                    rate(s, b, ann, pid, pref, scores={"Accuracy": {"a": 2, "b": 4}})
                verdict(s, b, "openai:gpt", pid, "b", "b" if i % 2 else "a")
        admin = create_user(s, username="boss", password="secret0-xyz-pw", role="admin")
        ann = create_user(s, username="ann9", password="secret0-xyz-pw")
        s.commit()  # the account services leave the commit to the caller
    yield {"engine": engine, "admin": admin, "ann": ann, "built": b}
    get_settings.cache_clear()
    get_engine.cache_clear()


def run_as(user) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.session_state[USER_KEY] = user.id
    return at.run()


def test_results_page_renders_every_tab(world):
    at = run_as(world["admin"])
    assert not at.exception, [e.value for e in at.exception]
    assert [t.value for t in at.title] == ["Results"]
    labels = [t.label for t in at.tabs]
    assert labels == ["Card", "Who wins", "Humans", "Judges", "Perplexity & metrics", "Report"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Ratings"] == "54"
    frames = [d.value for d in at.dataframe]
    card, headline = frames[0], frames[1]  # the evaluation card (its own first tab), then who wins
    assert list(card.columns)[:2] == ["layer", "metric"]
    assert {"human", "judge"} <= set(card["layer"])
    assert list(headline.columns) == ["A vs B", "humans", "openai:gpt", "sources agree"]
    assert len(headline) == 3
    # the equal-length fit beside AlpacaEval's LC, absent here with the reason
    assert any({"at equal length", "AlpacaEval LC ± SE"} <= set(f.columns) for f in frames)
    assert any(c.value.startswith("AlpacaEval LC absent: no AlpacaEval GLM") for c in at.caption)
    # the judge judged only the pairs humans rated: PPI has nothing to add, and says so
    [ppi] = [f for f in frames if "PPI win rate A" in f.columns]
    assert len(ppi) == 3 and set(ppi["why absent"]) == {NOTHING_TO_ADD}
    assert any("judge" in f.columns and "ci_low_no_ties" in f.columns for f in frames)
    # calibration: a row per figure, a column per judge, figures as the reports write them
    [cal] = [f for f in frames if "figure" in f.columns]
    assert list(cal.columns) == ["figure", "openai:gpt"]
    shown = dict(zip(cal["figure"], cal["openai:gpt"], strict=True))
    assert shown["pairs judged"] == "18" and shown["pairs also rated by humans"] == "18"
    assert shown["agreement with human majority"] == "too few to say (n = 18)"
    assert shown["unparsed rate"] == "0.000" and shown["tie rate"] == "0.500"
    # missing PPI figures read as the reports' dash, not the grid's None
    assert set(ppi["PPI win rate A"]) == {"—"}
    assert any("annotator" in f.columns and "agreement" in f.columns for f in frames)
    assert len(at.get("download_button")) == 3


def test_results_page_is_admin_only(world):
    at = run_as(world["ann"])
    assert [e.value for e in at.error] == ["This page is for admins only."]
    assert not at.tabs


def test_fingerprint_changes_with_new_verdicts(world):
    engine, b = world["engine"], world["built"]
    before = data_fingerprint(engine, b.study.id)
    with Session(engine) as s:
        pid, _ = pair_of(b, 0, "base", "tuned")
        verdict(s, b, "judge:new", pid, "a", "a")
    after = data_fingerprint(engine, b.study.id)
    assert before != after and after[2] == before[2] + 1


def test_page_card_is_the_report_card_with_the_stored_layers(world):
    engine, b = world["engine"], world["built"]
    before = data_fingerprint(engine, b.study.id)
    with Session(engine) as s:
        for system, value in (("base", 20.0), ("tuned", 30.0)):
            s.add(
                MetricResult(
                    study_id=b.study.id,
                    system_id=b.systems[system],
                    metric="bleu",
                    value=value,
                    ci_low=value - 1,
                    ci_high=value + 1,
                    n=6,
                )
            )
        s.commit()
    assert data_fingerprint(engine, b.study.id) != before  # the page's cache sees new layers
    at = run_as(world["admin"])
    assert not at.exception, [e.value for e in at.exception]
    shown = at.dataframe[0].value
    text = shown[shown["layer"] == "text"]
    assert list(text["system"]) == ["tuned"] and list(text["verdict"]) == ["better (+50%)"]
    # the same card as `sidebyside card` and the downloads (the page's default 1000 resamples)
    card = report_for_study(engine, b.study.id, n_boot=1000, scorer=TEXT_SCORER).card
    assert shown.values.tolist() == card_cells(card) and list(shown.columns) == HEADERS
