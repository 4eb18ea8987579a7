"""The runner against a loopback server that speaks the OpenAI and Anthropic wire formats:
both orders, reconciliation, cache, resume, budget, unparsed answers, retries, concurrency."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from sqlmodel import Session, select

from sidebyside.foundation.errors import ConfigError
from sidebyside.foundation.models import JudgeVerdict, Judgment
from sidebyside.judge.runner import Progress
from sidebyside.judge.service import JudgeRunConfig, run_judges, run_judges_async
from tests.judge_helpers import make_study
from tests.judge_server import (
    LoopbackServer,
    Reply,
    always_a_judge,
    longest_judge,
    malformed,
    rate_limited,
    server_error,
    timeout,
)


@pytest.fixture
def server():
    with LoopbackServer() as s:
        yield s


@pytest.fixture
def study(session: Session):
    return make_study(session, n_prompts=6)


def oa(server: LoopbackServer, model: str = "judge-model") -> str:
    return f"openai:{model}@{server.openai_url}"


def an(server: LoopbackServer, model: str = "claude-judge") -> str:
    return f"anthropic:{model}@{server.anthropic_url}"


def config(*judges: str, **kw) -> JudgeRunConfig:
    return JudgeRunConfig(judges=list(judges), backoff_base=0.01, **kw)


def rows(session: Session, judge: str) -> list[Judgment]:
    session.expire_all()
    return list(session.exec(select(Judgment).where(Judgment.judge == judge)))


def verdicts(session: Session, judge: str) -> list[JudgeVerdict]:
    session.expire_all()
    return list(session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == judge)))


def test_both_orders_are_judged_stored_and_reconciled(engine, session, study, server):
    spec = oa(server)
    summary = run_judges(engine, study.name, config(spec))
    judged = rows(session, spec)
    assert len(judged) == 12 and server.count == 12
    by_order = {o: [j for j in judged if j.order == o] for o in ("ab", "ba")}
    # "tuned" is longer and is output_b: shown as B in order ab, as A in order ba.
    assert {j.shown_winner for j in by_order["ab"]} == {"B"}
    assert {j.shown_winner for j in by_order["ba"]} == {"A"}
    assert {j.winner for j in judged} == {"b"}
    assert all(j.status == "ok" and j.raw and j.cache_key and j.latency_s for j in judged)
    assert all(j.input_tokens and j.output_tokens for j in judged)
    assert all(j.cost_usd is None for j in judged)  # a model without a price: unknown, not 0
    # Each prompt went out once with output_a (base) first and once with output_b first.
    # Requests run concurrently, so their arrival order says nothing about which order is which.
    base_first: dict[str, list[bool]] = {}
    for request in server.requests:
        content = request["body"]["messages"][1]["content"]
        question = content.split("\n")[1]
        base_first.setdefault(question, []).append(
            content.index("base says") < content.index("tuned says")
        )
    assert len(base_first) == 6
    assert all(sorted(firsts) == [False, True] for firsts in base_first.values())
    vs = verdicts(session, spec)
    assert len(vs) == 6
    assert all(v.winner == "b" and not v.inconsistent and v.winner_ab == v.winner_ba for v in vs)
    s = summary.judges[0]
    assert s.verdicts == {"b": 6} and s.inconsistent_rate == 0 and s.sent == 12
    assert s.cost is None  # unknown price


def test_always_a_judge_comes_out_inconsistent(engine, session, study, server):
    server.judge = always_a_judge
    spec = oa(server)
    summary = run_judges(engine, study.id, config(spec))
    vs = verdicts(session, spec)
    assert len(vs) == 6
    assert all(v.inconsistent and v.winner == "tie" for v in vs)
    assert all((v.winner_ab, v.winner_ba) == ("a", "b") for v in vs)
    assert summary.judges[0].inconsistent_rate == 1.0


def test_rerun_hits_the_cache_and_sends_nothing(engine, session, study, server):
    spec = oa(server)
    run_judges(engine, study.name, config(spec))
    assert server.count == 12
    before = {j.id: j.created_at for j in rows(session, spec)}
    # Timeout and concurrency are not part of the cache key.
    summary = run_judges(engine, study.name, config(spec, concurrency=3, timeout=5))
    assert server.count == 12
    assert summary.judges[0].cached == 12 and summary.judges[0].sent == 0
    assert {j.id: j.created_at for j in rows(session, spec)} == before
    # Sampling parameters are: a new temperature re-asks everything.
    run_judges(engine, study.name, config(spec, temperature=0.5))
    assert server.count == 24


async def test_killed_run_resumes_with_only_the_missing_calls(engine, session, study, server):
    server.latency = 0.02
    spec = oa(server)
    task: asyncio.Task | None = None

    def stop_midway(p: Progress) -> None:
        if p.done >= 5 and task is not None:
            task.cancel()

    task = asyncio.create_task(
        run_judges_async(engine, study.name, config(spec, concurrency=2), on_progress=stop_midway)
    )
    with pytest.raises(asyncio.CancelledError):
        await task
    stored = [j for j in rows(session, spec) if j.status == "ok"]
    assert 5 <= len(stored) < 12
    sent_first = server.count
    await run_judges_async(engine, study.name, config(spec, concurrency=2))
    assert server.count - sent_first == 12 - len(stored)
    assert len(verdicts(session, spec)) == 6


def test_budget_stops_before_exceeding(engine, session, study, server, tmp_path: Path):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"openai:judge-model": {"input": 1000.0, "output": 0.0}}))
    spec = oa(server)
    # One request is about 200-300 prompt tokens: $0.2-0.3 each at $1000 per million.
    seen: list[Progress] = []
    summary = run_judges(
        engine,
        study.name,
        config(spec, max_cost=1.5, prices_file=str(prices), concurrency=2),
        on_progress=seen.append,
    )
    s = summary.judges[0]
    assert summary.budget_stopped
    assert 0 < s.sent < 12 and s.skipped == 12 - s.sent
    assert summary.cost <= 1.5 and s.cost == pytest.approx(summary.cost)
    last = seen[-1]
    assert last.budget_stopped and last.done + last.skipped == last.total == 12
    stored = rows(session, spec)
    assert len(stored) == s.sent and all(j.cost_usd and j.cost_usd > 0 for j in stored)
    assert sum(j.cost_usd for j in stored) == pytest.approx(summary.cost)
    # Without the budget, the rest (and only the rest) is sent.
    sent = server.count
    run_judges(engine, study.name, config(spec, prices_file=str(prices)))
    assert server.count - sent == 12 - s.sent


def test_budget_needs_known_prices(engine, study, server):
    with pytest.raises(ConfigError, match="--max-cost needs prices"):
        run_judges(engine, study.name, config(oa(server), max_cost=1.0))
    assert server.count == 0


def test_unparsed_answers_are_kept_but_never_vote(engine, session, study, server):
    server.judge = lambda messages, body: "Response A is clearly better, no doubt."
    spec = oa(server)
    summary = run_judges(engine, study.name, config(spec))
    judged = rows(session, spec)
    assert {j.status for j in judged} == {"unparsed"}
    assert all(j.raw.startswith("Response A") and j.winner is None for j in judged)
    assert all("no JSON object" in j.error for j in judged)
    assert verdicts(session, spec) == []
    assert summary.judges[0].unparsed == 12 and summary.judges[0].n_verdicts == 0
    run_judges(engine, study.name, config(spec))  # unparsed answers are cached too
    assert server.count == 12


def test_one_unparsed_order_leaves_the_pair_without_verdict(engine, session, study, server):
    def judge(messages, body):
        text = messages[1]["content"]
        if "Question 0:" in text and text.index("base says") > text.index("tuned says"):
            return "```json\n{'winner': 'A'}\n```"  # single quotes: not JSON
        return always_a_judge(messages)

    server.judge = judge
    spec = oa(server)
    run_judges(engine, study.name, config(spec))
    assert len([j for j in rows(session, spec) if j.status == "unparsed"]) == 1
    assert len(verdicts(session, spec)) == 5


async def test_429_retry_after_is_honoured(engine, session, study, server):
    server.faults.append(rate_limited(0.3))
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await asyncio.sleep(seconds)

    spec = oa(server)
    summary = await run_judges_async(engine, study.name, config(spec, concurrency=1), sleep=sleep)
    assert server.count == 13 and summary.judges[0].retries == 1
    assert 0.3 <= waits[0] <= 0.33  # what the server asked, plus at most 10% jitter
    assert server.times[1] - server.times[0] >= 0.3
    assert {j.status for j in rows(session, spec)} == {"ok"}


def test_500_and_malformed_bodies_are_retried(engine, session, study, server):
    server.faults.extend([server_error(), malformed(), Reply(status=503)])
    spec = an(server)
    summary = run_judges(engine, study.name, config(spec, concurrency=1))
    assert server.count == 15 and summary.judges[0].retries == 3
    assert {j.status for j in rows(session, spec)} == {"ok"}


def test_timeouts_are_retried(engine, session, study, server):
    # A generous timeout, so that a slow CI machine never times out an ordinary request.
    server.faults.append(timeout(4.0))
    spec = oa(server)
    summary = run_judges(engine, study.name, config(spec, concurrency=1, timeout=1.5))
    assert summary.judges[0].retries == 1 and server.count == 13
    assert {j.status for j in rows(session, spec)} == {"ok"}


def test_failures_after_retries_are_recorded_and_the_run_goes_on(engine, session, study, server):
    server.faults.extend([server_error()] * 3)
    spec = oa(server)
    summary = run_judges(engine, study.name, config(spec, concurrency=1, max_retries=2))
    judged = rows(session, spec)
    failed = [j for j in judged if j.status == "error"]
    assert len(failed) == 1 and "HTTP 500" in failed[0].error and failed[0].winner is None
    assert len([j for j in judged if j.status == "ok"]) == 11
    s = summary.judges[0]
    assert s.errors == 1 and "HTTP 500" in s.error_messages[0]
    assert len(verdicts(session, spec)) == 5
    # Errors are not cached: a rerun asks again, for that call only.
    sent = server.count
    run_judges(engine, study.name, config(spec))
    assert server.count - sent == 1 and len(verdicts(session, spec)) == 6


def test_bad_key_stops_the_judge_after_one_call(engine, session, study, server):
    server.faults.append(Reply(status=401))
    spec = oa(server)
    summary = run_judges(engine, study.name, config(spec, concurrency=1))
    s = summary.judges[0]
    assert server.count == 1 and "401" in (s.stopped or "") and s.skipped == 11


def test_concurrency_is_limited_per_provider(engine, session, server):
    study = make_study(session, n_prompts=10)
    server.latency = 0.05
    run_judges(engine, study.name, config(oa(server), concurrency=3))
    assert 2 <= server.max_in_flight <= 3
    server.reset()
    server.latency = 0.05
    run_judges(engine, study.name, config(an(server), concurrency=4, temperature=0.1))
    assert 2 <= server.max_in_flight <= 4


def test_two_judges_and_their_ensemble(engine, session, study, server):
    def judge(messages, body):  # the Anthropic judge always says A, the OpenAI one is fair
        if body["model"] == "claude-judge":
            return always_a_judge(messages)
        return longest_judge(messages)

    server.judge = judge
    fair, biased = oa(server), an(server)
    summary = run_judges(engine, study.name, config(fair, biased, "baseline:longest"))
    names = [s.judge for s in summary.judges]
    assert names == [fair, biased, "baseline:longest", "ensemble"]
    ens = verdicts(session, "ensemble")
    assert len(ens) == 6
    # fair says b, biased is inconsistent (tie): split, so the ensemble says tie. The baseline
    # is not a member.
    assert {v.winner for v in ens} == {"tie"}
    assert all("baseline" not in v.reasoning for v in ens)
    assert {v.winner for v in verdicts(session, "baseline:longest")} == {"b"}


async def test_writer_updates_a_slot_another_process_inserted(engine, session, study):
    from sidebyside.judge.parsing import parse_pairwise
    from sidebyside.judge.providers.base import Completion
    from sidebyside.judge.specs import parse_spec
    from sidebyside.judge.tasks import PlanOptions, build_tasks
    from sidebyside.judge.writer import JudgmentWriter, error_fields, result_fields

    task = build_tasks(
        session, study=study, specs=[parse_spec("baseline:longest")], options=PlanOptions()
    )[0]
    writer = JudgmentWriter(engine, {})  # planned before the other process wrote the slot
    other = JudgmentWriter(engine, {})
    await other.write([error_fields(task, "from the other process")])
    text = '{"reasoning": "r", "winner": "B"}'
    await writer.write([result_fields(task, parse_pairwise(text), Completion(text), 0.0, 0.1)])
    writer.close()
    other.close()
    stored = rows(session, "baseline:longest")
    assert len(stored) == 1 and stored[0].status == "ok" and stored[0].winner == "b"


def test_anthropic_asks_for_structured_output_and_falls_back_once(engine, session, study, server):
    spec = an(server)
    run_judges(engine, study.name, config(spec, concurrency=1))
    schema = server.requests[0]["body"]["output_config"]["format"]
    assert schema["type"] == "json_schema"
    assert schema["schema"]["properties"]["winner"]["enum"] == ["A", "B", "tie"]
    # A model without structured output: one 400, then the prompt alone asks for JSON.
    server.reset()
    server.refuse_structured = True
    summary = run_judges(engine, study.name, config(spec, concurrency=1, temperature=0.2))
    bodies = [r["body"] for r in server.requests]
    assert ["output_config" in b for b in bodies] == [True] + [False] * 12
    assert summary.judges[0].errors == 0 and summary.judges[0].retries == 0
    assert {j.status for j in rows(session, spec)} == {"ok"}


def test_anthropic_single_mode_is_not_forced_into_the_pairwise_schema(engine, study, server):
    run_judges(engine, study.name, config(an(server), mode="single", concurrency=2))
    assert all("output_config" not in r["body"] for r in server.requests)
