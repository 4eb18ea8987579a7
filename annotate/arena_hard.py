"""Arena-hard-auto's ``model_answer`` files (and its ``question.jsonl``), read as they are by
``sidebyside import``: each is turned into this app's long format before the import reads it,
line for line, so any later problem still names the arena-hard file and line.

* answers v0.1 (``gen_answer.py``): ``{"question_id", "answer_id", "model_id", "choices":
  [{"index": 0, "turns": [{"content": ...}]}], "tstamp"}`` — no prompt text, so the
  ``question.jsonl`` (``{"question_id", "category", "turns": [{"content": ...}]}``) must be
  imported with them;
* answers v2: ``{"uid", "ans_id", "model", "messages": [{"role": "user", "content": ...},
  {"role": "assistant", "content": {"answer": ...}}], "tstamp", "metadata"}``; its question
  file (``{"uid", "category", "prompt"}``) is optional and gives the category.

The question id becomes the prompt's ``prompt_id``, the model the system. Multi-turn answers
are refused (a pair here compares one answer each).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.names import clash, name_problem, normalise
from sidebyside.foundation.readers import decode, jsonl_records


def _turns_of(row: dict[str, Any]) -> int:
    choices = row.get("choices") or [{}]
    turns = (choices[0] or {}).get("turns") if "choices" in row else row.get("turns")
    return len(turns) if isinstance(turns, list) else 0


def _plain_turns(row: dict[str, Any]) -> bool:
    """Whether a record's turns are plain texts: FastChat's MT-Bench files (read by
    ``annotate.conversations``), whose fields arena-hard v0.1 shares but whose turns are
    ``{"content"}`` objects there."""
    turns = row.get("turns")
    choices = row.get("choices")
    if turns is None and isinstance(choices, list) and choices and isinstance(choices[0], dict):
        turns = choices[0].get("turns")
    return isinstance(turns, list) and bool(turns) and all(isinstance(t, str) for t in turns)


def _kind(row: dict[str, Any]) -> str | None:
    """ "answer", "question" or None (not an arena-hard record). MT-Bench writes the same
    v0.1 fields with plain-text turns, and two of them: those are conversations
    (``annotate.conversations``)."""
    if _plain_turns(row):
        return None
    if "choices" in row and "model_id" in row and "question_id" in row:
        return "answer" if _turns_of(row) == 1 else None
    if "messages" in row and "model" in row and "uid" in row:
        return "answer"
    ours = any(k in row for k in ("system", "system_a", "output"))  # this app's own formats
    if not ours and (
        ("question_id" in row and _turns_of(row) == 1) or ("uid" in row and "prompt" in row)
    ):
        return "question"
    return None


def _first_record(name: str, data: bytes) -> dict[str, Any] | None:
    if PurePath(name).suffix.lower() not in (".jsonl", ".ndjson"):
        return None
    for line in decode(name, data).splitlines():
        if line.strip():
            try:
                row = json.loads(line)
            except (json.JSONDecodeError, RecursionError):
                return None  # the ordinary reader reports it
            return row if isinstance(row, dict) else None
    return None


def _content(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("answer")
    return value if isinstance(value, str) else None


def _question(name: str, line: int, row: dict[str, Any]) -> tuple[str, str | None, str | None]:
    """(question id, prompt text or None, category) of a question record."""
    qid = row.get("uid", row.get("question_id"))
    if "prompt" in row:
        text = _content(row["prompt"])
    else:
        turns = row.get("turns") or []
        if len(turns) != 1:
            raise FileInputError(
                name,
                f"question {qid!r} has {len(turns)} turns: only single-turn questions can "
                "be compared here",
                line,
                "turns",
            )
        text = _content(turns[0].get("content") if isinstance(turns[0], dict) else None)
    category = row.get("category")
    if isinstance(category, str) and category.strip():
        # Checked here too, so a bad category names its question file and line.
        category = normalise(category)
        if problem := name_problem(category):
            raise FileInputError(name, f"category {category!r} {problem}", line, "category")
    return str(qid), text, category or None


def _answer(name: str, line: int, row: dict[str, Any]) -> tuple[str, str, str | None, str]:
    """(question id, model, prompt text if the record carries it, answer text)."""
    if "choices" in row:  # v0.1
        qid, model, prompt = str(row["question_id"]), str(row["model_id"]), None
        choices = row.get("choices") or []
        turns = (choices[0] or {}).get("turns") if choices else None
        if not turns or len(turns) != 1:
            n = len(turns or [])
            raise FileInputError(
                name,
                f"the answer of {model!r} to {qid!r} has {n} turns: only single-turn answers "
                "can be compared here",
                line,
                "choices",
            )
        answer = _content(turns[0].get("content"))
    else:  # v2
        qid, model = str(row["uid"]), str(row["model"])
        messages = [m for m in row.get("messages") or [] if isinstance(m, dict)]
        users = [m for m in messages if m.get("role") == "user"]
        replies = [m for m in messages if m.get("role") == "assistant"]
        if len(users) != 1 or len(replies) != 1:
            raise FileInputError(
                name,
                f"the answer of {model!r} to {qid!r} is not one user message and one "
                "assistant reply: only single-turn answers can be compared here",
                line,
                "messages",
            )
        prompt = _content(users[0].get("content"))
        answer = _content(replies[0].get("content"))
    if answer is None:
        raise FileInputError(name, f"the answer of {model!r} to {qid!r} has no text", line)
    return qid, model, prompt, answer


def to_long_format(sources: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The sources with every arena-hard answer file rewritten in the long format (same name,
    same line numbers) and its question files folded into them; other files unchanged."""
    kinds = {}
    for name, data in sources:
        row = _first_record(name, data)
        kinds[name] = _kind(row) if row else None
    if not any(kind == "answer" for kind in kinds.values()):
        if any(kinds.values()):
            name = next(n for n, k in kinds.items() if k)
            raise FileInputError(
                name, "an arena-hard question file needs its model_answer files beside it", 1
            )
        return list(sources)
    questions: dict[str, tuple[str | None, str | None]] = {}
    seen: set[str] = set()  # the question files' categories
    for name, data in sources:
        if kinds[name] == "question":
            for line, row in jsonl_records(name, decode(name, data)):
                qid, text, category = _question(name, line, row)
                if category and category not in seen and (other := clash(category, seen)):
                    raise FileInputError(
                        name,
                        f"category {category!r} differs from the category {other!r} only by "
                        "case: use the same name for the same category",
                        line,
                        "category",
                    )
                if category:
                    seen.add(category)
                questions[qid] = (text, category)
    out = []
    for name, data in sources:
        kind = kinds[name]
        if kind == "question":
            continue
        if kind != "answer":
            out.append((name, data))
            continue
        records = jsonl_records(name, decode(name, data))
        lines = [""] * (records[-1][0] if records else 0)
        for line, row in records:
            if _kind(row) != "answer":
                raise FileInputError(name, "this line is not an arena-hard answer", line)
            qid, model, prompt, answer = _answer(name, line, row)
            text, category = questions.get(qid, (None, None))
            prompt = prompt if prompt is not None else text
            if prompt is None:
                raise FileInputError(
                    name,
                    f"question {qid!r}: arena-hard v0.1 answers carry no prompt text; import "
                    "its question.jsonl in the same command",
                    line,
                )
            record = {"prompt_id": qid, "prompt": prompt, "system": model, "output": answer}
            if category:
                record["category"] = category
            lines[line - 1] = json.dumps(record, ensure_ascii=False)
        out.append((name, ("\n".join(lines) + "\n").encode("utf-8")))
    return out
