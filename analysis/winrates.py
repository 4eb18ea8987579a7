"""Who wins: win/tie/loss counts, win rates with Wilson and prompt-bootstrap CIs, sign tests,
Bradley–Terry ratings, the pairwise win-rate matrix and per-criterion means.

Input is a *votes* table, one row per verdict (a human rating or a judge verdict) with
columns ``prompt_id`` (the bootstrap cluster: votes on one prompt are not independent),
``system_a``, ``system_b`` and ``preference`` (``"a" | "b" | "tie"`` relative to
``system_a``/``system_b``). Ties count as half a win for each side throughout.

The Wilson interval is statsmodels' ``proportion_confint``; R's ``binom.confint(4, 100)``
gives 0.01566 – 0.09837:

>>> [round(x, 5) for x in wilson_ci(4, 100)]
[0.01566, 0.09837]
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, percentile_ci, resample_sums
from sidebyside.foundation.enums import Preference

#: Elo-style display scale: a 400-point gap means 10:1 odds (Chatbot Arena's convention).
ELO_SCALE, ELO_BASE = 400.0 / np.log(10.0), 1000.0
PREFERENCES = (Preference.A, Preference.B, Preference.TIE)


def wilson_ci(successes: float, n: float, confidence: float = 0.95) -> tuple[float | None, ...]:
    """Wilson score interval (statsmodels); ``successes`` may be fractional (half ties)."""
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        return None, None
    low, high = proportion_confint(successes, n, alpha=1.0 - confidence, method="wilson")
    return float(low), float(high)


def sign_test(wins_a: int, wins_b: int, p: float = 0.5) -> float | None:
    """Two-sided exact binomial (sign) test of the decisive votes; ties are left out.

    R's ``binom.test(682, 925, p = 3/4)`` (Mendel's peas) gives p = 0.3825:

    >>> round(sign_test(682, 243, p=0.75), 4)
    0.3825
    """
    n = int(wins_a) + int(wins_b)
    if n == 0:
        return None
    return _binom_p(int(wins_a), n, p)


@lru_cache(maxsize=65536)
def _binom_p(k: int, n: int, p: float) -> float:
    # Reports ask for the same small (k, n) many times (per category, per source).
    from scipy.stats import binomtest

    return float(binomtest(k, n, p=p, alternative="two-sided").pvalue)


def honest_ci(row: dict[str, Any]) -> tuple[Any, Any, str]:
    """A win-rate row's interval to draw and decide by: the prompt bootstrap when there is
    one (honest when prompts have several votes), else Wilson; and which one it is."""
    if row.get("boot_ci_low") is not None and row.get("boot_ci_high") is not None:
        return row["boot_ci_low"], row["boot_ci_high"], "bootstrap"
    return row.get("ci_low"), row.get("ci_high"), "Wilson"


def check_votes(votes: pd.DataFrame) -> pd.DataFrame:
    missing = {col.PROMPT_ID, col.SYSTEM_A, col.SYSTEM_B, col.PREFERENCE} - set(votes.columns)
    if missing:
        raise ValueError(
            f"votes need columns prompt_id, system_a, system_b, preference; "
            f"missing {sorted(missing)}"
        )
    bad = ~votes[col.PREFERENCE].isin(PREFERENCES)
    if bad.any():
        got = votes[col.PREFERENCE][bad].iloc[0]
        raise ValueError(f"preference must be a, b or tie; got {got!r}")
    return votes


def system_order(votes: pd.DataFrame, systems: Sequence[str] | None = None) -> list[str]:
    """The systems to report: ``systems`` (study order) restricted to those with votes,
    then any others alphabetically."""
    seen = set(pd.unique(votes[col.SYSTEM_A])) | set(pd.unique(votes[col.SYSTEM_B]))
    order = [s for s in (systems or []) if s in seen]
    return order + sorted(seen - set(order))


def per_prompt_wins(
    votes: pd.DataFrame, systems: Sequence[str], prompts: pd.Index | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-prompt win matrices, shape (P, S, S): entry [p, i, j] is the (half-tie) wins of
    system i over system j on prompt p. Returns it with the prompt labels (P,). With
    ``prompts`` the rows follow that index (zeros for prompts without votes), so several
    sources can share one bootstrap resample of prompts."""
    check_votes(votes)
    idx = pd.Index(list(systems))
    ia, ib = idx.get_indexer(votes[col.SYSTEM_A]), idx.get_indexer(votes[col.SYSTEM_B])
    if (ia < 0).any() or (ib < 0).any():
        raise ValueError("a vote names a system that is not in the system list")
    if prompts is None:
        codes, labels = pd.factorize(votes[col.PROMPT_ID])
    else:
        codes, labels = prompts.get_indexer(votes[col.PROMPT_ID]), prompts
        if (codes < 0).any():
            raise ValueError("a vote's prompt is not in the given prompt index")
    pref = votes[col.PREFERENCE].to_numpy()
    win_a = np.where(pref == Preference.A, 1.0, np.where(pref == Preference.TIE, 0.5, 0.0))
    s = len(idx)
    out = np.zeros((len(labels), s, s))
    np.add.at(out, (codes, ia, ib), win_a)
    np.add.at(out, (codes, ib, ia), 1.0 - win_a)
    return out, np.asarray(labels)


