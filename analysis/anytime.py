"""Anytime-valid decisions: a confidence sequence for each system pair's human win rate.

A confidence sequence (CS) is a sequence of intervals C_1, C_2, ... that holds the true win
rate at *every* vote at once with probability at least 1 − α, so the Progress page may look
after each vote and stop the moment the CS leaves ½, without the false decisions that
re-checking an ordinary interval after every vote makes (``bench/anytime_monitoring.py``
measures both). The observations are a system pair's human votes in the order they were cast
(``created_at``, then the rating id): 1 when system A wins, 0 when B wins, ½ for a tie. The
win rate is their mean μ, the report's ``win_rate_a``.

The boundary is the two-sided normal mixture of Howard, Ramdas, McAuliffe & Sekhon (2021),
"Time-uniform, nonparametric, nonasymptotic confidence sequences", Ann. Statist. 49(2),
Proposition 4 (arXiv:1810.08240). Votes lie in [0, 1], so each is sub-Gaussian with variance
proxy ¼ (Hoeffding) and after t votes the intrinsic time is v = t/4. With S_t = Σ (X_i − μ),
Ville's inequality applied to the Gaussian mixture of exp(λS_t − λ²v/2) over λ ~ N(0, 1/ρ)
gives, with probability ≥ 1 − α for all t at once,

    |S_t| < u(v) = sqrt((v + ρ) · log((v + ρ) / (ρ · α²))),

so C_t = [X̄_t − u(t/4)/t, X̄_t + u(t/4)/t], clipped to [0, 1]. ρ tunes the vote count at
which the boundary is tightest (§3.5): ρ = v* / (2 log(1/α) + log(1 + 2 log(1/α))) for
v* = n*/4, with n* the votes the study plans per system pair (pairs × k over the system
pairs), fixed by the design and never by the votes. The figures agree with the reference
implementation, ``confseq.boundaries.normal_mixture_bound(v, α, v*, α, is_one_sided=False)``
(tests/test_anytime.py, where it is installed). By hand, for v = v* = 25 and α = 0.05,
ρ = 25 / (5.9915 + 1.9447) = 3.1501 and u = sqrt(28.1501 · log(28.1501 / 0.0078752)) = 15.176:

>>> rho = tuning_rho(25, alpha=0.05)
>>> round(rho, 4), round(normal_mixture_radius(25, alpha=0.05, rho=rho), 3)
(3.1501, 15.176)

Seventy wins in 100 votes (three losses then seven wins, ten times), tuned for 100: at vote
100 the lower bound is 0.70 − 15.176 / 100 = 0.5482 > ½, so A is decided; the upper bound is
the running intersection's (below), from an earlier vote tighter than 0.70 + 0.1518.

>>> low, high = confidence_sequence(([0.0] * 3 + [1.0] * 7) * 10, alpha=0.05, planned=100)
>>> round(float(low[-1]), 4), round(float(high[-1]), 4)
(0.5482, 0.8348)

The sequence reported is the running intersection of the C_t (Howard et al. 2021, §3), also
a (1 − α) CS: once it leaves ½ it stays out, so "decided at vote N" never flips back (an
empty intersection, ``cs_low`` > ``cs_high``, would mean the win rate drifted while people
rated, which the guarantee assumes it does not). A decision is A when the lower bound first
exceeds ½, B when the upper bound first falls below it. Not yet decided, the projection
``more_votes`` assumes the coming votes keep the current win rate p̂: it is the fewest
further votes m with u((n + m)/4)/(n + m) < |p̂ − ½|, the CS half-width at n + m votes
falling below the current distance from ½ (u(v)/v decreases, so the search is a bisection);
None when p̂ is exactly ½ (no winner in sight).

What the guarantee assumes: given the votes so far, the next vote's expected value is μ
(votes drawn independently from the same population of prompts and annotators). Several
annotators on the same prompt give correlated votes, as for the report's Wilson interval, so
with k > 1 the guarantee is approximate; the prompt-level figures of the report stay the
honest fixed-sample check. Hoeffding's proxy ignores that ties shrink the variance, so the
CS is conservative when many votes are ties.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis import winrates as wr
from sidebyside.foundation.enums import Preference

if TYPE_CHECKING:
    from sidebyside.analysis.frames import StudyFrames

#: Hoeffding's variance proxy of one observation in [0, 1].
_VARIANCE_PROXY = 0.25


def _check_alpha(alpha: float) -> None:
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")


def tuning_rho(v_opt: float, *, alpha: float) -> float:
    """The mixture's ρ that makes the boundary tightest at intrinsic time ``v_opt``
    (Howard et al. 2021, §3.5)."""
    _check_alpha(alpha)
    if not v_opt > 0:
        raise ValueError(f"the intrinsic time to tune for must be positive, got {v_opt}")
    log_a = math.log(1 / alpha)
    return v_opt / (2 * log_a + math.log(1 + 2 * log_a))


def normal_mixture_radius(v: Any, *, alpha: float, rho: float) -> Any:
    """u(v) = sqrt((v + ρ) log((v + ρ) / (ρ α²))), the two-sided normal mixture boundary on
    |S_t| at intrinsic time ``v`` (a float or an array)."""
    _check_alpha(alpha)
    v = np.asarray(v, dtype=float)
    out = np.sqrt((v + rho) * np.log((v + rho) / (rho * alpha**2)))
    return float(out) if out.ndim == 0 else out


def _radius_of_mean(t: Any, alpha: float, rho: float) -> Any:
    """The CS half-width of the mean after ``t`` votes: u(t/4) / t."""
    t = np.asarray(t, dtype=float)
    return normal_mixture_radius(_VARIANCE_PROXY * t, alpha=alpha, rho=rho) / t


def confidence_sequence(
    x: Sequence[float] | np.ndarray, *, alpha: float, planned: int
) -> tuple[np.ndarray, np.ndarray]:
    """Lower and upper bounds of the CS after each observation of ``x`` (in [0, 1], in
    order), the running intersection, tuned for ``planned`` observations. Shapes (t,)."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"observations must be one sequence, got shape {x.shape}")
    if x.size and (np.isnan(x).any() or x.min() < 0 or x.max() > 1):
        raise ValueError("observations must lie in [0, 1] (1 = A wins, 0 = B wins, 0.5 = tie)")
    if planned < 1:
        raise ValueError(f"planned must be at least 1 observation, got {planned}")
    rho = tuning_rho(_VARIANCE_PROXY * planned, alpha=alpha)
    t = np.arange(1, x.size + 1)
    mean = np.cumsum(x) / t
    radius = _radius_of_mean(t, alpha, rho)
    low = np.maximum.accumulate(np.clip(mean - radius, 0.0, 1.0))
    high = np.minimum.accumulate(np.clip(mean + radius, 0.0, 1.0))
    return low, high


