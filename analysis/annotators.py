"""Is one annotator careless? Per-annotator figures and flags worth a look.

For each annotator: agreement with the majority of the others (leave-one-out), the share of
ties, the share of decisive votes for the response shown first (with a two-sided sign test:
someone who always clicks A stands out), the share for the longer response, and the median
seconds per pair. Flags mark what stands out against the other annotators; they are hints for
a reviewer, not verdicts, and each needs enough ratings to mean anything:

- ``low agreement``: leave-one-out agreement under 0.75 × the median annotator's (≥ 20 pairs);
- ``position bias``: the first-shown response wins with sign-test p < 0.01 (≥ 20 decisive);
- ``fast``: median seconds under a third of the median annotator's (≥ 10 timed ratings);
- ``many ties``: more than 30% ties and over twice the median annotator's tie rate (≥ 20).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis.calibration import first_position_rate, prefers_longer_rate
from sidebyside.analysis.winrates import sign_test
from sidebyside.foundation.enums import Preference

MIN_RATINGS, MIN_TIMED = 20, 10


def _median(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return float(np.median(known)) if known else None


def _per_annotator(g: pd.DataFrame) -> dict[str, Any]:
    pref = g[col.PREFERENCE]
    first_rate, n_first = first_position_rate(g)
    first_wins = round(first_rate * n_first) if n_first else 0
    times = g[col.TIME_SPENT_S].dropna().astype(float)
    return {
        "n_ratings": int(len(g)),
        "tie_rate": float((pref == Preference.TIE).mean()),
        "first_position_rate": first_rate,
        "first_position_p_value": sign_test(first_wins, n_first - first_wins),
        "n_first_position": n_first,
        "prefers_longer_rate": prefers_longer_rate(g)[0],
        "median_seconds": float(times.median()) if len(times) else None,
        "n_timed": int(len(times)),
    }


def _flags(row: dict[str, Any], medians: dict[str, float | None]) -> list[str]:
    flags = []
    agreement, typical = row.get("loo_agreement"), medians["loo_agreement"]
    if (
        agreement is not None
        and typical
        and row.get("loo_n", 0) >= MIN_RATINGS
        and agreement < 0.75 * typical
    ):
        flags.append("low agreement")
    p = row["first_position_p_value"]
    if p is not None and p < 0.01 and row["n_first_position"] >= MIN_RATINGS:
        flags.append("position bias")
    seconds, typical_s = row["median_seconds"], medians["median_seconds"]
    if (
        seconds is not None
        and typical_s
        and row["n_timed"] >= MIN_TIMED
        and seconds < typical_s / 3
    ):
        flags.append("fast")
    ties, typical_t = row["tie_rate"], medians["tie_rate"]
    if row["n_ratings"] >= MIN_RATINGS and ties > 0.3 and ties > 2 * (typical_t or 0):
        flags.append("many ties")
    return flags


def annotator_quality(
    human: pd.DataFrame, loo: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]] | None:
    """One row per annotator, sorted by name: ``annotator, n_ratings, loo_agreement, loo_n,
    tie_rate, first_position_rate, first_position_p_value, n_first_position,
    prefers_longer_rate, median_seconds, n_timed, flags``. ``loo`` is the output of
    ``analysis.agreement.loo_agreement`` on the same ratings. None without ratings."""
    if human.empty:
        return None
    by_loo = {r["annotator"]: r for r in loo or []}
    rows = []
    for name, g in human.groupby(col.ANNOTATOR, sort=True):
        r = by_loo.get(name, {})
        rows.append(
            {
                "annotator": name,
                **_per_annotator(g),
                "loo_agreement": r.get("agreement"),
                "loo_n": r.get("n", 0),
            }
        )
    medians = {
        key: _median([r[key] for r in rows])
        for key in ("loo_agreement", "median_seconds", "tie_rate")
    }
    for row in rows:
        row["flags"] = _flags(row, medians)
    return rows
