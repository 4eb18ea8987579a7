"""Honest small samples on every agreement figure (issue 22): a two-prompt study's report
(Markdown, HTML, JSON) says "too few to say (n = …)" for its win rate and for every agreement
figure — alpha, Fleiss' kappa, percent agreement, the swap-symmetric figures (counted by pairs,
not by their two oriented rows), pairwise kappas, each annotator's agreement, a judge's
agreement with the humans, the per-turn cells — and the Results page warns; a 25-pair study
shows its figures."""

from __future__ import annotations

import json
import random
from pathlib import Path

from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from sidebyside.analysis.report import render, report_for_study
from sidebyside.analysis.report_rows import WinRate
from sidebyside.analysis.turns import TurnSection, TurnVotes, turn_cells
from sidebyside.foundation.models import Prompt, User
from sidebyside.ui.common import USER_KEY
from tests.analysis_helpers import build_study, pair_of, rate, verdict
from tests.test_small_samples import two_prompt_study

ROOT = Path(__file__).resolve().parent.parent
FEW = "too few to say (n = 2)"


def _agreement_part(md: str) -> str:
    return md.split("### Agreement")[1].split("### Who wins (humans)")[0]


def test_a_two_prompt_report_says_too_few_for_every_agreement_figure(engine):
    two_prompt_study(engine)
    with Session(engine) as s:
        report = report_for_study(s, "tiny", n_boot=50)
    md = render(report, "md")
    part = _agreement_part(md)
    for label in (
        "Fleiss' kappa (preference)",
        "Percent agreement (preference)",
        "alpha (preference, swap-symmetric)",
        "Fleiss' kappa (preference, swap-symmetric)",
    ):
        assert f"- {label}: {FEW}" in part, label
    assert "| preference | nominal | too few to say (n = 2) | — | too few to say (n = 2) |" in part
    for rater in ("r0", "r1", "r2"):  # each annotator's agreement with the others
        assert f"| {rater} | {FEW} | {FEW} | 2 |" in part
    assert "1.000" not in part.split("- P(prefers")[0]  # no bare agreement figure
    assert "| base | tuned | 0 | 6 | 0 | too few to say (n = 2) | — | — |" in md  # win rate
    html = render(report, "html")
    assert f"<td>Fleiss&#x27; kappa (preference)</td><td>{FEW}</td>" in html
    assert f"<td>alpha (preference, swap-symmetric)</td><td>{FEW}</td>" in html
    data = json.loads(render(report, "json"))
    agr = data["human"]["agreement"]
    assert (agr["n_overlap"], agr["small_sample"]) == (2, FEW)
    # swap-symmetric agreement counts the two pairs, not their four oriented rows
    assert agr["swap_symmetric"]["n_units"] == 2
    assert agr["swap_symmetric"]["small_sample"] == FEW


def _rated_study(session, n: int, *, judge_pairs: int):
    """``n`` prompts, base vs tuned, each pair rated by three annotators (mostly tuned, some
    disagreement) and the first ``judge_pairs`` also judged."""
    b = build_study(session, name=f"s{n}", n_prompts=n)
    for prompt in session.exec(select(Prompt)):  # three prompts in a category of their own
        prompt.category = "rare" if int(prompt.external_id[1:]) < 3 else "common"
        session.add(prompt)
    session.commit()
    rng = random.Random(n)
    for i in range(n):
        pid, base_is_a = pair_of(b, i, "base", "tuned")
        tuned = "b" if base_is_a else "a"
        for ann in ("x", "y", "z"):
            rate(session, b, ann, pid, tuned if rng.random() < 0.75 else "tie")
        if i < judge_pairs:
            verdict(session, b, "judge", pid, tuned, tuned)
            verdict(session, b, "other", pid, tuned, "tie" if i % 2 else tuned)
    return b


