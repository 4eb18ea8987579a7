"""A few MT-Bench questions and answers written here, in MT-Bench's exact file formats
(FastChat's question.jsonl and model_answer/<model>.jsonl), for the conversation tests."""

from __future__ import annotations

import json

from sqlmodel import Session

from sidebyside.annotate.importing import ImportReport, import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.models import Study

QUESTIONS = [
    {
        "question_id": 81,
        "category": "writing",
        "turns": [
            "Write a two-line poem about the sea.",
            "Rewrite your previous response. Start every line with the letter A.",
        ],
    },
    {
        "question_id": 101,
        "category": "reasoning",
        "turns": [
            "You overtake the second person in a race. What is your position?",
            "And if it was the last person?",
        ],
        "reference": ["You are in second place.", "Uncertain."],
    },
]

ANSWERS = {
    "alpha-7b": [
        ["Waves fold grey on grey,\nthe tide takes the day.",
         "Always the waves fold grey,\nAnd the tide takes the day."],
        ["Second place: ALPHA-T1-101.", "ALPHA-T2-101: that cannot happen."],
    ],
    "beta-13b": [
        ["Salt wind, white foam,\nthe sea is home.",
         "A salt wind, a white foam,\nA sea that is home."],
        ["First place: BETA-T1-101.", "BETA-T2-101: last place."],
    ],
}  # fmt: skip


def questions_jsonl(questions: list[dict] = QUESTIONS) -> bytes:
    return "".join(json.dumps(q) + "\n" for q in questions).encode()


def answers_jsonl(model: str, answers: list[list[str]] | None = None) -> bytes:
    """MT-Bench's model_answer/<model>.jsonl: one line per question, choices[0].turns."""
    answers = ANSWERS[model] if answers is None else answers
    lines = [
        {
            "question_id": q["question_id"],
            "answer_id": f"ans{q['question_id']}{model}",
            "model_id": model,
            "choices": [{"index": 0, "turns": turns}],
            "tstamp": 1686286924.844282,
        }
        for q, turns in zip(QUESTIONS, answers, strict=False)
    ]
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


def mt_bench_study(
    session: Session, name: str = "mt", **study_kwargs
) -> tuple[Study, ImportReport]:
    """A two-turn study of the two questions, answered by alpha-7b and beta-13b."""
    study = create_study(session, name=name, seed=0, **study_kwargs)
    report = import_sources(
        session,
        study=study,
        sources=[(f"{m}.jsonl", answers_jsonl(m)) for m in ANSWERS],
        prompts=[("question.jsonl", questions_jsonl())],
    )
    return study, report
