"""What flips a judge: the figures of ``judge-probe`` (judge/probe_run.py) from its stored
judgments (mode ``probe``; what was perturbed is in each row's ``scores``).

Per judge and probe: the **flip rate**, the share of probed pairs whose verdict went to the
perturbed loser (both orders agreeing, as for any verdict; disagreeing orders are a tie, not
a flip), with a Wilson interval; the **control rate**, the same share when the winner was
perturbed instead (a verdict that moved to the unperturbed loser); ties counted apart; and a
few flipped pairs as examples with the judge's reasoning.

>>> rows = pd.DataFrame({
...     "judge": ["j#probe-pad"] * 4, "pair_id": [1, 1, 2, 2], "order": ["ab", "ba"] * 2,
...     "status": ["ok"] * 4, "winner": ["b", "b", "a", "b"], "reasoning": ["longer"] * 4,
...     "meta": [{"judge": "j", "probe": "pad", "arm": "probe", "perturbed": "b",
...               "winner": "a"}] * 4})
>>> (r,) = probe_results(rows)
>>> r["judge"], r["probe"], r["n"], r["flips"], r["ties"], r["flip_rate"]
('j', 'pad', 2, 1, 1, 0.5)
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session
from statsmodels.stats.proportion import proportion_confint

from sidebyside.foundation.models import Judgment

COLUMNS = ("judge", "pair_id", "order", "status", "winner", "reasoning", "meta")
N_EXAMPLES = 3


def load_probe_rows(session: Session, study_id: int) -> pd.DataFrame:
    """The study's probe judgments: ``judge, pair_id, order, status, winner, reasoning, meta``."""
    rows = session.execute(
        select(
            Judgment.judge,
            Judgment.pair_id,
            Judgment.order,
            Judgment.status,
            Judgment.winner,
            Judgment.reasoning,
            Judgment.scores,
        ).where(Judgment.study_id == study_id, Judgment.mode == "probe")
    ).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=list(COLUMNS))


def wilson(k: int, n: int, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Wilson score interval of k successes in n (statsmodels).

    >>> [round(x, 4) for x in wilson(20, 20)]
    [0.8389, 1.0]
    """
    if n == 0:
        return None, None
    lo, hi = proportion_confint(k, n, alpha=1 - confidence, method="wilson")
    return float(lo), float(hi)


def _arm_verdicts(rows: pd.DataFrame) -> list[dict[str, Any]]:
    """One entry per probed pair with both orders answered: the verdict and what it moved."""
    out = []
    for (_, pair_id), group in rows.groupby(["judge", "pair_id"], sort=True):
        ok = group[group["status"] == "ok"]
        winners = dict(zip(ok["order"], ok["winner"], strict=True))
        if set(winners) != {"ab", "ba"}:
            continue
        verdict = winners["ab"] if winners["ab"] == winners["ba"] else "tie"
        meta = group["meta"].iloc[0]
        loser = "b" if meta["winner"] == "a" else "a"
        out.append(
            {
                "pair_id": int(pair_id),
                "winner": meta["winner"],
                "verdict": verdict,
                "flipped": verdict == loser,
                "tie": verdict == "tie",
                "reasoning": str(ok["reasoning"].iloc[0])[:300],
            }
        )
    return out


def probe_results(rows: pd.DataFrame, *, confidence: float = 0.95) -> list[dict[str, Any]]:
    """Rows of :func:`load_probe_rows` -> one result per (judge, probe), sorted."""
    if rows.empty:
        return []
    meta = rows["meta"].apply(lambda m: m if isinstance(m, dict) else {})
    rows = rows.assign(
        base=meta.map(lambda m: m.get("judge")),
        probe=meta.map(lambda m: m.get("probe")),
        arm=meta.map(lambda m: m.get("arm")),
    ).dropna(subset=["base", "probe", "arm"])
    results = []
    for (base, probe), group in rows.groupby(["base", "probe"], sort=True):
        arms = {arm: _arm_verdicts(group[group["arm"] == arm]) for arm in ("probe", "control")}
        probed, control = arms["probe"], arms["control"]
        flips = sum(v["flipped"] for v in probed)
        control_flips = sum(v["flipped"] for v in control)
        lo, hi = wilson(flips, len(probed), confidence)
        clo, chi = wilson(control_flips, len(control), confidence)
        results.append(
            {
                "judge": base,
                "probe": probe,
                "n": len(probed),
                "flips": flips,
                "ties": sum(v["tie"] for v in probed),
                "flip_rate": flips / len(probed) if probed else None,
                "ci_low": lo,
                "ci_high": hi,
                "control_n": len(control),
                "control_flips": control_flips,
                "control_rate": control_flips / len(control) if control else None,
                "control_ci_low": clo,
                "control_ci_high": chi,
                "examples": [
                    {k: v[k] for k in ("pair_id", "winner", "verdict", "reasoning")}
                    for v in probed
                    if v["flipped"]
                ][:N_EXAMPLES],
            }
        )
    return results
