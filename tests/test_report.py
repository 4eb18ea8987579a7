"""The report: the typed sections behind the documented JSON contract, and the Markdown and
offline HTML renderings."""

from __future__ import annotations

import json
import re

import pytest
from sqlalchemy.engine import Engine

from sidebyside.analysis.report import build_report, render, report_for_study
from sidebyside.analysis.report_models import (
    HumanSection,
    JudgeSection,
    LengthControlled,
    ReportSettings,
    StudyReport,
    WinRate,
)
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study
from tests.analysis_helpers import build_study, pair_of, rate, verdict

WIN_RATE_KEYS = {
    "system_a",
    "system_b",
    "wins_a",
    "wins_b",
    "ties",
    "win_rate_a",
    "ci_low",
    "ci_high",
    "p_value",
    "boot_ci_low",
    "boot_ci_high",
    "prompts_a",
    "prompts_b",
    "p_value_prompts",
}
CALIBRATION_KEYS = {
    "agreement_with_majority",
    "agreement_with_majority_no_ties",
    "cohen_kappa_vs_majority",
    "position_consistency",
    "first_position_rate",
    "prefers_longer_rate",
    "n",
}


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory) -> tuple[Engine, dict]:
    from sidebyside.foundation.db import get_engine, init_db

    url = f"sqlite:///{tmp_path_factory.mktemp('r') / 'r.db'}"
    engine = init_db(get_engine(url))
    spec = SyntheticSpec(
        strengths=[0.0, 0.7, 1.4],
        n_prompts=60,
        n_annotators=6,
        per_pair=3,
        careless=0.95,
        judges={"judge:fair": 0.0, "judge:biased": 0.6, "ensemble": 0.0},
    )
    sid = build_synthetic_study(engine, spec)
    report = report_for_study(engine, sid, n_boot=200)
    yield engine, report
    engine.dispose()


def test_contract_keys(synthetic):
    _, report = synthetic
    r = json.loads(render(report, "json"))  # the JSON contract: plain JSON, no NaN
    assert r == report.model_dump(mode="json")
    agr = r["human"]["agreement"]
    assert set(agr["krippendorff_alpha"]) == {"preference", *r["study"]["criteria"]}
    for crit in r["study"]["criteria"]:
        assert set(agr["krippendorff_alpha"][crit]) == {"ordinal", "interval"}
    pair = agr["pairwise_cohen_kappa"][0]
    assert set(pair) == {"annotator_1", "annotator_2", "kappa", "n"}
    for section in [r["human"], *r["judges"].values()]:
        assert all(set(w) >= WIN_RATE_KEYS for w in section["win_rates"])
        assert all(
            set(b) >= {"system", "rating", "ci_low", "ci_high"} for b in section["bradley_terry"]
        )
    for j in r["judges"].values():
        assert set(j["calibration"]) >= CALIBRATION_KEYS


def test_typed_sections(synthetic):
    _, r = synthetic
    agr = r.human.agreement
    pref = agr.krippendorff_alpha.preference
    assert pref.level == "nominal" and pref.ci_low <= pref.alpha <= pref.ci_high
    assert list(agr.krippendorff_alpha.criteria) == r.study.criteria
    assert isinstance(agr.fleiss_kappa, float)  # every pair has 3 ratings
    assert 0 < agr.percent_agreement < 1
    for section in [r.human, *r.judges.values()]:
        assert len(section.win_rates) == 3
        lc = section.length_controlled
        assert [(x.system_a, x.system_b) for x in lc] == [
            (w.system_a, w.system_b) for w in section.win_rates
        ]
        assert all(x.ci_low <= x.lc_win_rate_a <= x.ci_high for x in lc)
        assert len(section.bradley_terry) == 3
    assert set(r.judges) == {"judge:fair", "judge:biased", "ensemble"}
    loo = {x.annotator: x.agreement for x in r.human.loo_agreement}
    assert min(loo, key=loo.get) == "synthetic-ann5"  # the careless one
    assert r.human.prefers_longer_rate is not None


def test_figures_make_sense(synthetic):
    _, r = synthetic
    cmp = r.judge_comparison
    ranked = [x.judge for x in cmp.judges]
    assert ranked.index("judge:fair") < ranked.index("judge:biased")
    assert len(cmp.pairwise) == 3
    assert [b.system for b in r.human.bradley_terry] == ["system-2", "system-1", "system-0"]
    fair = r.judges["judge:fair"].calibration
    biased = r.judges["judge:biased"].calibration
    assert biased.first_position_rate > 0.7 > fair.first_position_rate
    assert biased.position_consistency < fair.position_consistency
    assert fair.agreement_with_majority_no_ties > 0.6
    assert fair.n == r.study.n_pairs == fair.n_with_humans