def _oriented_counts(votes: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """Counts per unordered system pair, oriented the way most of its pairs are stored
    (so an imported 'fine-tuned vs base' file keeps its direction); ties go to study order."""
    idx = pd.Index(list(systems))
    ia, ib = idx.get_indexer(votes[col.SYSTEM_A]), idx.get_indexer(votes[col.SYSTEM_B])
    lo, hi = np.minimum(ia, ib), np.maximum(ia, ib)
    as_stored = ia <= ib
    pref = votes[col.PREFERENCE].to_numpy()
    # preference relative to (lo, hi)
    lo_wins = np.where(as_stored, pref == Preference.A, pref == Preference.B)
    hi_wins = np.where(as_stored, pref == Preference.B, pref == Preference.A)
    s = len(idx)
    key = lo * s + hi
    # numpy, not groupby: this runs once per source and per category of a report.
    keys, inverse = np.unique(key, return_inverse=True)
    m = len(keys)
    stored = np.bincount(inverse, weights=as_stored, minlength=m)
    n = np.bincount(inverse, minlength=m)
    lo_n = np.bincount(inverse, weights=lo_wins, minlength=m)
    hi_n = np.bincount(inverse, weights=hi_wins, minlength=m)
    ties = np.bincount(inverse, weights=pref == Preference.TIE, minlength=m)
    # Per (system pair, prompt): the prompt-level majority, the independent unit.
    prompt_codes, _ = pd.factorize(votes[col.PROMPT_ID])
    cell, cell_of = np.unique(inverse * (prompt_codes.max() + 1) + prompt_codes,
                              return_inverse=True)  # fmt: skip
    net = np.bincount(cell_of, weights=lo_wins.astype(float) - hi_wins, minlength=len(cell))
    pair_of_cell = cell // (prompt_codes.max() + 1)
    n_prompts = np.bincount(pair_of_cell, minlength=m)
    prompts_lo = np.bincount(pair_of_cell, weights=net > 0, minlength=m)
    prompts_hi = np.bincount(pair_of_cell, weights=net < 0, minlength=m)
    agg = pd.DataFrame(
        {"stored": stored, "n": n, "lo": lo_n, "hi": hi_n, "ties": ties, "n_prompts": n_prompts,
         "prompts_lo": prompts_lo, "prompts_hi": prompts_hi},
        index=keys,
    )  # fmt: skip
    rows = []
    for k, r in agg.iterrows():
        i, j = divmod(int(k), s)
        keep = r["stored"] * 2 >= r["n"]  # stored mostly as lower-vs-higher study order
        rows.append(
            {
                "system_a": idx[i] if keep else idx[j],
                "system_b": idx[j] if keep else idx[i],
                "wins_a": int(r["lo"] if keep else r["hi"]),
                "wins_b": int(r["hi"] if keep else r["lo"]),
                "ties": int(r["ties"]),
                "n_prompts": int(r["n_prompts"]),
                "prompts_a": int(r["prompts_lo"] if keep else r["prompts_hi"]),
                "prompts_b": int(r["prompts_hi"] if keep else r["prompts_lo"]),
            }
        )
    order = {name: n for n, name in enumerate(systems)}
    rows.sort(key=lambda r: (order[r["system_a"]], order[r["system_b"]]))
    return pd.DataFrame(rows)


def win_rates(
    votes: pd.DataFrame,
    *,
    systems: Sequence[str] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    boot: np.ndarray | None = None,
) -> list[dict[str, Any]]:
    """One row per compared system pair: ``system_a, system_b, wins_a, wins_b, ties, n,
    n_prompts, win_rate_a`` (ties as half), ``ci_low, ci_high`` (Wilson, votes treated as
    independent), ``boot_ci_low, boot_ci_high`` (percentile bootstrap resampling prompts) and
    ``p_value`` (two-sided sign test on decisive votes), and ``prompts_a, prompts_b,
    p_value_prompts``: the prompts where more votes went to A (to B), prompts with a tied
    count left out, and the sign test over them. With several votes per prompt (three
    annotators on each pair), the votes are not independent and only the prompt-level test is
    honest; with one verdict per prompt the two tests agree.

    ``boot`` may pass precomputed resampled win matrices (B, S, S) over ``systems``.
    """
    check_votes(votes)
    if votes.empty:
        return []
    systems = system_order(votes, systems)
    counts = _oriented_counts(votes, systems)
    if boot is None and n_boot > 0:
        per_prompt, _ = per_prompt_wins(votes, systems)
        (boot,) = resample_sums([per_prompt], n_boot=n_boot, seed=seed)
    idx = {s: i for i, s in enumerate(systems)}
    continuous = _preference_scores(votes)
    rows = []
    for r in counts.to_dict("records"):
        n = r["wins_a"] + r["wins_b"] + r["ties"]
        score = r["wins_a"] + 0.5 * r["ties"]
        low, high = wilson_ci(score, n, confidence)
        b_low = b_high = None
        if boot is not None:
            i, j = idx[r["system_a"]], idx[r["system_b"]]
            tot = boot[:, i, j] + boot[:, j, i]
            with np.errstate(divide="ignore", invalid="ignore"):
                b_low, b_high = percentile_ci(boot[:, i, j] / tot, confidence)
        rows.append(
            {
                **{k: r[k] for k in ("system_a", "system_b", "wins_a", "wins_b", "ties")},
                "n": n,
                "n_prompts": r["n_prompts"],
                "win_rate_a": score / n if n else None,
                "ci_low": low,
                "ci_high": high,
                "boot_ci_low": b_low,
                "boot_ci_high": b_high,
                "p_value": sign_test(r["wins_a"], r["wins_b"]),
                "prompts_a": r["prompts_a"],
                "prompts_b": r["prompts_b"],
                "p_value_prompts": sign_test(r["prompts_a"], r["prompts_b"]),
                **_mean_preference(continuous, r["system_a"], r["system_b"]),
            }
        )
    return rows


def _preference_scores(votes: pd.DataFrame) -> dict[tuple[str, str], np.ndarray]:
    """Continuous preferences (``preference_score``, 1 = A better .. 2 = B better) of the
    votes that have one, grouped by stored (system_a, system_b)."""
    if col.PREFERENCE_SCORE not in votes.columns:
        return {}
    scored = votes[votes[col.PREFERENCE_SCORE].notna()]
    if scored.empty:
        return {}
    groups = scored.groupby([col.SYSTEM_A, col.SYSTEM_B], sort=False)[col.PREFERENCE_SCORE]
    return {key: g.to_numpy(dtype=float) for key, g in groups}


def _mean_preference(
    scores: dict[tuple[str, str], np.ndarray], system_a: str, system_b: str
) -> dict[str, Any]:
    """AlpacaEval's headline win rate of ``system_a``: the mean over votes of P(A better) =
    2 − preference (preference − 1 for pairs stored the other way round), with its standard
    error (sample SD / √n, as pandas' ``sem``)."""
    p_a = np.concatenate(
        [2.0 - scores.get((system_a, system_b), np.empty(0)),
         scores.get((system_b, system_a), np.empty(0)) - 1.0]
    )  # fmt: skip
    n = len(p_a)
    return {
        "preference_win_rate_a": float(p_a.mean()) if n else None,
        "preference_se": float(p_a.std(ddof=1) / np.sqrt(n)) if n > 1 else None,
        "n_preference": n,
    }


def bradley_terry(
    wins: np.ndarray, *, prior: float = 0.5, max_iter: int = 10_000, tol: float = 1e-10
) -> np.ndarray:
    """Bradley–Terry log-strengths (mean 0) from win matrices (..., S, S), vectorised over
    leading axes, by Hunter's (2004) MM algorithm. ``prior`` pseudo-ties are added to every
    compared pair so a system that never loses keeps a finite rating; use 0 for the pure MLE.
    Systems never compared get NaN.

    With two systems the fit reproduces the observed odds exactly (7 wins to 3):

    >>> s = bradley_terry(np.array([[0, 7], [3, 0]]), prior=0)
    >>> round(float(np.exp(s[0] - s[1])), 6)
    2.333333
    """
    w = np.asarray(wins, dtype=float).copy()
    s = w.shape[-1]
    n = w + np.swapaxes(w, -1, -2)
    compared = n > 0
    w = w + np.where(compared, prior / 2.0, 0.0)
    n = w + np.swapaxes(w, -1, -2)
    played = compared.any(axis=-1)
    total_wins = w.sum(axis=-1)
    p = np.where(played, 1.0, np.nan)
    eye = np.eye(s, dtype=bool)
    for _ in range(max_iter):
        with np.errstate(divide="ignore", invalid="ignore"):
            denom = np.where(eye | ~compared, 0.0, n / (p[..., :, None] + p[..., None, :]))
            new = total_wins / np.nansum(denom, axis=-1)
            new = np.where(played, new, np.nan)
            log_new = np.log(new)
            log_new -= np.nanmean(log_new, axis=-1, keepdims=True)
            new = np.exp(log_new)
            change = np.nanmax(np.abs(new - p)) if np.isfinite(new).any() else 0.0
        p = new
        if change < tol:
            break
    with np.errstate(divide="ignore"):
        return np.log(p)


def bradley_terry_ratings(
    votes: pd.DataFrame,
    *,
    systems: Sequence[str] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    boot: np.ndarray | None = None,
) -> list[dict[str, Any]] | None:
    """Bradley–Terry ratings on the Elo-style scale (1000 = average system, +400 = 10:1
    odds), with percentile bootstrap CIs resampling prompts; sorted best first. None with
    fewer than three systems (a win rate says it all). Each row: ``system, rating, ci_low,
    ci_high, strength`` (natural-log strength, mean 0)."""
    check_votes(votes)
    systems = system_order(votes, systems)
    if len(systems) < 3:
        return None
    per_prompt, _ = per_prompt_wins(votes, systems)
    strength = bradley_terry(per_prompt.sum(axis=0))
    if boot is None and n_boot > 0:
        (boot,) = resample_sums([per_prompt], n_boot=n_boot, seed=seed)
    boot_strength = bradley_terry(boot) if boot is not None else None
    rows = []
    for i, name in enumerate(systems):
        low = high = None
        if boot_strength is not None:
            low, high = percentile_ci(ELO_BASE + ELO_SCALE * boot_strength[:, i], confidence)
        rows.append(
            {
                "system": name,
                "rating": float(ELO_BASE + ELO_SCALE * strength[i]),
                "ci_low": low,
                "ci_high": high,
                "strength": float(strength[i]),
            }
        )
    rows.sort(key=lambda r: -r["rating"] if np.isfinite(r["rating"]) else np.inf)
    return rows


def win_rate_matrix(votes: pd.DataFrame, *, systems: Sequence[str] | None = None) -> dict:
    """Row system's win rate over column system (ties as half; None where never compared):
    ``{"systems": [...], "win_rate": [[...]], "n": [[...]]}``."""
    check_votes(votes)
    systems = system_order(votes, systems)
    if not systems:
        return {"systems": [], "win_rate": [], "n": []}
    per_prompt, _ = per_prompt_wins(votes, systems)
    w = per_prompt.sum(axis=0)
    n = w + w.T
    rate = [
        [float(w[i, j] / n[i, j]) if n[i, j] > 0 else None for j in range(len(systems))]
        for i in range(len(systems))
    ]
    return {"systems": systems, "win_rate": rate, "n": n.round().astype(int).tolist()}


def criterion_means(
    scores: pd.DataFrame,
    *,
    confidence: float = 0.95,
    systems: Sequence[str] | None = None,
    criteria: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """Mean score per system and criterion with a Student-t interval (scipy), from a long
    table with columns ``system, criterion, score``. Rows: ``system, criterion, mean,
    ci_low, ci_high, sd, n``."""
    from scipy.stats import t as student_t

    missing = {"system", "criterion", "score"} - set(scores.columns)
    if missing:
        raise ValueError(f"scores need columns system, criterion, score; missing {sorted(missing)}")
    scores = scores[scores["score"].notna()]
    if scores.empty:
        return []
    agg = scores.groupby(["system", "criterion"], sort=False)["score"].agg(["mean", "std", "size"])
    rank = {s: i for i, s in enumerate(systems or [])}
    crank = {c: i for i, c in enumerate(criteria or [])}
    rows = []
    for (system, criterion), r in agg.iterrows():
        n, mean, sd = int(r["size"]), float(r["mean"]), r["std"]
        low = high = None
        if n >= 2:
            half = float(student_t.ppf(0.5 + confidence / 2, n - 1) * sd / np.sqrt(n))
            low, high = mean - half, mean + half
        rows.append(
            {
                "system": system,
                "criterion": criterion,
                "mean": mean,
                "ci_low": low,
                "ci_high": high,
                "sd": float(sd) if n >= 2 else None,
                "n": n,
            }
        )
    rows.sort(
        key=lambda r: (
            rank.get(r["system"], len(rank)),
            r["system"],
            crank.get(r["criterion"], len(crank)),
            r["criterion"],
        )
    )
    return rows
