"""Read conversation files (MT-Bench's, OpenAI chat ``messages``) into per-turn records.

Pure parsing, no database, like ``annotate.sources``: every problem raises ``FileInputError``
naming the file, the line and the field.

Two kinds of file:

* **prompts** (``--prompts``): MT-Bench's ``question.jsonl`` as it is
  (``{"question_id", "category", "turns": [user, ...], "reference": [per turn]}``), or
  ``{"prompt_id", "messages": [{"role": "system"|"user", "content"}, ...]}``;
* **answers**: MT-Bench's ``model_answer/<model>.jsonl`` as it is
  (``{"question_id", "model_id", "choices": [{"turns": [assistant, ...]}]}``; the first choice
  is read), or ``{"prompt_id", "system", "messages": [system?, user, assistant, user, ...]}``,
  a whole conversation (then no prompts file is needed).

A conversation of T turns becomes T prompt rows (``ID#1`` ... ``ID#T``), and each system's
answer at turn t an output on row ``ID#t``: the import pairs the systems turn by turn, and the
pair for turn t reads its history (the user turns before t, each system's *own* earlier
answers, as MT-Bench does) from the rows of the lower turns.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import Any

from sidebyside.annotate.sources import Loc, OutputRecord, ParsedFile, parse_source
from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.names import clash, name_problem, normalise
from sidebyside.foundation.readers import decode, json_records, jsonl_records

__all__ = [
    "Conversation",
    "parse_answer_sources",
    "parse_prompt_sources",
    "turn_prompt_id",
]

#: Longest conversation accepted: a bound on what one record can make (rows per turn).
MAX_TURNS = 100
MAX_NAME_CHARS = 200


def turn_prompt_id(conversation: str, turn: int) -> str:
    """The prompt id of one turn of a conversation.

    >>> turn_prompt_id("81", 2)
    '81#2'
    """
    return f"{conversation}#{turn}"


@dataclass(frozen=True)
class Conversation:
    """A conversation's shared part: the system message and the user turns."""

    loc: Loc
    id: str
    turns: tuple[str, ...]
    system: str | None = None
    references: tuple[str | None, ...] = ()
    category: str | None = None

    def reference(self, turn: int) -> str | None:
        return self.references[turn - 1] if turn <= len(self.references) else None


@dataclass(frozen=True)
class _Answer:
    loc: Loc
    conversation: str
    system: str
    answers: tuple[str, ...]
    #: The conversation as the answer file gives it (a ``messages`` record), else None.
    prompt: Conversation | None
    field: str


# --- fields -----------------------------------------------------------------------------


def _text(value: Any, loc: Loc, field: str, *, required: bool) -> str:
    if value is None:
        value = ""
    if isinstance(value, list) and all(
        isinstance(p, dict) and p.get("type") == "text" for p in value
    ):  # OpenAI's content parts, text only
        value = "\n".join(str(p.get("text", "")) for p in value)
    if not isinstance(value, str):
        raise loc.error(f"expected text, got {_kind(value)} {json.dumps(value)[:60]}", field)
    if required and not value.strip():
        raise loc.error(f"{field!r} is empty", field)
    if "\x00" in value:
        raise loc.error(f"{field!r} contains a NUL character (\\u0000)", field)
    return value


def _name(value: Any, loc: Loc, field: str) -> str:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)  # MT-Bench's question_id is a number
    text = _text(value, loc, field, required=True).strip()
    if len(text) > MAX_NAME_CHARS:
        raise loc.error(f"{field!r} has at most {MAX_NAME_CHARS} characters", field)
    return text


def _kind(value: Any) -> str:
    names = {dict: "an object", list: "an array", bool: "a boolean", type(None): "null"}
    return names.get(type(value), "a number")


def _first(row: dict[str, Any], loc: Loc, *fields: str) -> tuple[str, Any]:
    for field in fields:
        if field in row:
            return field, row[field]
    raise loc.error(f"missing field {' or '.join(repr(f) for f in fields)}", fields[0])


def _string_list(value: Any, loc: Loc, field: str, *, required: bool) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise loc.error(f"{field!r} must be an array of texts, got {_kind(value)}", field)
    if not value:
        raise loc.error(f"{field!r} is empty: a conversation has at least one turn", field)
    if len(value) > MAX_TURNS:
        raise loc.error(f"{field!r} has {len(value)} turns; at most {MAX_TURNS}", field)
    return tuple(_text(v, loc, f"{field}[{i}]", required=required) for i, v in enumerate(value))


