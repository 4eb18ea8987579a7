"""Conversations: MT-Bench's files and chat ``messages`` import turn by turn, with located
errors; the pair for turn t reads each system's own earlier answers."""

from __future__ import annotations

import itertools
import json

import pytest
from sqlmodel import select

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.conversation_view import blind_history
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.conversation import pair_histories
from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.models import Assignment, Output, Pair, Prompt, System
from tests.conversation_helpers import (
    QUESTIONS,
    answers_jsonl,
    mt_bench_study,
    questions_jsonl,
)


def jsonl(*rows: dict) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_mt_bench_files_import_into_a_two_turn_study(session):
    study, report = mt_bench_study(session)
    assert [f for _, f in report.files] == ["mt_bench", "mt_bench"]
    assert (report.systems_added, report.prompts_added, report.outputs_added) == (2, 4, 8)
    assert report.pairs_added == 4  # one pair per question and turn
    prompts = {p.external_id: p for p in session.exec(select(Prompt))}
    assert sorted(prompts) == ["101#1", "101#2", "81#1", "81#2"]
    second = prompts["81#2"]
    assert (second.conversation, second.turn, second.category) == ("81", 2, "writing")
    assert second.text == QUESTIONS[0]["turns"][1]
    # MT-Bench's per-turn reference becomes each turn's reference answer.
    assert prompts["101#1"].reference == "You are in second place."
    assert prompts["101#2"].reference == "Uncertain."
    assert prompts["81#1"].reference is None
    # The study records the turn of every pair.
    turns = sorted(session.get(Prompt, p.prompt_id).turn for p in session.exec(select(Pair)))
    assert turns == [1, 1, 2, 2]
    # Each output is one system's answer at one turn.
    beta = session.exec(select(System).where(System.name == "beta-13b")).one()
    out = session.exec(
        select(Output).where(Output.system_id == beta.id, Output.prompt_id == prompts["101#2"].id)
    ).one()
    assert out.text == "BETA-T2-101: last place."


def test_reimport_changes_nothing(session):
    study, _ = mt_bench_study(session)
    again = import_sources(
        session,
        study=study,
        sources=[("alpha-7b.jsonl", answers_jsonl("alpha-7b"))],
        prompts=[("question.jsonl", questions_jsonl())],
    )
    assert (again.prompts_added, again.outputs_added, again.pairs_added) == (0, 0, 0)
    assert again.unchanged == 4


def test_reference_answers_file_fills_references(session):
    study = create_study(session, name="refs", seed=0)
    ref = answers_jsonl("alpha-7b", [["Waves (ref)", "Always (ref)"]])
    import_sources(
        session,
        study=study,
        sources=[(f"{m}.jsonl", answers_jsonl(m)) for m in ("alpha-7b", "beta-13b")],
        prompts=[("question.jsonl", questions_jsonl())],
        references=[("reference_answer/gpt-4.jsonl", ref)],
    )
    refs = {p.external_id: p.reference for p in session.exec(select(Prompt))}
    assert refs["81#1"] == "Waves (ref)" and refs["81#2"] == "Always (ref)"
    assert refs["101#2"] == "Uncertain."  # the question's own reference stands


def test_chat_messages_import_without_a_prompts_file(session):
    study = create_study(session, name="chat", seed=0)

    def convo(system: str, a1: str, a2: str) -> dict:
        return {
            "prompt_id": "c1",
            "system": system,
            "messages": [
                {"role": "system", "content": "You are terse."},
                {"role": "user", "content": "Name a prime."},
                {"role": "assistant", "content": a1},
                {"role": "user", "content": [{"type": "text", "text": "Another?"}]},
                {"role": "assistant", "content": a2},
            ],
        }

    report = import_sources(
        session,
        study=study,
        sources=[("chat.jsonl", jsonl(convo("x", "2", "3"), convo("y", "5", "7")))],
    )
    assert report.files == [("chat.jsonl", "messages")] and report.pairs_added == 2
    second = session.exec(select(Prompt).where(Prompt.external_id == "c1#2")).one()
    assert (second.text, second.turn, second.system_message) == ("Another?", 2, "You are terse.")


def test_single_turn_files_import_as_before(session):
    study = create_study(session, name="single", seed=0)
    rows = [{"prompt_id": "p1", "prompt": "hi", "system": s, "output": s} for s in "xy"]
    report = import_sources(session, study=study, sources=[("o.jsonl", jsonl(*rows))])
    assert report.files == [("o.jsonl", "long")] and report.pairs_added == 1
    prompt = session.exec(select(Prompt)).one()
    assert (prompt.external_id, prompt.conversation, prompt.turn) == ("p1", None, None)


_N = itertools.count()


def _import_error(session, sources, prompts=()) -> FileInputError:
    study = create_study(session, name=f"bad-{next(_N)}", seed=0)
    with pytest.raises(FileInputError) as info:
        import_sources(session, study=study, sources=sources, prompts=prompts)
    assert session.exec(select(Prompt)).all() == []  # nothing half-written
    return info.value


def test_a_turn_count_that_differs_is_located(session):
    short = answers_jsonl("beta-13b", [["only one turn"], ["a", "b"]])
    exc = _import_error(
        session,
        [("alpha-7b.jsonl", answers_jsonl("alpha-7b")), ("beta-13b.jsonl", short)],
        [("question.jsonl", questions_jsonl())],
    )
    assert (exc.file, exc.line, exc.column) == ("beta-13b.jsonl", 1, "choices[0].turns")
    assert "answers 1 turn(s) of conversation '81', which has 2" in exc.message


