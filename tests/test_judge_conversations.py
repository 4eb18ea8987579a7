"""Judges on conversations: MT-Bench's multi-turn pair setup against the loopback
OpenAI-compatible server. The turn-2 request holds turn 1 and each system's own turn-1 answer,
in both orders; cache keys cover the whole history; baselines read the last turn only."""

from __future__ import annotations

import re

import pytest
from sqlmodel import Session, select

from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import JudgeVerdict, Judgment, Output, Pair, Prompt, System
from sidebyside.judge.service import JudgeRunConfig, run_judges
from sidebyside.judge.specs import parse_spec
from sidebyside.judge.tasks import PlanOptions, build_tasks
from tests.conversation_helpers import (
    ANSWERS,
    QUESTIONS,
    answers_jsonl,
    mt_bench_study,
    questions_jsonl,
)
from tests.judge_server import LoopbackServer, verdict

_SECTION = re.compile(
    r"<\|The Start of Assistant (A|B)'s Conversation with User\|>(.*?)"
    r"<\|The End of Assistant \1's Conversation with User\|>",
    re.DOTALL,
)


def conversations(body: dict) -> dict[str, str]:
    """Assistant A's and B's conversations inside a multi-turn judge request."""
    return {m.group(1): m.group(2) for m in _SECTION.finditer(body["messages"][1]["content"])}


def owner(text: str) -> str:
    """The system whose answers (all turns of a question) a conversation shows."""
    found = {
        model
        for model, convo in ANSWERS.items()
        for turns in convo
        if all(turn in text for turn in turns)
    }
    assert len(found) == 1, text
    return found.pop()


@pytest.fixture
def server():
    with LoopbackServer(judge=lambda messages, body: verdict("A")) as s:
        yield s


def test_turn_two_requests_hold_each_systems_own_history_in_both_orders(
    engine, session: Session, server
):
    study, _ = mt_bench_study(session)
    session.commit()
    spec = f"openai:judge@{server.openai_url}"
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    assert server.count == 8  # 4 pairs x 2 orders
    multi = [r["body"] for r in server.requests if conversations(r["body"])]
    assert len(multi) == 4  # the two turn-2 pairs, each in both orders
    seen_orders = set()
    for body in multi:
        shown = conversations(body)
        a, b = owner(shown["A"]), owner(shown["B"])
        assert a != b
        seen_orders.add((a, b))
        q = next(q for q in QUESTIONS if q["turns"][1] in shown["A"])
        for side in ("A", "B"):
            text = shown[side]
            # Turn 1 (the user's), then the system's own turn-1 answer, then turn 2.
            t1 = text.index(q["turns"][0])
            own_first = ANSWERS[owner(text)][QUESTIONS.index(q)][0]
            assert t1 < text.index(own_first) < text.index(q["turns"][1])
        assert "turn 2" in body["messages"][0]["content"]  # judge the last turn
    assert seen_orders == {("alpha-7b", "beta-13b"), ("beta-13b", "alpha-7b")}
    # Turn 1 is an ordinary single-turn pair (MT-Bench judges it with its single-turn prompt).
    single = [r["body"] for r in server.requests if not conversations(r["body"])]
    assert all("<response_a>" in b["messages"][1]["content"] for b in single)
    session.expire_all()
    versions = {
        (session.get(Prompt, session.get(Pair, j.pair_id).prompt_id).turn, j.template_version)
        for j in session.exec(select(Judgment))
    }
    assert versions == {(1, "pairwise_v1"), (2, "pairwise_multiturn_v1")}
    # "A" in both orders: inconsistent, so each pair's reconciled verdict is a tie.
    verdicts = session.exec(select(JudgeVerdict)).all()
    assert len(verdicts) == 4 and all(v.inconsistent for v in verdicts)


def _tasks(session: Session, study, spec: str = "openai:gpt-4o-mini", **options):
    return build_tasks(
        session, study=study, specs=[parse_spec(spec)], options=PlanOptions(**options)
    )


def _turn(session: Session, task) -> int:
    return session.get(Prompt, session.get(Pair, task.pair_id).prompt_id).turn


def test_cache_keys_cover_the_whole_history(session: Session):
    study, _ = mt_bench_study(session)
    other = create_study(session, name="other", seed=0)
    changed = [[ANSWERS["alpha-7b"][0][0] + " (edited)", ANSWERS["alpha-7b"][0][1]],
               ANSWERS["alpha-7b"][1]]  # fmt: skip
    import_sources(
        session,
        study=other,
        sources=[
            ("alpha-7b.jsonl", answers_jsonl("alpha-7b", changed)),
            ("beta-13b.jsonl", answers_jsonl("beta-13b")),
        ],
        prompts=[("question.jsonl", questions_jsonl())],
    )

    def keys(s) -> dict[tuple[str, int], set[str]]:
        out: dict[tuple[str, int], set[str]] = {}
        for task in _tasks(session, s):
            prompt = session.get(Prompt, session.get(Pair, task.pair_id).prompt_id)
            out.setdefault((prompt.conversation, prompt.turn), set()).add(task.cache_key)
        return out

    before, after = keys(study), keys(other)
    # Only alpha's turn-1 answer to question 81 changed: turn 1 of 81 differs (its answer),
    # turn 2 of 81 differs (its history), question 101 is asked exactly as before.
    assert before[("81", 1)] != after[("81", 1)]
    assert before[("81", 2)].isdisjoint(after[("81", 2)])
    assert before[("101", 1)] == after[("101", 1)] and before[("101", 2)] == after[("101", 2)]


def test_baselines_read_the_last_turn_only(session: Session):
    study, _ = mt_bench_study(session)
    for task in _tasks(session, study, "baseline:longest"):
        pair = session.get(Pair, task.pair_id)
        a, b = (session.get(Output, i).text for i in (pair.output_a_id, pair.output_b_id))
        assert set(task.request.responses) == {a, b}  # the answers at the judged turn
        assert _turn(session, task) in (1, 2)


def test_single_mode_puts_the_scored_sides_own_history_in_the_prompt(session: Session):
    study, _ = mt_bench_study(session)
    names = {s.id: s.name for s in session.exec(select(System))}
    for task in _tasks(session, study, mode=JudgeMode.SINGLE):
        if _turn(session, task) != 2:
            continue
        user = task.request.messages[1]["content"]
        system = names[session.get(Output, task.output_id).system_id]
        mine = next(c for c in ANSWERS[system] if c[1] == task.request.responses[0])
        assert mine[0] in user  # its own turn-1 answer, and no other system's
        other = next(n for n in ANSWERS if n != system)
        assert all(t not in user for c in ANSWERS[other] for t in c)


def test_a_custom_template_without_conversations_is_refused(session: Session, tmp_path):
    study, _ = mt_bench_study(session)
    path = tmp_path / "mine.txt"
    path.write_text(
        "[system]\nJudge. $criteria $tie_rule\n[user]\n$prompt\n$response_a\n$response_b\n"
        "[reference]\n$reference\n"
    )
    with pytest.raises(InputError, match=r"\$conversation_a, \$conversation_b"):
        _tasks(session, study, template=str(path))
    path.write_text(
        "[system]\nJudge turn $turn. $criteria $tie_rule\n[user]\n$conversation_a\n---\n"
        "$conversation_b\n$reference_section\n[reference]\n$reference\n"
    )
    tasks = _tasks(session, study, template=str(path))
    first = next(t for t in tasks if _turn(session, t) == 1)
    assert "### User:" in first.request.messages[1]["content"]  # every pair, turn 1 too