def _clean(text: str, loc: Loc, field: str, what: str) -> str:
    """A user-given name by the rules of ``foundation.names`` (NFC, nothing invisible)."""
    if problem := name_problem(text):
        raise loc.error(f"{what} {text!r} {problem}", field)
    return normalise(text)


def _category(row: dict[str, Any], loc: Loc) -> str | None:
    text = _text(row.get("category"), loc, "category", required=False).strip()
    if text:
        text = _clean(text, loc, "category", "category")
    if len(text) > 100:
        raise loc.error("a category has at most 100 characters", "category")
    return text or None


def _messages(
    value: Any, loc: Loc, *, answers: bool
) -> tuple[str | None, tuple[str, ...], tuple[str, ...]]:
    """(system message, user turns, assistant turns) of an OpenAI ``messages`` list: an
    optional system message first, then user turns, each followed by its assistant answer
    when ``answers`` (a whole conversation), or user turns only (a prompt)."""
    if not isinstance(value, list):
        raise loc.error(f"'messages' must be an array, got {_kind(value)}", "messages")
    system, users, assistants = None, [], []
    expected = "user"
    for i, message in enumerate(value):
        field = f"messages[{i}]"
        if not isinstance(message, dict) or "role" not in message or "content" not in message:
            raise loc.error("a message is an object with 'role' and 'content'", field)
        role = message["role"]
        if role == "system" and i == 0:
            system = _text(message["content"], loc, f"{field}.content", required=False) or None
            continue
        if role not in ("system", "user", "assistant"):
            raise loc.error(f"unknown role {role!r}: expected system, user or assistant", field)
        if role == "assistant" and not answers:
            raise loc.error(
                "a prompt's messages are an optional system message and the user turns; the "
                "assistants' answers go in the answer files",
                field,
            )
        allowed = {"user"} if not answers else {expected}
        if role not in allowed:
            want = "a system message only comes first" if role == "system" else f"a {expected}"
            raise loc.error(
                f"role {role!r} out of order at message {i + 1}: expected {want} "
                "(optional system, then user and assistant in turn)",
                field,
            )
        content = _text(message["content"], loc, f"{field}.content", required=role == "user")
        (users if role == "user" else assistants).append(content)
        expected = "assistant" if role == "user" else "user"
    if not users:
        raise loc.error("the conversation is empty: it has no user turn", "messages")
    if answers and len(assistants) < len(users):
        raise loc.error(
            f"user turn {len(users)} has no assistant answer: a conversation ends with the "
            "assistant's answer",
            "messages",
        )
    if len(users) > MAX_TURNS:
        raise loc.error(f"{len(users)} turns; at most {MAX_TURNS}", "messages")
    return system, tuple(users), tuple(assistants)


# --- prompts ----------------------------------------------------------------------------


