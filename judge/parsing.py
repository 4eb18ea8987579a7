"""Judge completion text -> verdict. An answer that cannot be parsed is its own outcome
(:class:`Parsed` with ``ok=False`` and the reason), never a made-up vote.

One tolerant pass only: code fences, text before or after the JSON object, key and value case.

>>> parse_pairwise('```json\\n{"reasoning": "B is right.", "Winner": "b"}\\n```').winner
'B'
>>> parse_pairwise("I prefer A.").ok
False

Winners here are as *shown* to the judge (``A`` | ``B`` | ``tie``); :func:`shown_to_canonical`
turns them into a :class:`~foundation.enums.Preference` about the pair.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from sidebyside.foundation.enums import Order, Preference

_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_WINNERS = {
    "a": "A",
    "b": "B",
    "tie": "tie",
    "response a": "A",
    "response b": "B",
    "response_a": "A",
    "response_b": "B",
}


@dataclass(frozen=True)
class Parsed:
    """Outcome of parsing one completion. ``ok`` False means *unparsed*, with ``problem``."""

    ok: bool
    winner: str | None = None  # "A" | "B" | "tie" (as shown to the judge), pairwise only
    scores: dict[str, Any] | None = None  # {"criteria": {name: int}, "overall": int}, single
    reasoning: str = ""
    problem: str | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _objects(text: str) -> list[dict[str, Any]]:
    """Every top-level JSON object found in ``text``: fenced blocks first, then the raw text."""
    candidates = [m.group(1) for m in _FENCE.finditer(text)] + [text]
    decoder = json.JSONDecoder()
    found: list[dict[str, Any]] = []
    for chunk in candidates:
        i = chunk.find("{")
        while i != -1:
            try:
                obj, end = decoder.raw_decode(chunk, i)
            except json.JSONDecodeError:
                i = chunk.find("{", i + 1)
                continue
            if isinstance(obj, dict):
                found.append(obj)
            i = chunk.find("{", end)
    return found


def _lower_keys(obj: dict[str, Any]) -> dict[str, Any]:
    return {str(k).strip().lower(): v for k, v in obj.items()}


def _reasoning(obj: dict[str, Any]) -> str:
    value = obj.get("reasoning", obj.get("explanation", ""))
    return value.strip() if isinstance(value, str) else json.dumps(value)


def parse_pairwise(text: str) -> Parsed:
    """Find ``{"winner": "A"|"B"|"tie", "reasoning": ...}`` in a completion."""
    objects = _objects(text or "")
    if not objects:
        return Parsed(ok=False, problem="no JSON object in the answer")
    for obj in objects:
        low = _lower_keys(obj)
        if "winner" not in low:
            continue
        raw = low["winner"]
        winner = _WINNERS.get(raw.strip().lower()) if isinstance(raw, str) else None
        if winner is None:
            return Parsed(ok=False, problem=f"winner must be A, B or tie, got {raw!r}", data=obj)
        return Parsed(ok=True, winner=winner, reasoning=_reasoning(low), data=obj)
    return Parsed(ok=False, problem='no "winner" key in the JSON answer', data=objects[0])


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def parse_single(text: str, *, criteria: list[str], scale: tuple[int, int]) -> Parsed:
    """Find ``{"scores": {criterion: int}, "overall": 1..10, "reasoning": ...}``. Every rubric
    criterion must be present (matched case-insensitively) and in range."""
    objects = _objects(text or "")
    if not objects:
        return Parsed(ok=False, problem="no JSON object in the answer")
    obj = next((o for o in objects if "scores" in _lower_keys(o)), objects[0])
    low = _lower_keys(obj)
    raw_scores = low.get("scores")
    if not isinstance(raw_scores, dict):
        return Parsed(ok=False, problem='no "scores" object in the JSON answer', data=obj)
    given = _lower_keys(raw_scores)
    lo, hi = scale
    scores: dict[str, int] = {}
    for name in criteria:
        value = _as_int(given.get(name.strip().lower()))
        if value is None or not lo <= value <= hi:
            got = given.get(name.strip().lower(), "nothing")
            return Parsed(
                ok=False,
                problem=f"score of {name!r} must be an integer {lo}-{hi}, got {got!r}",
                data=obj,
            )
        scores[name] = value
    overall = _as_int(low.get("overall"))
    if overall is None or not 1 <= overall <= 10:
        return Parsed(
            ok=False,
            problem=f"overall must be an integer 1-10, got {low.get('overall', 'nothing')!r}",
            data=obj,
        )
    return Parsed(
        ok=True,
        scores={"criteria": scores, "overall": overall},
        reasoning=_reasoning(low),
        data=obj,
    )


def shown_to_canonical(shown: str, order: str) -> Preference:
    """Map what the judge said (A | B | tie) to the pair's canonical side (a | b | tie).

    Order "ab" shows output_a as Response A; order "ba" shows output_b as Response A.

    >>> shown_to_canonical("A", "ba")
    <Preference.B: 'b'>
    """
    if shown == Preference.TIE:  # a tie is a tie whichever order was shown
        return Preference.TIE
    if order not in (Order.AB, Order.BA) or shown not in ("A", "B"):
        raise ValueError(f"cannot map shown winner {shown!r} in order {order!r}")
    first_is_a = order == Order.AB
    return Preference.A if (shown == "A") == first_is_a else Preference.B
