"""The prompt file of ``sidebyside generate``: JSONL/CSV/JSON with ``prompt_id``, ``prompt``
and optional ``category`` and ``reference``, read through ``foundation.readers`` so its errors
name file, line and column like ``import``'s. Each prompt becomes a chat message list (an
optional system message, then the user's prompt): engines take messages, never one string, so
multi-turn prompts fit the same interface."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.names import clash, name_problem, normalise
from sidebyside.foundation.readers import read_table

Message = dict[str, str]

#: Longest prompt id accepted (the database column's length).
MAX_ID_CHARS = 200


@dataclass(frozen=True)
class PromptItem:
    """One prompt of the file: its id, the user's text and the messages an engine gets."""

    prompt_id: str
    prompt: str
    messages: tuple[Message, ...]
    category: str | None = None
    reference: str | None = None
    line: int | None = None


def _cell(row: dict[str, Any], column: str, name: str, line: int, *, required: bool) -> str:
    value = row.get(column)
    if value is None or (isinstance(value, float) and math.isnan(value)):
        value = ""
    if isinstance(value, bool | dict | list):
        raise FileInputError(name, f"{column!r} must be text", line=line, column=column)
    text = str(value)
    if required and not text.strip():
        raise FileInputError(name, f"{column!r} is empty", line=line, column=column)
    if "\x00" in text:
        raise FileInputError(name, f"{column!r} contains a NUL character", line, column)
    return text


def _category(row: dict[str, Any], name: str, line: int, seen: dict[str, None]) -> str | None:
    """A prompt's category by the name rules (``foundation.names``), refused with its place
    when it differs from an earlier one of the file only by case."""
    category = normalise(_cell(row, "category", name, line, required=False)) or None
    if category is None:
        return None
    if problem := name_problem(category):
        raise FileInputError(name, f"category {category!r} {problem}", line, "category")
    if len(category) > 100:
        raise FileInputError(name, "a category has at most 100 characters", line, "category")
    if category not in seen and (other := clash(category, seen)):
        raise FileInputError(
            name,
            f"category {category!r} differs from the category {other!r} only by case: use "
            "the same name for the same category",
            line,
            "category",
        )
    seen[category] = None
    return category


def parse_prompts(name: str, data: bytes, *, system_prompt: str | None = None) -> list[PromptItem]:
    """Every prompt of the file, in file order; a missing column, an empty prompt or a
    duplicate ``prompt_id`` raises ``FileInputError`` naming the line (and the first one)."""
    table = read_table(name, data)
    missing = [c for c in ("prompt_id", "prompt") if c not in table.columns]
    if missing:
        raise FileInputError(
            name,
            f"missing column(s) {', '.join(missing)} (a prompt file has prompt_id, prompt and "
            "optionally category, reference)",
            line=1,
        )
    if not table.records:
        raise FileInputError(name, "no prompts in the file")
    items: list[PromptItem] = []
    first_line: dict[str, int] = {}
    categories: dict[str, None] = {}  # "Coding" and "coding" would split one category in two
    for line, row in table.records:
        pid = _cell(row, "prompt_id", name, line, required=True).strip()
        if len(pid) > MAX_ID_CHARS:
            raise FileInputError(
                name, f"'prompt_id' has at most {MAX_ID_CHARS} characters", line, "prompt_id"
            )
        if pid in first_line:
            raise FileInputError(
                name,
                f"duplicate prompt_id {pid!r} (first on line {first_line[pid]})",
                line=line,
                column="prompt_id",
            )
        first_line[pid] = line
        prompt = _cell(row, "prompt", name, line, required=True)
        category = _category(row, name, line, categories)
        reference = _cell(row, "reference", name, line, required=False) or None
        items.append(
            PromptItem(
                pid, prompt, build_messages(prompt, system_prompt), category, reference, line
            )
        )
    return items


def build_messages(prompt: str, system_prompt: str | None = None) -> tuple[Message, ...]:
    """The chat messages of one single-turn prompt.

    >>> build_messages("Hi", "Be brief.")
    ({'role': 'system', 'content': 'Be brief.'}, {'role': 'user', 'content': 'Hi'})
    """
    system = ({"role": "system", "content": system_prompt},) if system_prompt else ()
    return (*system, {"role": "user", "content": prompt})


def read_prompts(path: str | Path, *, system_prompt: str | None = None) -> list[PromptItem]:
    """``parse_prompts`` of a file on disk."""
    path = Path(path)
    if not path.is_file():
        raise FileInputError(str(path), "no such file")
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FileInputError(str(path), f"cannot read the file: {exc.strerror}") from None
    return parse_prompts(str(path), data, system_prompt=system_prompt)
