"""The verdict frame's columns, declared once.

Every reader of the tidy verdicts frame (``analysis.verdicts.load_verdicts``) names its columns
through this module — ``df[col.SYSTEM_A]``, never ``df["system_a"]`` — so a renamed column is
one edit and a typo is an ``AttributeError`` (and a type checker's error) instead of a
``KeyError`` deep in a statistic. Plain ``Final`` string constants rather than an enum or a
schema library: they are what pandas indexes with, they cost nothing at run time, and the
frame stays an ordinary DataFrame for the statistics.

Columns a user names: a rubric criterion's scores are ``crit:<criterion>:a`` and
``crit:<criterion>:b`` (``score_column``). The fixed columns never contain ``:`` and never
start with ``crit:``, so no criterion name (``system``, ``len``, ``preference``, ``a:b``…)
can collide with one, and two criteria never share a column. Style features merged onto the
verdicts get their own namespace the same way (``style_column``).

Flat files (CSV/JSONL/Parquet exports, ``import-ratings``) keep the readable
``<criterion>_a`` / ``<criterion>_b`` names (``flat_score_column``): only a criterion whose
flat name would be a fixed column (``system_a``, ``len_b``…, which the exports share) falls
back to the namespaced name.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

#: The two canonical sides of a pair (system_a / system_b), in column order.
SIDES: Final = ("a", "b")

# Fixed columns of the verdict frame (one row per human rating or judge verdict).
SOURCE: Final = "source"  # "human" | "judge"
JUDGE: Final = "judge"  # judge key; None for humans
MODE: Final = "mode"  # judge mode; None for humans
ANNOTATOR: Final = "annotator"  # username, or the judge key
STUDY_ID: Final = "study_id"
PAIR_ID: Final = "pair_id"
PROMPT_ID: Final = "prompt_id"  # the prompt's database id (bootstrap cluster)
PROMPT: Final = "prompt"  # the prompt's external id
SYSTEM_A: Final = "system_a"
SYSTEM_B: Final = "system_b"
PREFERENCE: Final = "preference"  # "a" | "b" | "tie", relative to system_a / system_b
WINNER: Final = "winner"  # winning system name, or "tie"
CATEGORY: Final = "category"
LEN_A: Final = "len_a"
LEN_B: Final = "len_b"
SWAPPED: Final = "swapped"
FIRST_SHOWN: Final = "first_shown"
WINNER_AB: Final = "winner_ab"
WINNER_BA: Final = "winner_ba"
INCONSISTENT: Final = "inconsistent"
PREFERENCE_SCORE: Final = "preference_score"
TIME_SPENT_S: Final = "time_spent_s"
CREATED_AT: Final = "created_at"
RECORD_ID: Final = "record_id"

#: Fixed columns before the criterion scores, in frame order.
LEAD: Final = (
    SOURCE,
    JUDGE,
    MODE,
    ANNOTATOR,
    STUDY_ID,
    PAIR_ID,
    PROMPT_ID,
    PROMPT,
    SYSTEM_A,
    SYSTEM_B,
    PREFERENCE,
    WINNER,
)
#: Fixed columns after the criterion scores, in frame order.
TAIL: Final = (
    CATEGORY,
    LEN_A,
    LEN_B,
    SWAPPED,
    FIRST_SHOWN,
    WINNER_AB,
    WINNER_BA,
    INCONSISTENT,
    PREFERENCE_SCORE,
    TIME_SPENT_S,
    CREATED_AT,
    RECORD_ID,
)
FIXED: Final = (*LEAD, *TAIL)
#: ``system_a`` / ``system_b`` by side.
SYSTEM: Final = {"a": SYSTEM_A, "b": SYSTEM_B}

# Columns of one pair (``analysis.verdicts.load_pairs``) besides those above.
OUTPUT_A_ID: Final = "output_a_id"
OUTPUT_B_ID: Final = "output_b_id"
PAIR_COLUMNS: Final = (
    PAIR_ID,
    PROMPT_ID,
    PROMPT,
    CATEGORY,
    SYSTEM_A,
    SYSTEM_B,
    LEN_A,
    LEN_B,
    OUTPUT_A_ID,
    OUTPUT_B_ID,
)

# Single-mode judge scores (``analysis.judge_scores.load_judge_scores``): long, one row per
# (judge, pair, side, criterion), so a criterion is a value there, never a column.
SIDE: Final = "side"
SYSTEM_NAME: Final = "system"
CRITERION: Final = "criterion"
SCORE: Final = "score"
JUDGE_SCORE_COLUMNS: Final = (JUDGE, PAIR_ID, SIDE, SYSTEM_NAME, CRITERION, SCORE)
#: The judge's 1–10 overall score in the judge scores' ``criterion`` column.
OVERALL: Final = "overall"

_CRIT, _STYLE = "crit:", "style:"


def score_column(criterion: str, side: str) -> str:
    """The frame column of one criterion's scores of one side.

    >>> score_column("system", "a"), score_column("a:b", "b")
    ('crit:system:a', 'crit:a:b:b')
    """
    return f"{_CRIT}{criterion}:{side}"


def score_columns(criteria: Iterable[str]) -> list[str]:
    """Every criterion's two score columns, criterion by criterion, a before b."""
    return [score_column(c, side) for c in criteria for side in SIDES]


