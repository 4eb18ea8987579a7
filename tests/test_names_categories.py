"""Clean names for categories and criteria too (issue 22): a category that differs from another
only by case ("Coding" / "coding") is refused with its file, line and field, in one file, across
files and against the study, by every path a category comes in (long/pairs imports, MT-Bench
and chat conversations, arena-hard's question files, generate's prompt files); twin criteria
are refused with both places. Nothing is half-written."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.models import Prompt
from sidebyside.foundation.rubric import Rubric
from sidebyside.generate.prompts import parse_prompts
from tests.conversation_helpers import QUESTIONS, answers_jsonl, questions_jsonl

HEAD = "prompt_id,prompt,system,output,category\n"


def _rows(*cats: str) -> bytes:
    return (HEAD + "".join(f"p{i},Q{i}?,base,x,{c}\np{i},Q{i}?,tuned,y,{c}\n"
                           for i, c in enumerate(cats))).encode()  # fmt: skip


def _refused(session, study, sources, **kw) -> FileInputError:
    before = len(session.exec(select(Prompt)).all())
    with pytest.raises(FileInputError) as info:
        import_sources(session, study=study, sources=sources, **kw)
    assert len(session.exec(select(Prompt)).all()) == before  # nothing half-written
    return info.value


def test_case_twin_categories_in_one_file_are_refused_with_their_line(session):
    study = create_study(session, name="cats", seed=0)
    exc = _refused(session, study, [("o.csv", _rows("Coding", "Writing", "coding"))])
    assert str(exc).startswith("o.csv, line 6, column category: category 'coding' differs from")
    assert "'Coding' only by case" in str(exc)


def test_case_twin_categories_across_files_and_against_the_study(session):
    study = create_study(session, name="cats", seed=0)
    import_sources(session, study=study, sources=[("a.csv", _rows("Coding"))])
    later = (HEAD + "q1,Other?,base,x,CODING\nq1,Other?,tuned,y,CODING\n").encode()
    exc = _refused(session, study, [("b.csv", later)])
    assert "b.csv, line 2, column category: category 'CODING'" in str(exc)
    assert "'Coding' only by case" in str(exc)
    # The same name, or a new one, still imports; NFC forms are one name.
    same = (HEAD + "q2,Q?,base,x,Coding\nq3,R?,tuned,y,Cafe\u0301\n").encode()
    import_sources(session, study=study, sources=[("c.csv", same)])
    cats = {p.category for p in session.exec(select(Prompt))}
    assert cats == {"Coding", "Café"}
    pairs = "prompt_id,prompt,system_a,output_a,system_b,output_b,category\n"
    pairs += "r1,R?,base,x,tuned,y,café\n"
    exc = _refused(session, study, [("p.csv", pairs.encode())])
    assert "p.csv, line 2, column category: category 'café'" in str(exc)


def test_conversation_categories_are_clean_and_case_twins_refused(session):
    study = create_study(session, name="mt", seed=0)
    twins = [QUESTIONS[0], {**QUESTIONS[1], "category": "Writing"}]
    answers = [
        ("alpha.jsonl", answers_jsonl("alpha-7b")),
        ("beta.jsonl", answers_jsonl("beta-13b")),
    ]
    exc = _refused(session, study, answers, prompts=[("question.jsonl", questions_jsonl(twins))])
    assert "question.jsonl, line 2, column category: category 'Writing' differs" in str(exc)
    bad = [QUESTIONS[0], {**QUESTIONS[1], "category": "reason\u202eing"}]
    exc = _refused(session, study, answers, prompts=[("question.jsonl", questions_jsonl(bad))])
    assert "question.jsonl, line 2, column category: category" in str(exc)
    assert "U+202E" in str(exc)
    zwsp = answers_jsonl("beta-13b").replace(b'"beta-13b"', b'"beta-13b\\u200b"')
    exc = _refused(
        session, study, [answers[0], ("beta.jsonl", zwsp)],
        prompts=[("question.jsonl", questions_jsonl())],
    )  # fmt: skip
    assert "beta.jsonl, line 1, column model_id: system name" in str(exc)
    assert "U+200B" in str(exc)


def test_chat_messages_category_against_the_study(session):
    study = create_study(session, name="chat", seed=0)

    def convo(system: str, category: str) -> bytes:
        messages = [{"role": "user", "content": "Hi?"}, {"role": "assistant", "content": system}]
        row = {"prompt_id": "c1", "system": system, "messages": messages, "category": category}
        return (json.dumps(row) + "\n").encode()

    import_sources(session, study=study, sources=[("a.csv", _rows("Math"))])
    exc = _refused(session, study, [("m.jsonl", convo("base", "math"))])
    assert "m.jsonl, line 1, column category: category 'math'" in str(exc)


def _arena_question(qid: str, category: str) -> dict:
    return {"question_id": qid, "category": category, "turns": [{"content": f"Q {qid}?"}]}


def _arena_answer(qid: str, model: str) -> dict:
    turns = [{"content": f"{model} on {qid}"}]
    return {"question_id": qid, "answer_id": f"{model}{qid}", "model_id": model,
            "choices": [{"index": 0, "turns": turns}], "tstamp": 1.0}  # fmt: skip


def _jsonl(rows: list[dict]) -> bytes:
    return "".join(json.dumps(r) + "\n" for r in rows).encode()


def test_arena_hard_question_categories_are_located_in_the_question_file(session):
    study = create_study(session, name="arena", seed=0)
    answers = [
        (f"{m}.jsonl", _jsonl([_arena_answer(q, m) for q in ("q1", "q2")])) for m in ("m1", "m2")
    ]
    twins = _jsonl([_arena_question("q1", "coding"), _arena_question("q2", "Coding")])
    exc = _refused(session, study, [("question.jsonl", twins), *answers])
    assert "question.jsonl, line 2, column category: category 'Coding' differs" in str(exc)
    esc = _jsonl([_arena_question("q1", "coding\x1b[31m"), _arena_question("q2", "x")])
    exc = _refused(session, study, [("question.jsonl", esc), *answers])
    assert "question.jsonl, line 1, column category: category" in str(exc)
    good = _jsonl([_arena_question("q1", "coding"), _arena_question("q2", "math")])
    import_sources(session, study=study, sources=[("question.jsonl", good), *answers])
    assert {p.category for p in session.exec(select(Prompt))} == {"coding", "math"}


def test_generate_prompt_files_refuse_bad_and_twin_categories():
    rows = "prompt_id,prompt,category\np1,Hi?,Coding\np2,Ho?,coding\n"
    with pytest.raises(FileInputError, match=r"p.csv, line 3, column category: category 'coding'"):
        parse_prompts("p.csv", rows.encode())
    with pytest.raises(FileInputError, match=r"line 2, column category: .*U\+200B"):
        parse_prompts("p.csv", "prompt_id,prompt,category\np1,Hi?,Cod\u200bing\n".encode())
    items = parse_prompts("p.csv", "prompt_id,prompt,category\np1,Hi?,Cafe\u0301\n".encode())
    assert items[0].category == "Café"


def test_twin_criteria_are_refused_with_both_places(tmp_path):
    path = tmp_path / "rubric.json"
    criteria = [{"name": "Coding"}, {"name": "Style"}, {"name": "coding"}]
    path.write_text(json.dumps({"criteria": criteria}))
    with pytest.raises(InputError) as info:
        Rubric.from_file(path)
    message = str(info.value)
    assert "rubric.json: not a valid rubric:" in message
    assert "criteria.0.name 'Coding' and criteria.2.name 'coding': differs only by case" in message