def votes_to_decide(win_rate: float, n: int, *, alpha: float, planned: int) -> int | None:
    """Further votes until the CS would leave ½ if the win rate stayed at ``win_rate``
    after ``n`` votes (see the module docstring); None at exactly ½. At 0.7 after 20 votes,
    tuned for 100, the half-width u(T/4)/T is 0.2012 at T = 58 and 0.1994 at T = 59:

    >>> votes_to_decide(0.7, 20, alpha=0.05, planned=100)
    39
    """
    gap = abs(win_rate - 0.5)
    if gap == 0:
        return None
    rho = tuning_rho(_VARIANCE_PROXY * planned, alpha=alpha)
    lo, hi = n, max(n, 1)  # radius(lo) >= gap (or lo = 0), radius(hi) < gap once found
    while _radius_of_mean(hi, alpha, rho) >= gap:
        lo, hi = hi, hi * 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if _radius_of_mean(mid, alpha, rho) < gap else (mid, hi)
    return hi - n


def planned_votes(n_pairs: int, k: int, n_systems: int) -> int:
    """The votes a study plans per system pair: its pairs times k, shared out over the
    pairs of systems it can compare (at least 1).

    >>> planned_votes(30, 3, 2), planned_votes(60, 1, 4)
    (90, 10)
    """
    system_pairs = max(n_systems * (n_systems - 1) // 2, 1)
    return max(math.ceil(n_pairs * k / system_pairs), 1)


def decide(x: Sequence[float] | np.ndarray, *, alpha: float, planned: int) -> dict[str, Any]:
    """The decision from one system pair's votes ``x`` (1 = A wins, 0 = B, ½ tie, in order):
    ``n_votes, win_rate_a, cs_low, cs_high`` (the CS after the last vote), ``decided``,
    ``side`` ("a" | "b" | None), ``at_vote`` (1-based, the first vote at which the CS left
    ½) and ``more_votes`` (the projection, None once decided).

    >>> d = decide([1.0] * 12, alpha=0.05, planned=6)
    >>> d["decided"], d["side"], d["at_vote"]
    (True, 'a', 10)
    """
    low, high = confidence_sequence(x, alpha=alpha, planned=planned)
    n = int(low.size)
    above, below = np.flatnonzero(low > 0.5), np.flatnonzero(high < 0.5)
    first = min([int(i[0]) for i in (above, below) if i.size], default=None)
    side = None if first is None else ("a" if above.size and above[0] == first else "b")
    win_rate = float(np.mean(x)) if n else None
    more = None
    if first is None and win_rate is not None:
        more = votes_to_decide(win_rate, n, alpha=alpha, planned=planned)
    return {
        "n_votes": n,
        "win_rate_a": win_rate,
        "cs_low": float(low[-1]) if n else None,
        "cs_high": float(high[-1]) if n else None,
        "decided": first is not None,
        "side": side,
        "at_vote": None if first is None else first + 1,
        "more_votes": more,
    }


def _in_vote_order(votes: pd.DataFrame) -> pd.DataFrame:
    missing = {col.CREATED_AT, col.RECORD_ID} - set(votes.columns)
    if missing:
        raise ValueError(f"votes need columns created_at and record_id; missing {sorted(missing)}")
    return votes.sort_values([col.CREATED_AT, col.RECORD_ID], kind="stable")


def anytime_decisions(
    votes: pd.DataFrame,
    *,
    systems: Sequence[str] | None = None,
    confidence: float = 0.95,
    planned: int,
) -> list[dict[str, Any]]:
    """One row per compared system pair, oriented as the report's ``win_rates``:
    ``system_a, system_b, decided, winner`` (a system name, None before a decision),
    ``at_vote, n_votes, win_rate_a, cs_low, cs_high, more_votes, planned_votes, alpha``.
    ``votes``: human verdict rows (``analysis.verdicts``), any order."""
    alpha = 1.0 - confidence
    _check_alpha(alpha)
    wr.check_votes(votes)
    if votes.empty:
        return []
    votes = _in_vote_order(votes)
    a, b = votes[col.SYSTEM_A].to_numpy(), votes[col.SYSTEM_B].to_numpy()
    pref = votes[col.PREFERENCE].to_numpy()
    a_wins = np.where(pref == Preference.A, 1.0, np.where(pref == Preference.TIE, 0.5, 0.0))
    rows = []
    for rate in wr.win_rates(votes, systems=systems, n_boot=0):
        x_name, y_name = rate["system_a"], rate["system_b"]
        as_stored = (a == x_name) & (b == y_name)
        flipped = (a == y_name) & (b == x_name)
        mine = as_stored | flipped
        x = np.where(as_stored, a_wins, 1.0 - a_wins)[mine]
        d = decide(x, alpha=alpha, planned=planned)
        winner = {"a": x_name, "b": y_name, None: None}[d["side"]]
        rows.append(
            {
                "system_a": x_name,
                "system_b": y_name,
                "decided": d["decided"],
                "winner": winner,
                "at_vote": d["at_vote"],
                "n_votes": d["n_votes"],
                "win_rate_a": d["win_rate_a"],
                "cs_low": d["cs_low"],
                "cs_high": d["cs_high"],
                "more_votes": d["more_votes"],
                "planned_votes": planned,
                "alpha": alpha,
            }
        )
    return rows


def study_decisions(fr: StudyFrames, *, confidence: float = 0.95) -> list[dict[str, Any]]:
    """``anytime_decisions`` of a study's human votes, tuned for its design: what the report's
    ``human.anytime`` and the Progress page show."""
    return anytime_decisions(
        fr.human,
        systems=fr.systems,
        confidence=confidence,
        planned=planned_votes(fr.n_pairs, fr.k, len(fr.systems)),
    )


def decision_text(row: Any) -> str:
    """A row of ``anytime_decisions`` (a dict or the report's model) in words, as the
    Progress page and the report print it.

    >>> decision_text({"decided": True, "winner": "new", "at_vote": 41, "more_votes": None})
    'decided: new wins (at vote 41)'
    >>> decision_text({"decided": False, "winner": None, "at_vote": None, "more_votes": 57})
    'not yet: about 57 more votes at this rate'
    """
    get = row.get if isinstance(row, dict) else lambda key: getattr(row, key)
    if get("decided"):
        return f"decided: {get('winner')} wins (at vote {get('at_vote')})"
    if get("more_votes") is None:
        return "not yet: the votes are split evenly, no winner in sight"
    return f"not yet: about {get('more_votes')} more votes at this rate"


def peeking_rates(
    *,
    n_sims: int,
    n_votes: int,
    tie_rate: float = 0.2,
    confidence: float = 0.95,
    min_votes: int = 10,
    seed: int = 0,
) -> dict[str, float]:
    """How often continuous monitoring decides a winner that does not exist: ``n_sims``
    seeded studies of ``n_votes`` votes at a true win rate of exactly ½ (a share
    ``tie_rate`` of ties, the rest split evenly), each checked after every vote. Returns the
    share of studies in which ``cs``, the confidence sequence (tuned for ``n_votes``, from
    vote 1), ever left ½, and in which ``wilson``, the report's fixed-sample interval
    (Wilson, from vote ``min_votes``, so its first looks are not degenerate), ever did."""
    if not 0 <= tie_rate < 1 or n_sims < 1 or n_votes < min_votes or min_votes < 1:
        raise ValueError(
            "need 0 <= tie_rate < 1, n_sims >= 1 and 1 <= min_votes <= n_votes; got "
            f"tie_rate={tie_rate}, n_sims={n_sims}, min_votes={min_votes}, n_votes={n_votes}"
        )
    from scipy.stats import norm

    alpha = 1.0 - confidence
    rng = np.random.default_rng(seed)
    split = (1 - tie_rate) / 2
    x = rng.choice([0.0, 0.5, 1.0], p=[split, tie_rate, split], size=(n_sims, n_votes))
    t = np.arange(1, n_votes + 1, dtype=float)
    mean = np.cumsum(x, axis=1) / t
    rho = tuning_rho(_VARIANCE_PROXY * n_votes, alpha=alpha)
    # The CS leaves ½ exactly when |mean − ½| exceeds its half-width (clipping cannot matter).
    cs = (np.abs(mean - 0.5) > _radius_of_mean(t, alpha, rho)).any(axis=1)
    z2 = norm.ppf(1 - alpha / 2) ** 2
    centre = (mean + z2 / (2 * t)) / (1 + z2 / t)
    half = np.sqrt(z2 * (mean * (1 - mean) / t + z2 / (4 * t**2))) / (1 + z2 / t)
    wilson = (np.abs(centre - 0.5) > half)[:, min_votes - 1 :].any(axis=1)
    return {"cs": float(cs.mean()), "wilson": float(wilson.mean())}
