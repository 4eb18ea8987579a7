"""Figures that read the grade of a preference (``foundation.grading``), not just its
direction: Krippendorff's alpha on the five-level ordinal preference, and arena-hard's
strong-weighted win rate and Bradley–Terry ratings.

Arena-hard (``show_result.py``) counts a strong verdict (``A>>B``) ``weight`` times (3 by
default) and every other verdict once, ties as half a win, and reports each system's mean
score. ``strong_weighted_win_rates`` does the same per compared system pair: the win rate of
system_a is Σ wᵢ·sᵢ / Σ wᵢ with sᵢ = 1, ½, 0 for a win, tie and loss of system_a and
wᵢ = ``strong_weight`` for a strong verdict, else 1. The Bradley–Terry fit is the one of
``analysis.winrates`` on the weighted win matrix (a tie half to each side).

>>> votes = pd.DataFrame({"system_a": ["x", "x", "x"], "system_b": ["y", "y", "y"],
...                       "preference": ["a", "b", "tie"], "strength": [2, 1, None]})
>>> row = strong_weighted_win_rates(votes, strong_weight=3)[0]
>>> row["weighted_win_rate_a"], row["n_strong"]
(0.7, 1)

(3·1 + 1·0 + 1·½) / (3 + 1 + 1) = 0.7.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from sidebyside.analysis import agreement as ag
from sidebyside.analysis import columns as col
from sidebyside.analysis.verdicts import judge_keys
from sidebyside.analysis.winrates import ELO_BASE, ELO_SCALE, bradley_terry, system_order
from sidebyside.foundation.enums import JudgeMode, JudgmentStatus, Order, Preference, VerdictSource
from sidebyside.foundation.grading import STRONG
from sidebyside.foundation.models import JudgeVerdict, Judgment, Rating

#: The verdict frame's extra column here: 2 = strong, 1 = plain, NaN = tie or ungraded.
STRENGTH = "strength"
#: Arena-hard's weight of a strong verdict.
DEFAULT_STRONG_WEIGHT = 3
#: The five-level ordinal scale (``foundation.grading.grade``): +2 output_a much better.
GRADE_DOMAIN = (-2, -1, 0, 1, 2)


def load_strengths(session: Session, study_id: int) -> pd.DataFrame:
    """(source, record_id, strength) of every graded verdict of a study: ratings and judge
    verdicts with a strength (the verdict frame's ``record_id`` is their id)."""
    rows = [
        (VerdictSource.HUMAN.value, rid, s)
        for rid, s in session.execute(
            select(Rating.id, Rating.strength).where(
                Rating.study_id == study_id, Rating.strength.is_not(None)
            )
        )
    ] + [
        (VerdictSource.JUDGE.value, rid, s)
        for rid, s in session.execute(
            select(JudgeVerdict.id, JudgeVerdict.strength).where(
                JudgeVerdict.study_id == study_id, JudgeVerdict.strength.is_not(None)
            )
        )
    ]
    return pd.DataFrame(rows, columns=[col.SOURCE, col.RECORD_ID, STRENGTH])


#: Per-order judge answers (``load_judge_games``): the judge key, the pair, the canonical
#: preference and strength of that order.
GAME_COLUMNS = (col.JUDGE, col.PAIR_ID, col.PREFERENCE, STRENGTH)


def load_judge_games(session: Session, study_id: int, pairs: pd.DataFrame) -> pd.DataFrame:
    """Every answered order of every pairwise (or imported two-order) judge call, one row per
    order with the pair's systems: arena-hard counts each order ("game") as a battle. Judge
    keys as in the verdict frame (``verdicts.judge_keys``)."""
    rows = session.execute(
        select(Judgment.judge, Judgment.mode, Judgment.pair_id, Judgment.winner, Judgment.strength)
        .where(
            Judgment.study_id == study_id,
            Judgment.status == JudgmentStatus.OK,
            Judgment.winner.is_not(None),
            Judgment.order.in_([Order.AB, Order.BA]),
            Judgment.mode.in_([JudgeMode.PAIRWISE, JudgeMode.IMPORTED]),
        )
        .order_by(Judgment.id)
    ).all()
    modes = session.execute(
        select(JudgeVerdict.judge, JudgeVerdict.mode)
        .where(JudgeVerdict.study_id == study_id)
        .distinct()
    ).all()
    keys = judge_keys(sorted({(j, m) for j, m in modes} | {(r[0], r[1]) for r in rows}))
    df = pd.DataFrame(
        [(keys[(j, m)], pid, w, s) for j, m, pid, w, s in rows], columns=list(GAME_COLUMNS)
    )
    df[STRENGTH] = pd.to_numeric(df[STRENGTH], errors="coerce").astype(float)
    return df.merge(pairs, on=col.PAIR_ID, how="inner")


def with_strength(verdicts: pd.DataFrame, strengths: pd.DataFrame) -> pd.DataFrame:
    """The verdicts with a ``strength`` column (NaN where a verdict has none)."""
    if verdicts.empty:
        return verdicts.assign(**{STRENGTH: pd.Series(dtype=float)})
    out = verdicts.merge(strengths, on=[col.SOURCE, col.RECORD_ID], how="left")
    out.index = verdicts.index
    out[STRENGTH] = pd.to_numeric(out[STRENGTH], errors="coerce").astype(float)
    return out


def grades(votes: pd.DataFrame) -> np.ndarray:
    """Each vote on the five-level scale, +2 (output_a much better) .. −2."""
    pref = votes[col.PREFERENCE].to_numpy()
    strong = votes[STRENGTH].to_numpy(dtype=float) == STRONG if STRENGTH in votes else False
    size = np.where(strong, 2, 1)
    return np.where(pref == Preference.A, size, np.where(pref == Preference.B, -size, 0))


def ordinal_preference_alpha(
    human: pd.DataFrame, *, n_boot: int = 0, seed: int = 0, confidence: float = 0.95
) -> dict[str, Any]:
    """Krippendorff's alpha of the human preference on the five-level ordinal scale
    (units: pairs; values: ``grades``), with a bootstrap over pairs."""
    if human.empty:
        return ag.alpha_with_ci(np.zeros((0, 5)), np.array(GRADE_DOMAIN), "ordinal", n_boot=0)
    counts, domain = ag.value_counts(
        human[col.PAIR_ID], pd.Series(grades(human), index=human.index), domain=GRADE_DOMAIN
    )
    return ag.alpha_with_ci(
        counts, domain, "ordinal", n_boot=n_boot, seed=seed, confidence=confidence
    )


def _weights(votes: pd.DataFrame, strong_weight: float) -> np.ndarray:
    if strong_weight <= 0:
        raise ValueError(f"strong_weight must be positive, got {strong_weight!r}")
    strength = (
        votes[STRENGTH].to_numpy(dtype=float) if STRENGTH in votes else np.full(len(votes), 1.0)
    )
    return np.where(strength == STRONG, float(strong_weight), 1.0)


def weighted_win_matrix(
    votes: pd.DataFrame, systems: Sequence[str], strong_weight: float
) -> np.ndarray:
    """(S, S) weighted wins: [i, j] = weight won by system i against j, ties half each."""
    idx = {s: i for i, s in enumerate(systems)}
    w = _weights(votes, strong_weight)
    ia = votes[col.SYSTEM_A].map(idx).to_numpy()
    ib = votes[col.SYSTEM_B].map(idx).to_numpy()
    pref = votes[col.PREFERENCE].to_numpy()
    a_score = np.where(pref == Preference.A, 1.0, np.where(pref == Preference.B, 0.0, 0.5))
    wins = np.zeros((len(systems), len(systems)))
    np.add.at(wins, (ia, ib), w * a_score)
    np.add.at(wins, (ib, ia), w * (1.0 - a_score))
    return wins


def strong_weighted_win_rates(
    votes: pd.DataFrame,
    *,
    strong_weight: float = DEFAULT_STRONG_WEIGHT,
    systems: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """One row per compared system pair (in study order): ``system_a, system_b, n`` (votes),
    ``n_strong`` (strong decisive votes), ``weighted_win_rate_a`` (arena-hard's score of
    system_a against system_b) and ``win_rate_a`` (every vote once, ties half)."""
    if votes.empty:
        return []
    systems = system_order(votes, systems)
    wins = weighted_win_matrix(votes, systems, strong_weight)
    plain = weighted_win_matrix(votes.assign(**{STRENGTH: np.nan}), systems, 1.0)
    strong = (
        votes[STRENGTH].to_numpy(dtype=float) == STRONG
        if STRENGTH in votes
        else np.zeros(len(votes), dtype=bool)
    )
    decisive = votes[col.PREFERENCE].to_numpy() != Preference.TIE
    idx = {s: i for i, s in enumerate(systems)}
    ia = votes[col.SYSTEM_A].map(idx).to_numpy()
    ib = votes[col.SYSTEM_B].map(idx).to_numpy()
    rows = []
    for i, a in enumerate(systems):
        for j in range(i + 1, len(systems)):
            total, n = wins[i, j] + wins[j, i], plain[i, j] + plain[j, i]
            if n == 0:
                continue
            same = ((ia == i) & (ib == j)) | ((ia == j) & (ib == i))
            rows.append(
                {
                    "system_a": a,
                    "system_b": systems[j],
                    "n": int(round(n)),
                    "n_strong": int((same & strong & decisive).sum()),
                    # what ``small_samples`` counts for a win rate
                    "n_prompts": int(votes.loc[same, col.PROMPT_ID].nunique())
                    if col.PROMPT_ID in votes
                    else None,
                    "weighted_win_rate_a": float(wins[i, j] / total),
                    "win_rate_a": float(plain[i, j] / n),
                }
            )
    return rows


def strong_weighted_bradley_terry(
    votes: pd.DataFrame,
    *,
    strong_weight: float = DEFAULT_STRONG_WEIGHT,
    systems: Sequence[str] | None = None,
) -> list[dict[str, Any]] | None:
    """Bradley–Terry ratings (Elo-style, 1000 = average) of the strong-weighted win matrix,
    best first; None with fewer than two systems."""
    if votes.empty:
        return None
    systems = system_order(votes, systems)
    if len(systems) < 2:
        return None
    strength = bradley_terry(weighted_win_matrix(votes, systems, strong_weight))
    rows = [
        {"system": s, "rating": float(ELO_BASE + ELO_SCALE * strength[i])}
        for i, s in enumerate(systems)
        if np.isfinite(strength[i])
    ]
    return sorted(rows, key=lambda r: -r["rating"])


def graded_figures(
    verdicts: pd.DataFrame,
    systems: Sequence[str],
    *,
    games: pd.DataFrame | None = None,
    preference_levels: int,
    strong_weight: float = DEFAULT_STRONG_WEIGHT,
    n_boot: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> dict[str, Any]:
    """The report's graded section: the ordinal alpha of the humans and, for the humans and
    each judge, the strong-weighted win rates and Bradley–Terry ratings. ``verdicts`` must
    carry ``strength`` (``with_strength``). A judge with per-order answers (``games``,
    ``load_judge_games``) is counted per order, as arena-hard counts its two games; a judge
    with verdicts only (imported from a flat file), per verdict."""
    human = verdicts[verdicts[col.SOURCE] == VerdictSource.HUMAN]
    judges = verdicts[verdicts[col.SOURCE] == VerdictSource.JUDGE]

    def votes_of(v: pd.DataFrame, unit: str = "verdict") -> dict[str, Any]:
        return {
            "unit": unit,
            "n_graded": int(v[STRENGTH].notna().sum()),
            "win_rates": strong_weighted_win_rates(v, strong_weight=strong_weight, systems=systems),
            "bradley_terry": strong_weighted_bradley_terry(
                v, strong_weight=strong_weight, systems=systems
            ),
        }

    def _judge_votes(key: str, verdicts_of_judge: pd.DataFrame) -> dict[str, Any]:
        of_judge = games[games[col.JUDGE] == key] if games is not None else games
        if of_judge is not None and len(of_judge):
            return votes_of(of_judge, "order")
        return votes_of(verdicts_of_judge)

    return {
        "preference_levels": preference_levels,
        "strong_weight": strong_weight,
        "ordinal_alpha": ordinal_preference_alpha(
            human, n_boot=n_boot, seed=seed, confidence=confidence
        )
        if len(human)
        else None,
        "human": votes_of(human) if len(human) else None,
        "judges": {key: _judge_votes(key, g) for key, g in judges.groupby(col.JUDGE, sort=False)},
    }