def test_a_25_pair_study_shows_its_figures_and_a_judge_on_few_shared_pairs_does_not(session):
    b = _rated_study(session, 25, judge_pairs=3)
    report = report_for_study(session, b.study, n_boot=50)
    agr = report.human.agreement
    assert (agr.n_overlap, agr.small_sample) == (25, None)
    assert agr.swap_symmetric.n_units == 25 and agr.swap_symmetric.small_sample is None
    md = render(report, "md")
    part = _agreement_part(md)
    assert "too few to say" not in part.split("#### Each annotator")[0]
    for r in report.human.loo_agreement:  # 25 pairs each; without ties rests on fewer
        assert f"| {r.annotator} | {r.agreement:.3f} | " in part
        if r.n_no_ties < 20:
            assert f"too few to say (n = {r.n_no_ties}) | 25 |" in part
    assert f"- Percent agreement (preference): {agr.percent_agreement:.3f}" in part
    assert f"- alpha (preference, swap-symmetric): {agr.swap_symmetric.krippendorff_alpha:.3f}" in (
        part
    )
    assert "| rare | base | tuned | too few to say (n = 3) | too few to say (n = 3) | 3 |" in md
    common = next(r for r in report.human.by_category if r.category == "common")
    assert f"| common | base | tuned | {common.win_rate_a:.3f} | [" in md
    # The judge shares only three pairs with the humans: its agreement is too few to say.
    calib = report.judges["judge"].calibration
    assert (calib.n_with_humans, calib.small_sample) == (3, "too few to say (n = 3)")
    judge_md = md.split("### judge")[1]
    assert "| agreement with human majority | too few to say (n = 3) |" in judge_md
    assert "| Cohen's kappa vs majority (a / b / tie) | too few to say (n = 3) |" in judge_md
    compared = md.split("### Judges compared")[1].split("###")[0]
    assert "| judge | too few to say (n = 3) | too few to say (n = 3) |" in compared
    # each two judges: their difference and its interval too few, the counts shown
    assert "| judge | other | too few to say (n = 3) | too few to say (n = 3) | 1 | 0 |" in compared


def test_a_judge_on_enough_shared_pairs_shows_its_agreement(session):
    b = _rated_study(session, 22, judge_pairs=22)
    report = report_for_study(session, b.study, n_boot=0)
    calib = report.judges["judge"].calibration
    assert calib.small_sample is None
    judge_md = render(report, "md").split("### judge")[1]
    assert f"| agreement with human majority | {calib.agreement_with_majority:.3f} |" in judge_md


def _rate_row(n_prompts: int) -> WinRate:
    return WinRate.model_validate(
        {"system_a": "base", "system_b": "tuned", "wins_a": 0, "wins_b": n_prompts, "ties": 0,
         "n": n_prompts, "n_prompts": n_prompts, "win_rate_a": 0.0, "ci_low": 0.0,
         "ci_high": 0.3, "p_value": 0.5, "boot_ci_low": 0.0, "boot_ci_high": 0.3,
         "prompts_a": 0, "prompts_b": n_prompts, "p_value_prompts": 0.5}
    )  # fmt: skip


def test_per_turn_cells_say_too_few():
    human = TurnVotes(
        n=6, win_rates=[_rate_row(2)], krippendorff_alpha=1.0, percent_agreement=1.0, n_overlap=2
    )
    judge = TurnVotes(n=2, win_rates=[_rate_row(2)], agreement_with_majority=1.0, n_with_humans=2)
    section = TurnSection(turn=2, n_pairs=2, n_prompts=2, human=human, judges={"j": judge})
    humans, judges = turn_cells([section])
    assert humans[5:8] == [FEW, FEW, FEW] and humans[10] == FEW  # win rate, CI, alpha
    assert judges[5] == FEW and judges[8] == FEW  # the judge's agreement with the humans
    many = TurnVotes(
        n=60, win_rates=[_rate_row(30)], krippendorff_alpha=0.5, percent_agreement=0.8,
        n_overlap=30,
    )  # fmt: skip
    (row,) = turn_cells([TurnSection(turn=1, n_pairs=30, n_prompts=30, human=many, judges={})])
    assert row[5] == 0.0 and row[10] == 0.5


def test_the_results_page_warns_on_too_few_for_agreement(engine):
    two_prompt_study(engine)
    with Session(engine) as s:
        boss = s.exec(select(User).where(User.username == "boss")).one()
    at = AppTest.from_file(str(ROOT / "pages" / "results.py"), default_timeout=120)
    at.session_state[USER_KEY] = boss.id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    warnings = [w.value for w in at.warning]
    assert any(w.startswith(f"Agreement: {FEW} pairs rated by at least two") for w in warnings)
    shown = " ".join(str(df.value.to_dict()) for df in at.dataframe)
    assert FEW in shown  # each annotator's agreement in the annotators table
    # the tiles and the alpha table put the words where a bare figure would be
    tiles = {m.label: m.value for m in at.metric}
    assert tiles["Percent agreement"] == "too few"
    assert all(v in ("too few", "—") for k, v in tiles.items() if k != "Ratings"), tiles
    alphas = next(df.value for df in at.dataframe if "alpha" in df.value.columns)
    assert alphas["alpha"].isna().all() and (alphas["note"] == FEW).all()
