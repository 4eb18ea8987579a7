"""Graded preference: a direction (``a`` | ``b`` | ``tie``) and, for a decisive vote on five
levels, a strength (2 = "much better", 1 = "better").

The direction is what every established statistic reads (win rates, kappas, the DPO export),
so a study rated on five levels answers them exactly as one rated on three; the strength is
kept beside it (``Rating.strength``, ``JudgeVerdict.strength``) for the figures that use the
grade: the ordinal alpha on five levels and the arena-hard-style strong-weighted win rate.

The five levels are written as arena-hard writes them: ``A>>B``, ``A>B``, ``A=B``, ``B>A``,
``B>>A`` (A and B the two sides in the order they are named). ``grade`` puts a canonical
vote on one ordinal scale, from +2 (output_a much better) to −2 (output_b much better):

>>> [grade("a", 2), grade("a", 1), grade("tie", None), grade("b", None), grade("b", 2)]
[2, 1, 0, -1, -2]
>>> parse_label("B>>A"), parse_label("a=b"), parse_label("A<B")
(('b', 2), ('tie', None), ('b', 1))
"""

from __future__ import annotations

import re

from sidebyside.foundation.enums import Preference
from sidebyside.foundation.errors import AssignmentError

#: The study settings: three buttons or five.
LEVELS = (3, 5)
#: Strength of a strong ("much better") and a plain ("better") decisive vote.
STRONG, PLAIN = 2, 1
#: The five labels, from "A much better" to "B much better".
LABELS = ("A>>B", "A>B", "A=B", "B>A", "B>>A")

_LABEL = re.compile(r"^\s*([AB])\s*(>>|<<|>|<|=)\s*([AB])\s*$", re.IGNORECASE)


def parse_label(text: str) -> tuple[str, int | None] | None:
    """(direction, strength) of an arena-hard label in the order it names the sides
    (``A>>B`` ─► ("a", 2), ``B<A`` ─► ("a", 1), ``A=B`` ─► ("tie", None)); None when the text
    is not such a label."""
    m = _LABEL.match(text or "")
    if m is None:
        return None
    left, op, right = m.group(1).upper(), m.group(2), m.group(3).upper()
    if left == right:
        return None
    if op == "=":
        return Preference.TIE.value, None
    winner = left if op in (">", ">>") else right
    return winner.lower(), STRONG if len(op) == 2 else PLAIN


def label(direction: str, strength: int | None) -> str:
    """The arena-hard label of a vote (``a``, 2 ─► ``A>>B``); an ungraded vote gets the
    plain one."""
    if direction == Preference.TIE:
        return "A=B"
    op = ">>" if strength == STRONG else ">"
    return f"A{op}B" if direction == Preference.A else f"B{op}A"


def grade(direction: str, strength: int | None) -> int:
    """The vote on one ordinal scale: +2 output_a much better .. −2 output_b much better
    (an ungraded decisive vote counts as plain)."""
    if direction == Preference.TIE:
        return 0
    size = STRONG if strength == STRONG else PLAIN
    return size if direction == Preference.A else -size


def flip(direction: str) -> str:
    """The same vote with the sides named the other way round."""
    return {"a": "b", "b": "a"}.get(direction, direction)


def checked_strength(levels: int, direction: str, strength: int | None) -> int | None:
    """The strength to store for a vote in a study of ``levels`` levels: a decisive vote on
    five levels needs 1 or 2, a tie and every vote on three levels carry none."""
    if levels == 3:
        if strength is not None:
            raise AssignmentError(
                "this study rates on three levels (A / tie / B): a vote has no strength"
            )
        return None
    if direction == Preference.TIE:
        if strength is not None:
            raise AssignmentError("a tie has no strength")
        return None
    if strength not in (PLAIN, STRONG):
        raise AssignmentError(
            "this study rates on five levels: say whether the response is better (1) or "
            f"much better (2), got {strength!r}"
        )
    return strength