def _records(name: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    text = decode(name, data)
    suffix = PurePath(name).suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return jsonl_records(name, text)
    if suffix == ".json":
        return json_records(name, text, expected="conversation objects")
    raise FileInputError(
        name, f"unknown file type {suffix or '(none)'!r}: conversations are .jsonl or .json"
    )


def _prompt(row: dict[str, Any], loc: Loc) -> Conversation:
    _, raw_id = _first(row, loc, "question_id", "prompt_id")
    cid = _name(raw_id, loc, "question_id" if "question_id" in row else "prompt_id")
    if "messages" in row:
        system, turns, _ = _messages(row["messages"], loc, answers=False)
    else:
        _, value = _first(row, loc, "turns", "messages")
        system, turns = None, _string_list(value, loc, "turns", required=True)
    refs: tuple[str | None, ...] = ()
    if row.get("reference") is not None:
        value = row["reference"]
        if isinstance(value, str) and len(turns) == 1:
            value = [value]
        if not isinstance(value, list) or len(value) != len(turns):
            raise loc.error(
                f"'reference' must be an array of one text per turn ({len(turns)}), as in "
                "MT-Bench's question.jsonl",
                "reference",
            )
        refs = tuple(
            _text(v, loc, f"reference[{i}]", required=False) or None for i, v in enumerate(value)
        )
    return Conversation(loc, cid, turns, system, refs, _category(row, loc))


def parse_prompt_sources(sources: Sequence[tuple[str, bytes]]) -> dict[str, Conversation]:
    """The conversations of prompt files (MT-Bench's question.jsonl, or ``messages``), by id."""
    found: dict[str, Conversation] = {}
    categories: dict[str, None] = {}
    for name, data in sources:
        records = _records(name, data)
        if not records:
            raise FileInputError(name, "the file has no questions", line=1)
        for line, row in records:
            conv = _prompt(row, Loc(name, line))
            cat = conv.category
            if cat and cat not in categories and (other := clash(cat, categories)):
                raise conv.loc.error(
                    f"category {cat!r} differs from the category {other!r} only by case: "
                    "use the same name for the same category",
                    "category",
                )
            if cat:
                categories[cat] = None
            if conv.id in found:
                first = found[conv.id]
                raise conv.loc.error(
                    f"question {conv.id!r} is already defined in {first.loc.file} "
                    f"(line {first.loc.line})",
                    "question_id",
                )
            found[conv.id] = conv
    return found


# --- answers ----------------------------------------------------------------------------


def is_conversation_file(name: str, data: bytes) -> bool:
    """Whether an import file holds conversations (MT-Bench answers or chat ``messages``)
    rather than the long/pairs/alpaca_eval formats, judged by its first record's fields."""
    if PurePath(name).suffix.lower() not in (".jsonl", ".ndjson", ".json"):
        return False
    try:
        records = _records(name, data)
    except FileInputError:
        return False  # the ordinary parser reports the file's problem
    if not records:
        return False
    first = records[0][1]
    return any(key in first for key in ("choices", "messages", "turns"))


def _answer(row: dict[str, Any], loc: Loc) -> _Answer:
    if "turns" in row and "choices" not in row and "messages" not in row:
        raise loc.error(
            "this is a prompt (question) record, not an answer: pass the file with --prompts",
            "turns",
        )
    id_field, raw_id = _first(row, loc, "question_id", "prompt_id")
    cid = _name(raw_id, loc, id_field)
    sys_field, raw_sys = _first(row, loc, "model_id", "system")
    system = _clean(_name(raw_sys, loc, sys_field), loc, sys_field, "system name")
    if "choices" in row:
        choices = row["choices"]
        if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
            raise loc.error("'choices' must be a non-empty array of {turns} objects", "choices")
        if "turns" not in choices[0]:
            raise loc.error("missing field 'turns' in choices[0]", "choices[0].turns")
        answers = _string_list(choices[0]["turns"], loc, "choices[0].turns", required=False)
        return _Answer(loc, cid, system, answers, None, "choices[0].turns")
    _, value = _first(row, loc, "messages", "choices")
    sys_msg, users, assistants = _messages(value, loc, answers=True)
    prompt = Conversation(loc, cid, users, sys_msg, (), _category(row, loc))
    return _Answer(loc, cid, system, assistants, prompt, "messages")


def _where(loc: Loc) -> str:
    """A conversation's place: a file and line, or the study it was imported into earlier."""
    return loc.file if loc.line == 0 else f"{loc.file}, line {loc.line}"


def stored_conversation(
    study: str, cid: str, turns: list[tuple[str, str | None]], system: str | None, category
) -> Conversation:
    """A conversation the study already holds (its rows ``ID#1`` ...), so that answers of
    another system import later without the prompts file: ``turns`` are (user, reference)."""
    return Conversation(
        Loc(f"study {study!r}", 0),
        cid,
        tuple(user for user, _ in turns),
        system,
        tuple(ref for _, ref in turns),
        category,
    )


def _same_conversation(given: Conversation, known: Conversation, what: str) -> None:
    """Raise at ``given`` where it differs from ``known`` (turn count, a user turn, system)."""
    where = f"{what} {_where(known.loc)}"
    if len(given.turns) != len(known.turns):
        raise given.loc.error(
            f"conversation {given.id!r} has {len(given.turns)} user turn(s) here but "
            f"{len(known.turns)} in {where}",
            "messages",
        )
    for t, (mine, theirs) in enumerate(zip(given.turns, known.turns, strict=True), start=1):
        if mine != theirs:
            raise given.loc.error(
                f"conversation {given.id!r}: user turn {t} differs from the one in {where}",
                "messages",
            )
    if given.system != known.system:
        raise given.loc.error(
            f"conversation {given.id!r}: the system message differs from the one in {where}",
            "messages",
        )


def parse_answer_sources(
    sources: Sequence[tuple[str, bytes]],
    prompts: dict[str, Conversation],
    references: dict[tuple[str, int], str] | None = None,
    stored: dict[str, Conversation] | None = None,
) -> list[ParsedFile]:
    """Every import file as ``ParsedFile``: conversation files expanded turn by turn (checked
    against ``prompts`` and each other), the others through ``sources.parse_source``.

    ``references`` fills (conversation, turn) references the prompts do not give (MT-Bench's
    ``reference_answer/gpt-4.jsonl``); ``stored``: the conversations the study already holds
    (``stored_conversation``), which answers may answer without a prompts file."""
    references = references or {}
    known: dict[str, Conversation] = {**(stored or {}), **prompts}
    parsed: list[ParsedFile] = []
    for name, data in sources:
        if not is_conversation_file(name, data):
            if prompts:
                raise FileInputError(
                    name,
                    "--prompts is given but this file holds no conversations: answer files "
                    "have MT-Bench's choices[0].turns or a 'messages' list",
                )
            parsed.append(parse_source(name, data))
            continue
        seen: dict[tuple[str, str], Loc] = {}
        outputs: list[OutputRecord] = []
        fmt = "mt_bench"
        for line, row in _records(name, data):
            answer = _answer(row, Loc(name, line))
            fmt = "mt_bench" if answer.prompt is None else "messages"
            key = (answer.conversation, answer.system)
            if key in seen:
                raise answer.loc.error(
                    f"{answer.system!r} answers conversation {answer.conversation!r} twice "
                    f"(first on line {seen[key].line})",
                    "question_id",
                )
            seen[key] = answer.loc
            conv = _conversation_of(answer, known, prompts)
            if len(answer.answers) != len(conv.turns):
                raise answer.loc.error(
                    f"{answer.system!r} answers {len(answer.answers)} turn(s) of conversation "
                    f"{conv.id!r}, which has {len(conv.turns)} (in {_where(conv.loc)}); every "
                    "system answers every turn",
                    answer.field,
                )
            for t, (user, reply) in enumerate(zip(conv.turns, answer.answers, strict=True), 1):
                outputs.append(
                    OutputRecord(
                        answer.loc,
                        turn_prompt_id(conv.id, t),
                        user,
                        conv.reference(t) or references.get((conv.id, t)),
                        answer.system,
                        reply,
                        conv.category,
                        conversation=conv.id,
                        turn=t,
                        system_message=conv.system,
                    )
                )
        parsed.append(ParsedFile(name, fmt, outputs, []))
    return parsed


def _conversation_of(
    answer: _Answer, known: dict[str, Conversation], prompts: dict[str, Conversation]
) -> Conversation:
    """The conversation an answer belongs to; a ``messages`` answer must agree with the
    prompts file and with every other answer of the same conversation."""
    conv = known.get(answer.conversation)
    if answer.prompt is None:
        if conv is None:
            hint = (
                "it is not in the --prompts file(s)"
                if prompts
                else "MT-Bench answers carry no question text: pass question.jsonl with --prompts"
            )
            raise answer.loc.error(
                f"unknown question {answer.conversation!r}: {hint}", "question_id"
            )
        return conv
    if conv is None:
        known[answer.conversation] = answer.prompt
        return answer.prompt
    what = "the prompts file" if answer.conversation in prompts else "the answer in"
    _same_conversation(answer.prompt, conv, what)
    # The prompts file's references and category stand; a messages answer has neither.
    return conv


def parse_reference_sources(sources: Sequence[tuple[str, bytes]]) -> dict[tuple[str, int], str]:
    """(conversation, turn) -> reference answer, from files in MT-Bench's answer format (its
    ``reference_answer/gpt-4.jsonl``): each turn's answer there is that turn's reference."""
    refs: dict[tuple[str, int], str] = {}
    for name, data in sources:
        for line, row in _records(name, data):
            answer = _answer(row, Loc(name, line))
            for t, text in enumerate(answer.answers, start=1):
                if text.strip():
                    refs[(answer.conversation, t)] = text
    return refs
