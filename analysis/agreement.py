"""Inter-annotator agreement: Fleiss' and Cohen's kappa, percent and leave-one-out
agreement, and ``agreement_summary``, which adds Krippendorff's alpha (``analysis.alpha``)
for the ``sidebyside agreement`` command. The alpha and table helpers are re-exported here,
so ``analysis.agreement`` stays the one import for agreement measures.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import combinations
from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis.alpha import (  # noqa: F401 - re-exported
    LEVELS,
    RELIABLE,
    TENTATIVE,
    Level,
    alpha_from_coincidences,
    alpha_with_ci,
    check_level,
    check_long,
    cluster_coincidences,
    interpret_alpha,
    krippendorff_alpha,
    unit_coincidences,
    value_counts,
    wide_to_long,
)
from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT
from sidebyside.foundation.enums import Preference

# --------------------------------------------------------------------------- kappas


def fleiss_kappa(counts: np.ndarray) -> float | None:
    """Fleiss' kappa (statsmodels) over units rated at least once; None unless every such
    unit has the same number (≥ 2) of ratings, or when it is undefined (one category only).

    Fleiss (1971), 10 subjects × 14 raters (the Wikipedia worked example):

    >>> table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0],
    ...          [2, 2, 8, 1, 1], [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2],
    ...          [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    >>> round(fleiss_kappa(np.array(table)), 3)
    0.21
    """
    from statsmodels.stats.inter_rater import fleiss_kappa as _fleiss

    counts = np.asarray(counts)
    counts = counts[counts.sum(axis=1) > 0]
    if counts.size == 0:
        return None
    m = counts.sum(axis=1)
    if m.min() != m.max() or m[0] < 2:
        return None
    if np.count_nonzero(counts.sum(axis=0)) < 2:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(_fleiss(counts, method="fleiss"))
    return value if np.isfinite(value) else None


def cohen_kappa(
    r1: Sequence[Any], r2: Sequence[Any], *, weights: str | None = None, labels=None
) -> float | None:
    """Cohen's kappa (scikit-learn), optionally ``weights="quadratic"``/``"linear"``; with
    ``labels`` the weights follow the positions in ``labels`` (pass the full scale so a
    missing level does not shrink the distances). None when undefined.

    Two readers, 50 proposals (Yes/Yes 20, Yes/No 5, No/Yes 10, No/No 15) — kappa 0.4:

    >>> a = ["y"] * 25 + ["n"] * 25
    >>> b = ["y"] * 20 + ["n"] * 5 + ["y"] * 10 + ["n"] * 15
    >>> round(cohen_kappa(a, b), 3)
    0.4
    """
    from sklearn.metrics import cohen_kappa_score

    if len(r1) != len(r2):
        raise ValueError(f"the two raters have {len(r1)} and {len(r2)} ratings")
    if len(r1) == 0:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(cohen_kappa_score(r1, r2, weights=weights, labels=labels))
    return value if np.isfinite(value) else None


def _matrix(long: pd.DataFrame, domain: Sequence[Any] | None = None):
    """(annotators, items) code matrix with -1 for missing, plus labels and domain."""
    items, item_labels = pd.factorize(long["item"])
    anns, ann_labels = pd.factorize(long["annotator"], sort=True)
    dom = pd.Index(sorted(long["value"].unique()) if domain is None else list(domain))
    codes = dom.get_indexer(long["value"])
    if (codes < 0).any():
        raise ValueError(f"value {long['value'][codes < 0].iloc[0]!r} is not in {list(dom)}")
    mat = np.full((len(ann_labels), len(item_labels)), -1, dtype=np.int32)
    mat[anns, items] = codes
    return mat, list(ann_labels), dom


def pairwise_cohen_kappa(
    long: pd.DataFrame,
    *,
    weights: str | None = None,
    domain: Sequence[Any] | None = None,
    min_shared: int = 5,
) -> list[dict[str, Any]]:
    """Cohen's kappa for every pair of annotators sharing at least ``min_shared`` items:
    a list of ``{"annotator_1", "annotator_2", "kappa", "n"}``."""
    long = check_long(long)
    if long.empty:
        return []
    mat, anns, dom = _matrix(long, domain)
    v = len(dom)
    rows = []
    present = mat >= 0
    for i, j in combinations(range(len(anns)), 2):
        shared = present[i] & present[j]
        n = int(shared.sum())
        if n < min_shared:
            continue
        table = np.bincount(mat[i, shared] * v + mat[j, shared], minlength=v * v).reshape(v, v)
        kappa = kappa_from_table(table, weights=weights)
        rows.append({"annotator_1": anns[i], "annotator_2": anns[j], "kappa": kappa, "n": n})
    return rows


def kappa_from_table(table: np.ndarray, *, weights: str | None = None) -> float | None:
    """Cohen's kappa from a (V, V) contingency table via statsmodels — the same number as
    scikit-learn's ``cohen_kappa_score`` with ``labels`` = the table's categories (tested),
    but ~20× faster, which matters for every annotator pair × every criterion.

    >>> round(kappa_from_table(np.array([[20, 5], [10, 15]])), 3)
    0.4
    """
    from statsmodels.stats.inter_rater import cohens_kappa

    table = np.asarray(table, dtype=float)
    n = table.sum()
    if n == 0:
        return None
    expected = np.outer(table.sum(axis=1), table.sum(axis=0)) / n
    if weights is None:
        undefined = np.isclose(np.trace(expected), n)
    else:
        idx = np.arange(len(table))
        dist = np.abs(idx[:, None] - idx[None, :]) ** (2 if weights == "quadratic" else 1)
        undefined = np.isclose((expected * dist).sum(), 0.0)
    if undefined:
        return None
    wt = {None: None, "linear": "linear", "quadratic": "quadratic"}[weights]
    with np.errstate(divide="ignore", invalid="ignore"):
        value = float(cohens_kappa(table, wt=wt, return_results=False))
    return value if np.isfinite(value) else None


def percent_agreement(counts: np.ndarray) -> float | None:
    """Share of agreeing rater pairs, averaged over units with at least two ratings.

    >>> percent_agreement(np.array([[2, 0], [1, 1], [3, 0]]))
    0.6666666666666666
    """
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    keep = m >= 2
    if not keep.any():
        return None
    agree = (counts[keep] * (counts[keep] - 1)).sum(axis=1) / (m[keep] * (m[keep] - 1))
    return float(agree.mean())


# --------------------------------------------------------------------------- codings

#: The standard coding of a pairwise preference: relative to the pair's stored order.
PREFERENCE_DOMAIN = (Preference.A, Preference.B, Preference.TIE)
_FLIP = {Preference.A: Preference.B, Preference.B: Preference.A, Preference.TIE: Preference.TIE}


def swap_symmetric(long: pd.DataFrame) -> pd.DataFrame:
    """Each item twice, as stored and with the sides swapped (a <-> b, tie stays), so a
    chance-corrected figure no longer depends on which system was stored first: the A and
    B marginals become equal. Item k (in order of first appearance) becomes 2k (as stored)
    and 2k + 1 (swapped).

    >>> long = pd.DataFrame({"item": [1, 1], "annotator": ["x", "y"], "value": ["a", "tie"]})
    >>> swap_symmetric(long)["value"].tolist()
    ['a', 'tie', 'b', 'tie']
    """
    long = check_long(long)
    bad = ~long["value"].isin(PREFERENCE_DOMAIN)
    if bad.any():
        raise ValueError(f"preference {long['value'][bad].iloc[0]!r} is not a, b or tie")
    codes, _ = pd.factorize(long["item"])
    stored = long.assign(item=codes * 2)
    swapped = long.assign(item=codes * 2 + 1, value=long["value"].map(_FLIP).to_numpy())
    return pd.concat([stored, swapped], ignore_index=True)


# --------------------------------------------------------------------------- majorities


def unique_mode(counts: np.ndarray, *, tie_code: int = -1) -> np.ndarray:
    """Index of the single most frequent value per row; ``tie_code`` where several values
    share the top count, -2 where a row is empty.

    >>> unique_mode(np.array([[2, 1, 0], [1, 1, 0], [0, 0, 0]]), tie_code=9).tolist()
    [0, 9, -2]
    """
    counts = np.asarray(counts)
    top = counts.max(axis=1) if counts.shape[1] else np.zeros(len(counts))
    n_top = (counts == top[:, None]).sum(axis=1)
    out = np.where(n_top == 1, counts.argmax(axis=1), tie_code)
    return np.where(top > 0, out, -2)


def loo_agreement(
    long: pd.DataFrame, *, tie_value: Any = None, domain: Sequence[Any] | None = None
) -> list[dict[str, Any]]:
    """Each annotator against the majority of the *other* annotators on the same items.

    The majority is the single most frequent value among the others; where several share the
    top count it is ``tie_value`` (for preferences, "tie"), or the item is skipped when
    ``tie_value`` is None. Items nobody else rated are skipped. Returns one
    ``{"annotator", "agreement", "agreement_no_ties", "n", "n_no_ties"}`` per annotator;
    ``agreement_no_ties`` only counts items where neither side is ``tie_value``.
    """
    long = check_long(long)
    if long.empty:
        return []
    dom = list(sorted(long["value"].unique()) if domain is None else domain)
    if tie_value is not None and tie_value not in dom:
        dom.append(tie_value)
    dom_index = pd.Index(dom)
    codes = dom_index.get_indexer(long["value"])
    items, _ = pd.factorize(long["item"])
    counts = np.zeros((items.max() + 1, len(dom)), dtype=int)
    np.add.at(counts, (items, codes), 1)
    others = counts[items].copy()
    others[np.arange(len(codes)), codes] -= 1
    tie_code = dom_index.get_loc(tie_value) if tie_value is not None else -1
    maj = unique_mode(others, tie_code=tie_code)
    valid = maj >= 0
    agree = (maj == codes) & valid
    frame = pd.DataFrame(
        {
            "annotator": long["annotator"].to_numpy(),
            "valid": valid,
            "agree": agree,
            "decisive": valid & (codes != tie_code) & (maj != tie_code),
        }
    )
    frame["agree_decisive"] = frame["agree"] & frame["decisive"]
    rows = []
    for ann, g in frame.groupby("annotator", sort=True):
        n, n_dec = int(g["valid"].sum()), int(g["decisive"].sum())
        rows.append(
            {
                "annotator": ann,
                "agreement": float(g["agree"].sum() / n) if n else None,
                "agreement_no_ties": float(g["agree_decisive"].sum() / n_dec) if n_dec else None,
                "n": n,
                "n_no_ties": n_dec,
            }
        )
    return rows


def agreement_summary(
    long: pd.DataFrame,
    level: str,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    min_shared: int = 2,
) -> dict[str, Any]:
    """Everything ``sidebyside agreement`` prints, for any long table (Cohen's kappa for
    every pair of annotators sharing at least ``min_shared`` items)."""
    level = check_level(level)
    long = check_long(long)
    if level != "nominal":
        numeric = pd.to_numeric(long["value"], errors="coerce")
        if numeric.isna().any():
            bad = long["value"][numeric.isna()].iloc[0]
            raise ValueError(f"level {level} needs numbers, got {bad!r}")
        long = long.assign(value=numeric)
    counts, domain = value_counts(long["item"], long["value"])
    weights = None if level == "nominal" else "quadratic"
    dom_list = list(domain)
    return {
        "level": level,
        "n_items": int(counts.shape[0]),
        "n_annotators": int(long["annotator"].nunique()),
        "n_ratings": int(len(long)),
        "krippendorff_alpha": alpha_with_ci(counts, domain, level, n_boot=n_boot, seed=seed),
        "fleiss_kappa": fleiss_kappa(counts),
        "percent_agreement": percent_agreement(counts),
        "pairwise_cohen_kappa": pairwise_cohen_kappa(
            long, weights=weights, domain=dom_list, min_shared=min_shared
        ),
        "cohen_kappa_weights": weights,
        "loo_agreement": loo_agreement(long, domain=dom_list),
    }