def test_messages_answers_that_differ_in_turns_are_located(session):
    def convo(system: str, n: int) -> dict:
        msgs = []
        for i in range(n):
            msgs += [{"role": "user", "content": f"q{i}"}, {"role": "assistant", "content": "a"}]
        return {"prompt_id": "c", "system": system, "messages": msgs}

    exc = _import_error(session, [("c.jsonl", jsonl(convo("x", 2), convo("y", 1)))])
    assert exc.line == 2 and "1 user turn(s) here but 2" in exc.message


def test_a_role_out_of_order_is_located(session):
    row = {
        "prompt_id": "c",
        "system": "x",
        "messages": [
            {"role": "user", "content": "q"},
            {"role": "user", "content": "q again"},
            {"role": "assistant", "content": "a"},
        ],
    }
    exc = _import_error(session, [("c.jsonl", jsonl(row))])
    assert (exc.line, exc.column) == (1, "messages[1]")
    assert "role 'user' out of order at message 2: expected a assistant" in exc.message


def test_an_empty_conversation_is_located(session):
    empty = dict(QUESTIONS[0], turns=[])
    exc = _import_error(
        session,
        [("alpha-7b.jsonl", answers_jsonl("alpha-7b"))],
        [("question.jsonl", questions_jsonl([empty, QUESTIONS[1]]))],
    )
    assert (exc.file, exc.line, exc.column) == ("question.jsonl", 1, "turns")
    assert "empty" in exc.message
    exc = _import_error(
        session, [("c.jsonl", jsonl({"prompt_id": "c", "system": "x", "messages": []}))]
    )
    assert "no user turn" in exc.message


def test_mt_bench_answers_need_their_questions(session):
    exc = _import_error(session, [("alpha-7b.jsonl", answers_jsonl("alpha-7b"))])
    assert exc.line == 1 and "pass question.jsonl with --prompts" in exc.message


def test_a_question_file_passed_as_answers_says_so(session):
    exc = _import_error(session, [("question.jsonl", questions_jsonl())])
    assert "pass the file with --prompts" in exc.message


def test_an_assistant_turn_in_a_prompt_is_refused(session):
    prompt = {
        "prompt_id": "81",
        "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
    }
    exc = _import_error(
        session,
        [("alpha-7b.jsonl", answers_jsonl("alpha-7b"))],
        [("prompts.jsonl", jsonl(prompt))],
    )
    assert (exc.file, exc.column) == ("prompts.jsonl", "messages[1]")


def test_reference_per_turn_must_match_the_turns(session):
    bad = dict(QUESTIONS[1], reference=["only one"])
    exc = _import_error(
        session,
        [("alpha-7b.jsonl", answers_jsonl("alpha-7b"))],
        [("question.jsonl", questions_jsonl([QUESTIONS[0], bad]))],
    )
    assert (exc.line, exc.column) == (2, "reference")


def test_the_turn_two_pair_holds_each_systems_own_history(session):
    study, _ = mt_bench_study(session)
    histories = pair_histories(session, study_id=study.id)
    assert len(histories) == 4  # every pair is a conversation turn
    by_key = {(h.conversation, h.turn): (pair_id, h) for pair_id, h in histories.items()}
    pair_id, second = by_key[("101", 2)]
    pair = session.get(Pair, pair_id)
    name_a = session.get(System, session.get(Output, pair.output_a_id).system_id).name
    own = {"alpha-7b": "Second place: ALPHA-T1-101.", "beta-13b": "First place: BETA-T1-101."}
    [turn1] = second.earlier
    assert turn1.user == QUESTIONS[1]["turns"][0]
    assert turn1.a == own[name_a] and turn1.b == own[({*own} - {name_a}).pop()]
    assert (second.turn, second.turns, by_key[("101", 1)][1].earlier) == (2, 2, ())
    messages = second.messages("b", "And if it was the last person?")
    assert [m["role"] for m in messages] == ["user", "assistant", "user"]
    assert messages[1]["content"] == turn1.b


def test_the_blind_history_follows_the_shown_sides(session):
    study, _ = mt_bench_study(session)
    user = create_user(session, username="ann", password="a-long-password-1")
    histories = pair_histories(session, study_id=study.id)
    pair_id = next(p for p, h in histories.items() if h.turn == 2)
    [turn1] = histories[pair_id].earlier
    for swapped in (False, True):
        assignment = Assignment(
            study_id=study.id, pair_id=pair_id, user_id=user.id, swapped=swapped
        )
        [shown] = blind_history(session, assignment).earlier
        assert (shown.left, shown.right) == ((turn1.b, turn1.a) if swapped else (turn1.a, turn1.b))


def test_another_systems_answers_import_later_without_the_prompts(session):
    study, _ = mt_bench_study(session)
    gamma = [["G1 poem", "G2 poem"], ["G1 race", "G2 race"]]
    report = import_sources(
        session, study=study, sources=[("gamma.jsonl", answers_jsonl("gamma", gamma))]
    )
    assert (report.systems_added, report.prompts_added, report.outputs_added) == (1, 0, 4)
    assert report.pairs_added == 8  # gamma against each of the two, at each turn
    short = answers_jsonl("delta", [["only one"]])
    with pytest.raises(FileInputError, match=r"which has 2 \(in study 'mt'\)"):
        import_sources(session, study=study, sources=[("delta.jsonl", short)])