def verdict_columns(criteria: Iterable[str]) -> list[str]:
    """The verdict frame's columns in order: lead, criterion scores, tail."""
    return [*LEAD, *score_columns(criteria), *TAIL]


def style_column(style: str, side: str) -> str:
    """The column of one style feature of one side (``analysis.style_frame.load_style``).

    >>> style_column("length", "b")
    'style:length:b'
    """
    return f"{_STYLE}{style}:{side}"


#: Names a criterion's flat column must not take: the fixed columns that end in _a / _b
#: (system_a, len_a…; the ratings export adds none), compared case-insensitively because
#: DuckDB, SQL and spreadsheets read column names without case.
_RESERVED_FLAT = frozenset(c.lower() for c in FIXED)


def flat_score_column(criterion: str, side: str) -> str:
    """A criterion's column in an exported file: ``<criterion>_<side>``, or the frame's
    namespaced name when that would be a fixed column of an exported table.

    >>> flat_score_column("Accuracy", "a"), flat_score_column("system", "a")
    ('Accuracy_a', 'crit:system:a')
    >>> flat_score_column("len", "b"), flat_score_column("preference", "a")
    ('crit:len:b', 'preference_a')
    """
    flat = f"{criterion}_{side}"
    return score_column(criterion, side) if flat.lower() in _RESERVED_FLAT else flat


def parse_score_column(column: str, criteria: Iterable[str]) -> tuple[str, str] | None:
    """(criterion, side) of a score column in a file, flat or namespaced, matching the
    criterion name case-insensitively; None when it names no criterion of ``criteria``.

    >>> parse_score_column("accuracy_b", ["Accuracy"]), parse_score_column("crit:len:a", ["len"])
    (('Accuracy', 'b'), ('len', 'a'))
    """
    by_lower = {c.lower(): c for c in criteria}
    # namespaced names end in ":a" / ":b", flat ones in "_a" / "_b": never both
    if column.startswith(_CRIT) and column[-2:-1] == ":":
        base, _, side = column[len(_CRIT) :].rpartition(":")
    else:
        base, _, side = column.rpartition("_")
    name = by_lower.get(base.lower())
    return (name, side) if side in SIDES and name is not None else None


def flat_names(criteria: Iterable[str]) -> dict[str, str]:
    """Frame score column ─► its name in an exported file, for every criterion."""
    return {score_column(c, s): flat_score_column(c, s) for c in criteria for s in SIDES}
