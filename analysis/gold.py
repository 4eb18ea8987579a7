"""Gold pairs in the analysis: every rater's accuracy on them, with a Wilson interval, and the
report recomputed without the raters who failed them (``without_failed_raters``).

Gold pairs themselves never reach a figure: ``analysis.verdicts.load_pairs`` leaves them out.
Their answers are read apart (``analysis.gold_reading.load_gold_answers``).

>>> rows = gold_accuracy([{"annotator": "u", "right": r} for r in (1, 1, 1, 0)])
>>> rows[0]["accuracy"], [round(x, 4) for x in (rows[0]["ci_low"], rows[0]["ci_high"])]
(0.75, [0.3006, 0.9544])
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from typing import Any

from sidebyside.analysis import columns as col
from sidebyside.analysis.frames import StudyFrames
from sidebyside.analysis.winrates import wilson_ci
from sidebyside.foundation.enums import VerdictSource


def gold_accuracy(
    answers: Iterable[dict[str, Any]], *, confidence: float = 0.95, threshold: float | None = None
) -> list[dict[str, Any]]:
    """One row per rater, by name: ``annotator, n, right, accuracy, ci_low, ci_high``
    (Wilson) and, with a ``threshold``, ``passed`` (accuracy at least the threshold)."""
    counts: dict[str, list[int]] = {}
    for a in answers:
        c = counts.setdefault(a["annotator"], [0, 0])
        c[0] += 1
        c[1] += bool(a["right"])
    rows = []
    for name in sorted(counts):
        n, right = counts[name]
        low, high = wilson_ci(right, n, confidence)
        row = {
            "annotator": name,
            "n": n,
            "right": right,
            "accuracy": right / n,
            "ci_low": low,
            "ci_high": high,
        }
        if threshold is not None:
            row["passed"] = right / n >= threshold - 1e-12
        rows.append(row)
    return rows


def without_failed_raters(fr: StudyFrames, failed: Iterable[str]) -> tuple[StudyFrames, dict]:
    """The frames with every human verdict of the ``failed`` raters left out, and what was
    left out: ``raters`` (names), ``n_raters``, ``n_ratings``."""
    failed = sorted(set(failed))
    v = fr.verdicts
    drop = (v[col.SOURCE] == VerdictSource.HUMAN) & v[col.ANNOTATOR].isin(failed)
    kept = v[~drop].reset_index(drop=True)
    out = replace(fr, verdicts=kept)
    present = sorted(set(v.loc[drop, col.ANNOTATOR]))
    return out, {"raters": present, "n_raters": len(present), "n_ratings": int(drop.sum())}


def gold_section(
    answers: list[dict[str, Any]],
    *,
    threshold: float,
    confidence: float = 0.95,
    excluded: dict | None = None,
) -> dict[str, Any] | None:
    """The report's gold section; None for a study without gold answers."""
    if not answers:
        return None
    return {
        "n_gold_pairs": len({a["pair_id"] for a in answers}),
        "n_answers": len(answers),
        "threshold": threshold,
        "raters": gold_accuracy(answers, confidence=confidence, threshold=threshold),
        "excluded": excluded,
    }


def failed_names(rows: list[dict[str, Any]]) -> list[str]:
    return [r["annotator"] for r in rows if r.get("passed") is False]
