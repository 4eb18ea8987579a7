"""Exports of a conversation study: the ratings keep each side's conversation, the DPO export
is TRL's conversational format with the chosen system's own history as the prompt."""

from __future__ import annotations

import json

from sqlmodel import Session, select

from sidebyside.annotate.export import export_frame, write_export
from sidebyside.foundation.models import Output, Pair, Prompt, System
from tests.analysis_helpers import Built, rate
from tests.conversation_helpers import ANSWERS, QUESTIONS, mt_bench_study


def _rated(session: Session):
    """Both annotators prefer beta-13b on every pair."""
    study, _ = mt_bench_study(session)
    session.commit()
    b = Built(study=study, systems={}, prompts=[], pairs={})
    for pair in session.exec(select(Pair)).all():
        out_a = session.get(Output, pair.output_a_id)
        side = "a" if session.get(System, out_a.system_id).name == "beta-13b" else "b"
        for annotator in ("h1", "h2"):
            rate(session, b, annotator, pair.id, side)
    return study


def test_ratings_export_keeps_each_sides_conversation(session: Session):
    study = _rated(session)
    df = export_frame(session, study.name, "ratings")
    assert len(df) == 8 and {"turn", "messages_a", "messages_b"} <= set(df.columns)
    row = df[(df["prompt_id"] == "101#2")].iloc[0]
    assert row["turn"] == 2
    for side in ("a", "b"):
        system = row[f"system_{side}"]
        own = ANSWERS[system][1]
        assert [m["content"] for m in row[f"messages_{side}"]] == [
            QUESTIONS[1]["turns"][0], own[0], QUESTIONS[1]["turns"][1], own[1]
        ]  # fmt: skip
    # In CSV the messages are JSON text.
    text = write_export(df, "csv").decode()
    assert '""role"": ""assistant""' in text


def test_dpo_export_is_trl_conversational(session: Session, tmp_path):
    study = _rated(session)
    df = export_frame(session, study.name, "dpo")
    assert list(df.columns) == ["prompt", "chosen", "rejected"] and len(df) == 4
    path = tmp_path / "dpo.jsonl"
    write_export(df, "jsonl", path)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    second = next(r for r in rows if len(r["prompt"]) == 3)
    beta, alpha = ANSWERS["beta-13b"], ANSWERS["alpha-7b"]
    q = next(i for i, q in enumerate(QUESTIONS) if q["turns"][1] == second["prompt"][2]["content"])
    # The history is the chosen system's own (beta's turn-1 answer), then the judged turn.
    assert second["prompt"] == [
        {"role": "user", "content": QUESTIONS[q]["turns"][0]},
        {"role": "assistant", "content": beta[q][0]},
        {"role": "user", "content": QUESTIONS[q]["turns"][1]},
    ]
    assert second["chosen"] == [{"role": "assistant", "content": beta[q][1]}]
    assert second["rejected"] == [{"role": "assistant", "content": alpha[q][1]}]
    first = next(r for r in rows if len(r["prompt"]) == 1)
    assert first["prompt"][0]["role"] == "user" and first["chosen"][0]["role"] == "assistant"


def test_single_turn_exports_are_unchanged(session: Session):
    from tests.analysis_helpers import build_study

    b = build_study(session, n_prompts=2)
    for pair_id in b.pairs.values():
        rate(session, b, "h1", pair_id, "a")
    ratings = export_frame(session, b.study.name, "ratings")
    assert "messages_a" not in ratings.columns and "turn" not in ratings.columns
    dpo = export_frame(session, b.study.name, "dpo")
    assert all(isinstance(p, str) for p in dpo["prompt"])
    assert session.exec(select(Prompt.turn)).all() == [None, None]