def test_report_without_human_ratings(session):
    b = build_study(session, systems=("base", "tuned"), n_prompts=6)
    for i in range(6):
        pid, _ = pair_of(b, i, "base", "tuned")
        verdict(session, b, "gpt-3.5-file", pid, "b" if i % 3 else "a", None, mode="imported")
        verdict(session, b, "judge:x", pid, "b", "b" if i % 2 else "a")
    r = report_for_study(session, b.study.name, n_boot=50)
    h = r.human
    assert h.agreement.krippendorff_alpha.model_dump() == {
        "preference": None,
        "Accuracy": None,
        "Fluency": None,
    }
    assert h.agreement.fleiss_kappa is None and h.agreement.pairwise_cohen_kappa is None
    assert h.win_rates is None and h.bradley_terry is None and h.loo_agreement is None
    assert h.prefers_longer_rate is None
    assert r.judge_comparison is None  # nothing to compare against
    imported = r.judges["gpt-3.5-file"]
    assert imported.mode == "imported"
    assert imported.win_rates[0].wins_b == 4 and imported.bradley_terry is None
    c = imported.calibration
    assert c.agreement_with_majority is None and c.position_consistency is None
    assert c.n == 6 and c.prefers_longer_rate is None  # equal lengths
    cx = r.judges["judge:x"].calibration
    assert cx.position_consistency == 0.5 and cx.first_position_rate is not None
    for fmt in ("md", "html"):
        assert "gpt-3.5-file" in render(r, fmt)


def test_two_annotators_unequal_raters(session):
    b = build_study(session, n_prompts=5)
    for i in range(5):
        pid, _ = pair_of(b, i, "base", "tuned")
        rate(session, b, "u1", pid, "a", scores={"Accuracy": {"a": 4, "b": 2}})
        if i < 3:
            rate(session, b, "u2", pid, "a" if i else "b", scores={"Accuracy": {"a": 4, "b": 3}})
    from sidebyside.analysis.frames import load_study_frames

    r = build_report(load_study_frames(session, b.study), n_boot=0)
    agr = r.human.agreement
    assert agr.fleiss_kappa is None  # 2 raters on 3 pairs, 1 on the others
    assert agr.fleiss_kappa_complete.n_items == 3
    assert agr.krippendorff_alpha.preference.ci_low is None  # n_boot=0
    assert agr.krippendorff_alpha.criteria["Fluency"] is None  # never scored
    assert r.human.bradley_terry is None  # two systems


def test_markdown_and_html(synthetic):
    _, r = synthetic
    md = render(r, "md")
    assert md.startswith("# Report: synthetic") and "| system-0 | system-1 |" in md
    html = render(r, "html")
    assert html.startswith("<!DOCTYPE html>") and html.count("<svg") >= 8
    # self-contained: no scripts, no external resources
    assert "<script" not in html and not re.search(r"""(src|href)=["']?https?:""", html)
    assert "judge:biased vs the human majority" in html


def test_html_escapes_names(session):
    b = build_study(session, systems=("<b>x</b>", "y&z"), n_prompts=3)
    for i in range(3):
        pid, _ = pair_of(b, i, "<b>x</b>", "y&z")
        verdict(session, b, "<script>alert(1)</script>", pid, "a", "a")
    html = render(report_for_study(session, b.study, n_boot=20), "html")
    assert "<script>" not in html and "<b>x</b>" not in html
    assert "&lt;script&gt;" in html and "y&amp;z" in html


def test_unknown_format(synthetic):
    with pytest.raises(ValueError, match="unknown report format"):
        render(synthetic[1], "pdf")


