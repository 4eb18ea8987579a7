"""Blinding: which side each output is shown on, and the way back.

Pure and seeded (after alpaca_eval's RandomSwitchTwoColumnsProcessor): the side of every
pair comes from (study seed, annotator, pair ids) and is stored on the assignment, and every
vote is turned back into canonical sides before it is stored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from sqlmodel import Session

from sidebyside.foundation.enums import Preference
from sidebyside.foundation.errors import AssignmentError
from sidebyside.foundation.models import Assignment, Output, Pair, Prompt
from sidebyside.foundation.rubric import Rubric

#: A preference as the annotator gives it: A = the left response, B = the right one.
SHOWN = ("A", "B", Preference.TIE.value)


def queue_plan(seed: int, user_id: int, pair_ids: list[int]) -> list[tuple[int, bool]]:
    """The annotator's queue: (pair_id, swapped) in the order they will see them.

    Deterministic in (seed, user_id, set of pairs); exactly ``len // 2`` pairs are swapped.

    >>> plan = queue_plan(7, 1, list(range(10)))
    >>> sorted(p for p, _ in plan) == list(range(10)), sum(s for _, s in plan)
    (True, 5)
    >>> plan == queue_plan(7, 1, list(reversed(range(10))))
    True
    """
    rng = random.Random(f"sidebyside:{seed}:{user_id}")
    order = sorted(pair_ids)
    rng.shuffle(order)
    sides = [i % 2 == 1 for i in range(len(order))]
    rng.shuffle(sides)
    return list(zip(order, sides, strict=True))


@dataclass(frozen=True)
class BlindPair:
    """What an annotator's browser may receive: text only, no system, no ids."""

    prompt: str
    reference: str | None
    left: str
    right: str


def blind_view(session: Session, assignment: Assignment) -> BlindPair:
    pair = session.get(Pair, assignment.pair_id)
    prompt = session.get(Prompt, pair.prompt_id)
    out_a = session.get(Output, pair.output_a_id)
    out_b = session.get(Output, pair.output_b_id)
    left, right = (out_b, out_a) if assignment.swapped else (out_a, out_b)
    return BlindPair(
        prompt=prompt.text, reference=prompt.reference, left=left.text, right=right.text
    )


def to_canonical(shown: str, swapped: bool) -> Preference:
    """Map a preference as shown (A = left) to the pair's canonical side.

    >>> [to_canonical(s, False) for s in SHOWN] == ["a", "b", "tie"]
    True
    >>> [to_canonical(s, True) for s in SHOWN] == ["b", "a", "tie"]
    True
    """
    if shown not in SHOWN:
        raise AssignmentError(f"preference must be one of {', '.join(SHOWN)}, got {shown!r}")
    if shown == Preference.TIE:
        return Preference.TIE
    if swapped:
        return Preference.B if shown == "A" else Preference.A
    return Preference(shown.lower())


def to_shown(canonical: str, swapped: bool) -> str:
    """Inverse of ``to_canonical``: which letter the annotator pressed."""
    if canonical == Preference.TIE:
        return Preference.TIE.value
    if swapped:
        return "B" if canonical == Preference.A else "A"
    return canonical.upper()


def canonical_scores(
    rubric: Rubric, scores: dict[str, dict[str, int]], swapped: bool
) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name in rubric.names:
        given = scores.get(name)
        if not given or set(given) != {"A", "B"}:
            raise AssignmentError(f"score both responses on {name!r}")
        for side, value in given.items():
            if not isinstance(value, int) or not rubric.scale_min <= value <= rubric.scale_max:
                raise AssignmentError(
                    f"{name!r} for response {side} must be a whole number from "
                    f"{rubric.scale_min} to {rubric.scale_max}, got {value!r}"
                )
        left, right = given["A"], given["B"]
        out[name] = {"a": right, "b": left} if swapped else {"a": left, "b": right}
    unknown = set(scores) - set(rubric.names)
    if unknown:
        raise AssignmentError(f"unknown criteria: {', '.join(sorted(unknown))}")
    return out
