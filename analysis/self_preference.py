"""Self-preference: does a judge favour outputs of its own model family?

On the pairs where exactly one side's system is of the judge's family ("own vs other"), the
judge's win rate for its own family is compared with the human win rate on the same pairs (a
tie counts half, AlpacaEval's convention). A judge without bias matches the humans; a positive
``self_preference`` is how much more the judge favours its family than people do. Families are
declared by the researcher (``sidebyside families``); nothing is inferred from names.

Inputs are verdict rows of ``analysis.verdicts`` (``pair_id, system_a, system_b, preference``):
one judge's and the humans' (one row per rating).

>>> import pandas as pd
>>> judge = pd.DataFrame({"pair_id": [1, 2], "system_a": ["gpt", "gpt"],
...                       "system_b": ["llama", "llama"], "preference": ["a", "a"]})
>>> human = pd.DataFrame({"pair_id": [1, 1, 2], "system_a": ["gpt"] * 3,
...                       "system_b": ["llama"] * 3, "preference": ["a", "b", "tie"]})
>>> r = self_preference(judge, human, {"gpt": "gpt", "llama": "llama"}, "gpt")
>>> r["n_pairs"], r["judge_own_win_rate"], r["human_own_win_rate"], r["self_preference"]
(2, 1.0, 0.5, 0.5)
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.foundation.enums import Preference

#: The score of the side a; the own side b scores 1 - this.
_SCORE = {Preference.A: 1.0, Preference.B: 0.0, Preference.TIE: 0.5}


def _own_scores(rows: pd.DataFrame, own_is_a: pd.Series) -> pd.Series:
    """Per row: 1 when the own-family side won, 0 when the other did, 0.5 for a tie."""
    a = rows[col.PREFERENCE].map(_SCORE)
    return pd.Series(np.where(own_is_a, a, 1.0 - a), index=rows.index)


def _own_side(rows: pd.DataFrame, families: dict[str, str], family: str) -> pd.Series:
    """True (a is own), False (b is own) or NaN (both or neither side of the family)."""
    fa = rows[col.SYSTEM_A].map(families).eq(family)
    fb = rows[col.SYSTEM_B].map(families).eq(family)
    return fa.where(fa != fb)


def self_preference(
    judge: pd.DataFrame, human: pd.DataFrame, families: dict[str, str], family: str | None
) -> dict[str, Any] | None:
    """The judge's own-family win rate vs the humans' on the same pairs; None when the judge
    or the systems have no declared family, or no pair sets its family against another."""
    if not family or judge.empty:
        return None
    side = _own_side(judge, families, family)
    mine = judge[side.notna()].dropna(subset=[col.PREFERENCE])
    if mine.empty:
        return None
    judge_scores = _own_scores(mine, side[mine.index].astype(bool))
    out: dict[str, Any] = {
        "family": family,
        "n_pairs_judged": int(len(mine)),
        "judge_own_win_rate_all": float(judge_scores.mean()),
        "n_pairs": 0,
        "n_ratings": 0,
        "judge_own_win_rate": None,
        "human_own_win_rate": None,
        "self_preference": None,
    }
    rated = human[human[col.PAIR_ID].isin(mine[col.PAIR_ID])] if not human.empty else human
    if rated.empty:
        return out
    h_side = _own_side(rated, families, family).astype(bool)
    shared = mine[col.PAIR_ID].isin(rated[col.PAIR_ID])
    judge_rate = float(judge_scores[shared.to_numpy()].mean())
    human_rate = float(_own_scores(rated, h_side).mean())
    out.update(
        n_pairs=int(shared.sum()),
        n_ratings=int(len(rated)),
        judge_own_win_rate=judge_rate,
        human_own_win_rate=human_rate,
        self_preference=judge_rate - human_rate,
    )
    return out