def test_headline_names_winners_and_flags_disagreement(session):
    """Humans clearly prefer tuned; one judge agrees, one always says base, one is a coin."""
    b = build_study(session, systems=("base", "tuned"), n_prompts=30)
    for i in range(30):
        pid, _ = pair_of(b, i, "base", "tuned")
        for ann in ("u1", "u2", "u3"):
            rate(session, b, ann, pid, "b" if (i + len(ann)) % 10 else "a")
        verdict(session, b, "judge:agrees", pid, "b", "b")
        verdict(session, b, "judge:contrary", pid, "a", "a")
        verdict(session, b, "judge:coin", pid, "a" if i % 2 else "b", None, mode="imported")
    r = report_for_study(session, b.study, n_boot=300)
    (entry,) = r.headline
    assert (entry.system_a, entry.system_b) == ("base", "tuned")
    v = entry.verdicts
    assert list(v) == ["humans", "judge:agrees", "judge:contrary", "judge:coin"]
    assert v["humans"].winner == "tuned" and v["humans"].evidence == "bootstrap"
    assert v["humans"].ci_high < 0.5 and v["humans"].n_prompts == 30
    assert v["judge:agrees"].winner == "tuned"
    assert v["judge:contrary"].winner == "base"
    assert v["judge:coin"].winner is None
    assert entry.agree is False
    md = render(r, "md")
    assert md.index("## Who wins") < md.index("## Human ratings")
    assert "| base vs tuned | tuned · A " in md and "no clear winner" in md
    assert "<h2>Who wins</h2>" in render(r, "html")


def test_headline_without_bootstrap_falls_back_to_the_prompt_sign_test(session):
    b = build_study(session, systems=("base", "tuned"), n_prompts=12)
    for i in range(12):
        pid, _ = pair_of(b, i, "base", "tuned")
        verdict(session, b, "judge:x", pid, "b", "b")
    r = report_for_study(session, b.study, n_boot=0)
    (entry,) = r.headline
    x = entry.verdicts["judge:x"]
    assert (x.winner, x.evidence) == ("tuned", "sign test")  # 12 of 12: p = 5e-4
    assert entry.agree is None  # one source: nothing to agree with


def partial_report(human: dict, judges: dict[str, dict]) -> StudyReport:
    """A report holding only what the headline reads: settings and the vote sections (rows
    given as partial dicts, built without validation)."""

    def section(cls, d: dict):
        return cls.model_construct(
            win_rates=[WinRate.model_construct(**r) for r in d.get("win_rates") or []] or None,
            length_controlled=[
                LengthControlled.model_construct(**r) for r in d.get("length_controlled") or []
            ]
            or None,
        )

    return StudyReport.model_construct(
        settings=ReportSettings(n_boot=0, seed=0, confidence=0.95),
        human=section(HumanSection, human),
        judges={k: section(JudgeSection, j) for k, j in judges.items()},
        headline=[],
    )


def test_headline_says_when_the_win_does_not_survive_length_control():
    from sidebyside.analysis.headline import headline
    from sidebyside.analysis.report_md import headline_cells

    row = {"system_a": "base", "system_b": "tuned", "win_rate_a": 0.3, "n_prompts": 80,
           "boot_ci_low": 0.22, "boot_ci_high": 0.38, "ci_low": 0.25, "ci_high": 0.36,
           "p_value_prompts": 0.001}  # fmt: skip
    lc = {"system_a": "base", "system_b": "tuned", "lc_win_rate_a": 0.46, "ci_low": 0.37,
          "ci_high": 0.55}  # fmt: skip
    report = partial_report(
        {"win_rates": [row], "length_controlled": [lc]},
        {"judge:x": {"win_rates": [row], "length_controlled": [dict(lc, ci_high=0.49)]}},
    )
    report.headline = headline(report)
    (entry,) = report.headline
    humans, judge = entry.verdicts["humans"], entry.verdicts["judge:x"]
    assert (humans.winner, humans.winner_at_equal_length) == ("tuned", None)
    assert (judge.winner, judge.winner_at_equal_length) == ("tuned", "tuned")
    _, ((_, human_cell, judge_cell, agree),) = headline_cells(report)
    assert human_cell.endswith("at equal length: no clear winner")
    assert "equal length" not in judge_cell  # the same call: nothing to add
    assert agree == "yes"


def test_headline_estimates_the_prompts_an_open_question_needs():
    from sidebyside.analysis.headline import headline
    from sidebyside.analysis.report_md import headline_cells

    row = {"system_a": "base", "system_b": "tuned", "win_rate_a": 0.54, "n_prompts": 120,
           "prompts_a": 55, "prompts_b": 45, "boot_ci_low": 0.45, "boot_ci_high": 0.63,
           "ci_low": 0.46, "ci_high": 0.62, "p_value_prompts": 0.37}  # fmt: skip
    report = partial_report({"win_rates": [row]}, {})
    report.headline = headline(report)
    (entry,) = report.headline
    assert entry.verdicts["humans"].winner is None
    assert entry.verdicts["humans"].prompts_needed == 940  # analysis.power's doctest
    _, ((_, cell, _),) = headline_cells(report)
    assert cell.endswith("· ~940 prompts to settle")
