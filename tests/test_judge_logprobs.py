"""Judge confidence from log-probabilities: the verdict token, renormalisation, both orders
mapped to canonical sides, the real OpenAI SDK against the loopback server, providers without
log-probabilities, the schema migration, and AlpacaEval's stored preferences reproduced."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
from sqlalchemy import inspect, text
from sqlmodel import Session, select

from sidebyside.foundation.db import init_db, schema_version
from sidebyside.foundation.migrations.legacy import SCHEMA_VERSION
from sidebyside.foundation.models import JudgeVerdict, Judgment
from sidebyside.judge.logprobs import (
    VerdictProbs,
    alpaca_eval_p_second,
    canonical_p_b,
    completion_verdict_probabilities,
    pair_preference,
    verdict_probabilities,
)
from sidebyside.judge.service import JudgeRunConfig, run_judges
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer

ALPACA = Path(__file__).resolve().parents[1].parent / "shared" / "reference" / "alpaca_eval"


def _top(**probs: float) -> list[dict]:
    return [{"token": t, "logprob": math.log(p)} for t, p in probs.items()]


def test_renormalised_over_the_verdict_tokens_only():
    p = verdict_probabilities(_top(A=0.5, B=0.2, tie=0.1, The=0.2))
    assert (p.a, p.b, p.tie) == pytest.approx((0.625, 0.25, 0.125))
    # Two spellings of one verdict add up; words that merely start with A are no verdict.
    p = verdict_probabilities(_top(A=0.3, a=0.1, Answer=0.4, B=0.2))
    assert (p.a, p.b, p.tie) == pytest.approx((2 / 3, 1 / 3, 0.0))
    assert verdict_probabilities(_top(The=0.9, Based=0.1)) is None  # no made-up 0.5
    assert verdict_probabilities([]) is None


def test_the_verdict_token_is_found_in_the_answer_even_with_a_glued_quote():
    answer = '{"reasoning": "A rambles.", "winner": "B"}'
    head = answer[: answer.rindex('"B"')]
    tokens = [
        {"token": head, "top_logprobs": []},
        # This tokenizer glued the quote to the verdict: alternatives share the prefix.
        {"token": '"B', "top_logprobs": _top(**{'"B': 0.7, '"A': 0.2, '"tie': 0.1})},
        {"token": '"}', "top_logprobs": []},
    ]
    p = completion_verdict_probabilities(answer, tokens)
    assert (p.a, p.b, p.tie) == pytest.approx((0.2, 0.7, 0.1))
    # SDK objects work as well as dicts; the "A" inside the reasoning is not the verdict.
    objs = [
        SimpleNamespace(
            token=t["token"], top_logprobs=[SimpleNamespace(**x) for x in t["top_logprobs"]]
        )
        for t in tokens
    ]
    assert completion_verdict_probabilities(answer, objs) == p
    assert completion_verdict_probabilities("no json", tokens) is None
    assert completion_verdict_probabilities(answer, None) is None


def test_both_orders_average_to_a_canonical_preference():
    # Order ab shows b second; order ba shows b first. A judge sure of b in both orders:
    ab, ba = VerdictProbs(a=0.1, b=0.8, tie=0.1), VerdictProbs(a=0.7, b=0.3, tie=0.0)
    assert canonical_p_b(ab, "ab") == pytest.approx(0.85)
    assert canonical_p_b(ba, "ba") == pytest.approx(0.7)
    assert pair_preference(ab, ba) == pytest.approx(0.775)
    # A judge that always picks the first shown has no preference at all once averaged.
    first = VerdictProbs(a=0.9, b=0.1, tie=0.0)
    assert pair_preference(first, first) == pytest.approx(0.5)
    assert pair_preference(ab, None) is None
    with pytest.raises(ValueError, match="order"):
        canonical_p_b(ab, "a")


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


def test_openai_judge_stores_probabilities_per_order(engine, session: Session, server):
    study = make_study(session, n_prompts=3)
    spec = f"openai:judge@{server.openai_url}"
    server.confidence = 0.8
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    body = server.requests[0]["body"]
    assert body["logprobs"] is True and body["top_logprobs"] >= 3
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert len(rows) == 6
    for row in rows:  # the longer (b) output wins, written B in order ab and A in order ba
        shown = row.p_b if row.order == "ab" else row.p_a
        assert shown == pytest.approx(0.8)
        assert row.p_a + row.p_b + row.p_tie == pytest.approx(1.0)
        assert row.preference == pytest.approx(1 + 0.8 + 0.5 * 0.05)
    verdicts = session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == spec)).all()
    assert len(verdicts) == 3
    assert all(v.winner == "b" and v.preference == pytest.approx(1.825) for v in verdicts)


def test_a_cached_copy_keeps_the_probabilities(engine, session: Session, server):
    # Two pairs of one prompt with identical texts share a cache key: one call, two rows.
    study = make_study(
        session, n_prompts=1, systems=("x", "y", "z"), texts={"y": "same", "z": "same"}
    )
    spec = f"openai:judge@{server.openai_url}"
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    copies = [r for r in rows if r.cost_usd == 0.0]
    assert copies and all(r.p_a is not None and r.preference is not None for r in copies)


def test_providers_without_logprobs_store_none_never_half(engine, session: Session, server):
    study = make_study(session, n_prompts=2)
    anthropic = f"anthropic:judge@{server.anthropic_url}"
    run_judges(engine, study.name, JudgeRunConfig(judges=[anthropic, "baseline:longest"]))
    rows = session.exec(select(Judgment)).all()
    assert len(rows) == 8 and {r.status for r in rows} == {"ok"}
    assert {(r.p_a, r.p_b, r.p_tie, r.preference) for r in rows} == {(None, None, None, None)}
    verdicts = session.exec(select(JudgeVerdict)).all()
    assert verdicts and {v.preference for v in verdicts} == {None}


def test_a_server_refusing_logprobs_is_asked_without_them(engine, session: Session, server):
    study = make_study(session, n_prompts=2)
    spec = f"openai:judge@{server.openai_url}"
    server.refuse_logprobs = True
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    # Every refused request (those in flight before the first refusal came back) is asked
    # again without logprobs; from then on none asks for them.
    asked = [bool(r["body"].get("logprobs")) for r in server.requests]
    refused = asked.count(True)
    assert refused >= 1 and len(asked) == 4 + refused and asked[-1] is False
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert len(rows) == 4 and {r.status for r in rows} == {"ok"}
    assert {r.p_a for r in rows} == {None}


def test_a_version_5_database_gains_the_probability_columns(tmp_path):
    from sidebyside.foundation.db import get_engine

    engine = init_db(get_engine(f"sqlite:///{tmp_path / 'v5.db'}"))
    with Session(engine) as s:
        make_study(s, n_prompts=1)
    with engine.begin() as conn:  # what version 5 wrote
        for column in ("p_a", "p_b", "p_tie"):
            conn.execute(text(f"ALTER TABLE judgment DROP COLUMN {column}"))
        conn.execute(text("UPDATE meta SET value = '5' WHERE key = 'schema_version'"))
    init_db(engine)
    columns = {c["name"] for c in inspect(engine).get_columns("judgment")}
    assert {"p_a", "p_b", "p_tie", "preference"} <= columns
    with Session(engine) as s:
        assert schema_version(s) == SCHEMA_VERSION >= 6
    engine.dispose()


def _alpaca(name: str) -> list[dict]:
    path = ALPACA / f"{name}.annotations.json"
    if not path.exists():
        pytest.skip(f"reference data not present: {path}")
    return json.loads(path.read_text())


def test_alpaca_eval_preferences_are_recovered_from_the_raw_completions():
    """AlpacaEval's weighted GPT-4 Turbo judge stores its top log-probabilities; P(M) over
    {m, M} gives the stored preference exactly, as 1 + P(M) when the pair was shown in its
    stored order and 2 - P(M) when AlpacaEval switched it. The switch is seeded by the
    instruction, so the recovered orientation of an instruction is the same in every file."""
    orientation: dict[str, set[bool]] = {}
    for name in ("alpaca-7b", "claude-2.1", "Qwen-14B-Chat"):
        rows = _alpaca(name)
        recovered = 0
        for row in rows:
            p = alpaca_eval_p_second(row["raw_completion"])
            if p is None:  # a few annotations have no completion (and no usable preference)
                continue
            pref = float(row["preference"])
            straight, switched = abs(pref - (1 + p)), abs(pref - (2 - p))
            assert min(straight, switched) < 1e-6, (name, row["instruction"][:60], pref, p)
            if abs(p - 0.5) > 1e-3:  # at 0.5 both orientations give the same preference
                orientation.setdefault(row["instruction"], set()).add(straight < switched)
            recovered += 1
        assert recovered >= len(rows) - 5
    assert len(orientation) > 800
    assert [i for i, seen in orientation.items() if len(seen) > 1] == []
