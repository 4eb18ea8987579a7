"""Can we trust a judge? Agreement with the human majority, position and verbosity bias.

Inputs are slices of the verdicts table (``analysis.verdicts``): ``human`` has one row per
rating (``pair_id, annotator, preference, system_a, system_b, len_a, len_b, first_shown``),
``judge`` one row per pair (``pair_id, preference, winner_ab, winner_ba, len_a, len_b``).
Preferences are canonical ``"a" | "b" | "tie"``; a judge's inconsistent pair is already a tie.

The human majority of a pair is its single most frequent verdict, and a tie when no single
verdict is most frequent. Agreement is reported the two ways of the MT-Bench paper (Zheng et
al. 2023): with ties (a tie must match a tie) and without (only pairs where both sides are
decisive). The leave-one-out figures put a judge and a human on equal footing (the AlpacaEval
evaluator table): each human rating is compared with the majority of the *other* raters of
its pair, and so is the judge's verdict on that pair.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import columns as col
from sidebyside.analysis.agreement import kappa_from_table, unique_mode
from sidebyside.analysis.small_samples import too_few_overlap
from sidebyside.foundation.enums import Preference

CODES = (Preference.A, Preference.B, Preference.TIE)
CONFUSION_LABELS = (Preference.A, Preference.TIE, Preference.B)


def _codes(pref: pd.Series) -> np.ndarray:
    return pd.Index(CODES).get_indexer(pref)


def pair_counts(human: pd.DataFrame) -> pd.DataFrame:
    """Votes per pair: columns a, b, tie indexed by pair_id (sorted)."""
    if human.empty:
        return pd.DataFrame(columns=list(CODES), dtype=int)
    pairs, labels = pd.factorize(human[col.PAIR_ID].to_numpy(), sort=True)
    codes = _codes(human[col.PREFERENCE])
    counts = np.zeros((len(labels), len(CODES)), dtype=int)
    np.add.at(counts, (pairs, codes), 1)
    return pd.DataFrame(counts, index=pd.Index(labels, name="pair_id"), columns=list(CODES))


def human_majority(human: pd.DataFrame) -> pd.Series:
    """Majority verdict per pair (``"a" | "b" | "tie"``), indexed by pair_id.

    >>> h = pd.DataFrame({"pair_id": [1, 1, 1, 2, 2], "preference": ["a", "a", "b", "a", "b"]})
    >>> human_majority(h).to_dict()
    {1: 'a', 2: 'tie'}
    """
    counts = pair_counts(human)
    modes = unique_mode(counts.to_numpy(), tie_code=CODES.index(Preference.TIE))
    return pd.Series(np.asarray(CODES, dtype=object)[modes], index=counts.index, name="majority")


def agreement_with_majority(judge: pd.DataFrame, human: pd.DataFrame) -> dict[str, Any]:
    """Judge vs the human majority: agreement with and without ties, Cohen's kappa on the
    preference relative to the stored order (a / b / tie; also swap-symmetric), and a
    confusion matrix (rows = humans,
    columns = judge, labels a / tie / b = output_a wins / tie / output_b wins)."""
    empty = {
        "agreement_with_majority": None,
        "agreement_with_majority_no_ties": None,
        "cohen_kappa_vs_majority": None,
        "cohen_kappa_vs_majority_swap_symmetric": None,
        "confusion_matrix": None,
        "n_with_humans": 0,
        "n_no_ties": 0,
    }
    if judge.empty or human.empty:
        return empty
    maj = human_majority(human)
    j = judge.drop_duplicates(col.PAIR_ID).set_index(col.PAIR_ID)
    shared = j.index.intersection(maj.index)
    if len(shared) == 0:
        return empty
    jp = j.loc[shared, col.PREFERENCE].to_numpy()
    hp = maj.loc[shared].to_numpy()
    decisive = (jp != Preference.TIE) & (hp != Preference.TIE)
    from sklearn.metrics import confusion_matrix

    matrix = confusion_matrix(hp, jp, labels=list(CONFUSION_LABELS))
    # kappa on the standard coding (a / b / tie relative to the stored order), and the
    # swap-symmetric one: each pair also counted with its sides swapped
    hc, jc = _codes(pd.Series(hp)), _codes(pd.Series(jp))
    table = np.bincount(hc * 3 + jc, minlength=9).reshape(3, 3)
    flip = np.array([1, 0, 2])
    both = table + table[np.ix_(flip, flip)]
    return {
        "agreement_with_majority": float((jp == hp).mean()),
        "agreement_with_majority_no_ties": float((jp == hp)[decisive].mean())
        if decisive.any()
        else None,
        "cohen_kappa_vs_majority": kappa_from_table(table),
        "cohen_kappa_vs_majority_swap_symmetric": kappa_from_table(both),
        "confusion_matrix": {
            "labels": list(CONFUSION_LABELS),
            "rows": "human majority",
            "columns": "judge",
            "matrix": matrix.tolist(),
        },
        "n_with_humans": int(len(shared)),
        "n_no_ties": int(decisive.sum()),
    }


def loo_comparison(judge: pd.DataFrame | None, human: pd.DataFrame) -> dict[str, Any]:
    """Leave-one-out agreement of the humans and of the judge on the same rating rows.

    For each human rating whose pair has other raters (and, when ``judge`` is given, a judge
    verdict), the majority of the other raters is compared with that rating (human figure)
    and with the judge's verdict (judge figure).
    """
    out = {"human": None, "judge": None, "human_no_ties": None, "judge_no_ties": None, "n": 0}
    if human.empty:
        return out
    h = human
    if judge is not None:
        h = human[human[col.PAIR_ID].isin(judge[col.PAIR_ID])]
    if h.empty:
        return out
    counts = pair_counts(h)
    row_pos = counts.index.get_indexer(h[col.PAIR_ID])
    codes = _codes(h[col.PREFERENCE])
    others = counts.to_numpy()[row_pos].copy()
    others[np.arange(len(codes)), codes] -= 1
    tie = CODES.index(Preference.TIE)
    maj = unique_mode(others, tie_code=tie)
    valid = maj >= 0
    if not valid.any():
        return out
    out["n"] = int(valid.sum())
    out["human"] = float((codes == maj)[valid].mean())
    dec_h = valid & (codes != tie) & (maj != tie)
    out["human_no_ties"] = float((codes == maj)[dec_h].mean()) if dec_h.any() else None
    if judge is not None:
        jmap = judge.drop_duplicates(col.PAIR_ID).set_index(col.PAIR_ID)[col.PREFERENCE]
        jcodes = _codes(jmap.reindex(h[col.PAIR_ID]).to_numpy())
        out["judge"] = float((jcodes == maj)[valid].mean())
        dec_j = valid & (jcodes != tie) & (maj != tie)
        out["judge_no_ties"] = float((jcodes == maj)[dec_j].mean()) if dec_j.any() else None
    return out


def position_consistency(judge: pd.DataFrame) -> tuple[float | None, int]:
    """Share of pairs whose two presentation orders gave the same canonical verdict, over
    pairs where both orders produced a verdict; and that number of pairs."""
    if judge.empty:
        return None, 0
    both = judge[col.WINNER_AB].notna() & judge[col.WINNER_BA].notna()
    n = int(both.sum())
    if n == 0:
        return None, 0
    same = judge.loc[both, col.WINNER_AB] == judge.loc[both, col.WINNER_BA]
    return float(same.mean()), n


def first_position_rate(df: pd.DataFrame) -> tuple[float | None, int]:
    """Share of decisive verdicts won by the response shown first (0.5 = no position bias).

    Judges: each order counts (order "ab" shows output_a first, order "ba" output_b), from
    ``winner_ab``/``winner_ba``. Humans: from ``first_shown``. Returns (rate, n decisive).
    """
    if df.empty:
        return None, 0
    if col.WINNER_AB in df and (df[col.WINNER_AB].notna().any() or df[col.WINNER_BA].notna().any()):
        ab = df[col.WINNER_AB][df[col.WINNER_AB].isin(["a", "b"])]
        ba = df[col.WINNER_BA][df[col.WINNER_BA].isin(["a", "b"])]
        n = len(ab) + len(ba)
        first = int((ab == "a").sum() + (ba == "b").sum())
    else:
        known = df[df[col.FIRST_SHOWN].isin(["a", "b"]) & df[col.PREFERENCE].isin(["a", "b"])]
        n = len(known)
        first = int((known[col.PREFERENCE] == known[col.FIRST_SHOWN]).sum())
    return (first / n if n else None), n


def prefers_longer_rate(df: pd.DataFrame) -> tuple[float | None, int]:
    """Share of decisive verdicts, on pairs whose outputs differ in length, that went to the
    longer output (0.5 = no verbosity bias). Returns (rate, n)."""
    if df.empty:
        return None, 0
    la, lb = df[col.LEN_A].astype(float), df[col.LEN_B].astype(float)
    keep = df[col.PREFERENCE].isin(["a", "b"]) & (la != lb) & la.notna() & lb.notna()
    n = int(keep.sum())
    if n == 0:
        return None, 0
    longer = np.where(la[keep] > lb[keep], "a", "b")
    return float((df.loc[keep, col.PREFERENCE].to_numpy() == longer).mean()), n


def score_correlations(judge_scores: pd.DataFrame, human: pd.DataFrame, criteria: list[str]):
    """Spearman and Kendall correlation (scipy) between a single-mode judge's scores and the
    mean human score of the same output, per criterion (names matched case-insensitively);
    ``overall`` is compared with the mean of all human criterion scores. Rows: ``criterion,
    spearman, spearman_p, kendall, kendall_p, n``."""
    from scipy.stats import kendalltau, spearmanr

    if judge_scores.empty or human.empty or not criteria:
        return []
    # Mean human score per (pair, side), one column per criterion by its position (so a
    # criterion can be named anything), and their mean as the judge's "overall".
    parts = []
    for side in col.SIDES:
        names = {col.score_column(c, side): i for i, c in enumerate(criteria)}
        part = human[[col.PAIR_ID, *names]].rename(columns=names)
        parts.append(part.assign(**{col.SIDE: side}))
    h = pd.concat(parts).groupby([col.PAIR_ID, col.SIDE]).mean(numeric_only=True)
    h[col.OVERALL] = h[list(range(len(criteria)))].mean(axis=1)
    position: dict[str, int | str] = {c.lower(): i for i, c in enumerate(criteria)}
    position[col.OVERALL] = col.OVERALL
    rows = []
    for crit, g in judge_scores.groupby(col.CRITERION, sort=False):
        key = position.get(str(crit).lower())
        if key is None:
            continue
        target = col.OVERALL if key == col.OVERALL else criteria[int(key)]
        human_mean = h[key]
        scores = g.set_index([col.PAIR_ID, col.SIDE])[col.SCORE].rename("judge")
        merged = scores.to_frame().join(human_mean.rename("human"), how="inner").dropna()
        n = len(merged)
        rho = rho_p = tau = tau_p = None
        if n >= 3 and merged["judge"].nunique() > 1 and merged["human"].nunique() > 1:
            r = spearmanr(merged["judge"], merged["human"])
            k = kendalltau(merged["judge"], merged["human"])
            rho, rho_p, tau, tau_p = map(float, (r.statistic, r.pvalue, k.statistic, k.pvalue))
        rows.append(
            {
                "criterion": target,
                "spearman": rho,
                "spearman_p": rho_p,
                "kendall": tau,
                "kendall_p": tau_p,
                "n": n,
            }
        )
    return rows


def calibrate(
    judge: pd.DataFrame,
    human: pd.DataFrame,
    *,
    judge_scores: pd.DataFrame | None = None,
    criteria: list[str] | None = None,
    n_unparsed: int = 0,
) -> dict[str, Any]:
    """Everything the report says about one judge. Human-dependent figures are None when
    there are no human ratings; the judge's own figures are always computed. ``n_unparsed``
    counts pairs the judge answered without a readable verdict: never votes, but their rate
    is reported (a judge that fails on hard pairs looks better than it is without it)."""
    pos, n_pos = position_consistency(judge)
    first, n_first = first_position_rate(judge)
    longer, n_longer = prefers_longer_rate(judge)
    human_longer, _ = prefers_longer_rate(human)
    loo = loo_comparison(judge, human)
    n = int(len(judge))
    agree = agreement_with_majority(judge, human)
    return {
        **agree,
        # judge vs human figures rest on the pairs both rated (``small_samples``)
        "small_sample": too_few_overlap(agree["n_with_humans"]) if len(human) else None,
        "agreement_with_loo_majority": loo["judge"],
        "agreement_with_loo_majority_no_ties": loo["judge_no_ties"],
        "human_loo_agreement": loo["human"],
        "human_loo_agreement_no_ties": loo["human_no_ties"],
        "position_consistency": pos,
        "n_both_orders": n_pos,
        "first_position_rate": first,
        "n_first_position": n_first,
        "prefers_longer_rate": longer,
        "n_length_decisive": n_longer,
        "human_prefers_longer_rate": human_longer,
        "tie_rate": float((judge[col.PREFERENCE] == Preference.TIE).mean()) if n else None,
        "inconsistent_rate": float(judge[col.INCONSISTENT].fillna(False).astype(bool).mean())
        if n
        else None,
        "score_correlation": score_correlations(judge_scores, human, criteria or [])
        if judge_scores is not None and len(judge_scores)
        else None,
        "n": n,
        "n_unparsed": n_unparsed,
        "unparsed_rate": n_unparsed / (n + n_unparsed) if n + n_unparsed else None,
    }
