"""The report of a conversation study: win rates, agreement and judge calibration per turn,
in the JSON and the Markdown; a single-turn study has no per-turn section."""

from __future__ import annotations

from sqlmodel import Session, select

from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report, render
from sidebyside.foundation.models import Output, Pair, Prompt, System
from tests.analysis_helpers import Built, build_study, rate, verdict
from tests.conversation_helpers import mt_bench_study


def _winner_side(session: Session, pair: Pair, system: str) -> str:
    out_a = session.get(Output, pair.output_a_id)
    return "a" if session.get(System, out_a.system_id).name == system else "b"


def test_win_rates_agreement_and_consistency_per_turn(session: Session):
    study, _ = mt_bench_study(session)
    session.commit()
    b = Built(study=study, systems={}, prompts=[], pairs={})
    for pair in session.exec(select(Pair)).all():
        turn = session.get(Prompt, pair.prompt_id).turn
        # Humans: alpha wins every turn 1, beta every turn 2 (the fine-tune breaks at turn 2).
        side = _winner_side(session, pair, "alpha-7b" if turn == 1 else "beta-13b")
        for annotator in ("h1", "h2"):
            rate(session, b, annotator, pair.id, side)
        # The judge: sure at turn 1, swayed by the order at turn 2.
        alpha = _winner_side(session, pair, "alpha-7b")
        other = "b" if alpha == "a" else "a"
        verdict(session, b, "judge-x", pair.id, alpha, alpha if turn == 1 else other)
    report = build_report(load_study_frames(session, study.id), n_boot=200, seed=1)
    one, two = report.by_turn
    assert (one.turn, one.n_pairs, one.n_prompts, two.turn) == (1, 2, 2, 2)
    [h1], [h2] = one.human.win_rates, two.human.win_rates
    assert (h1.system_a, h1.system_b, h1.n) == ("alpha-7b", "beta-13b", 4)
    assert (h1.win_rate_a, h2.win_rate_a) == (1.0, 0.0)
    # Both raters agree on every pair at each turn (alpha is 1, or undefined when every
    # vote of the turn is the same letter: no variation to agree on).
    assert (one.human.percent_agreement, two.human.percent_agreement) == (1.0, 1.0)
    assert {one.human.krippendorff_alpha, two.human.krippendorff_alpha} <= {1.0, None}
    # The pooled figure hides it: one win each.
    [pooled] = report.human.win_rates
    assert pooled.win_rate_a == 0.5 and pooled.n == 8
    j1, j2 = one.judges["judge-x"], two.judges["judge-x"]
    assert (j1.agreement_with_majority, j1.position_consistency) == (1.0, 1.0)
    assert (j2.agreement_with_majority, j2.position_consistency) == (0.0, 0.0)
    assert j1.win_rates[0].win_rate_a == 1.0 and j2.win_rates[0].win_rate_a == 0.5
    # The card gets the win rates at each turn beside the pooled ones.
    card = {r.key: r for r in report.card.rows}
    assert card["human.win_rate.turn1"].value == 0.0  # beta (not the base) vs alpha (base)
    assert card["human.win_rate.turn2"].value == 1.0
    assert card["human.win_rate"].value == 0.5
    assert "judge.judge-x.win_rate.turn2" in card
    data = report.model_dump(mode="json")
    assert [t["turn"] for t in data["by_turn"]] == [1, 2]
    md = render(report, "md")
    assert "## Per turn" in md
    # four votes on two conversations: too few to say (issue 22, ``small_samples``)
    assert "| 2 | humans | alpha-7b | beta-13b | 4 | too few to say (n = 2) |" in md
    assert "alpha (humans)" in md
    assert "Per turn" in render(report, "html")


def test_a_single_turn_study_has_no_per_turn_section(session: Session):
    b = build_study(session, n_prompts=2)
    for (_, _, _), pair_id in b.pairs.items():
        rate(session, b, "h1", pair_id, "a")
    report = build_report(load_study_frames(session, b.study.id), n_boot=0)
    assert report.by_turn is None
    assert "Per turn" not in render(report, "md")
    assert not any("turn" in r.key for r in report.card.rows)
