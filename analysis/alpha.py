"""Krippendorff's alpha with bootstrap CIs, and the tables every agreement measure reads.

Inputs are *long* tables — one row per (item, annotator, value) — or the ``value_counts``
matrix derived from them (shape (U, V): how many annotators gave unit u the value v), the
layout the ``krippendorff`` package calls ``value_counts``. Point estimates come from the
well-kept libraries (``krippendorff``, statsmodels, scikit-learn); only the bootstrap
recomputes alpha itself, from coincidence matrices, because it needs a thousand resamples at
once (see ``analysis.bootstrap``). Tests check both paths against Krippendorff's published
examples.

Krippendorff (2011), *Computing Krippendorff's Alpha-Reliability*, 4 coders × 12 units:

>>> data = [[1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
...         [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
...         [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
...         [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None]]
>>> long = wide_to_long(pd.DataFrame(data).T)
>>> counts, domain = value_counts(long["item"], long["value"], domain=[1, 2, 3, 4, 5])
>>> [round(krippendorff_alpha(counts, domain, lvl), 3) for lvl in LEVELS]
[0.743, 0.815, 0.849, 0.797]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, percentile_ci, resample_sums
from sidebyside.analysis.small_samples import min_overlap, too_few_overlap

Level = Literal["nominal", "ordinal", "interval", "ratio"]
LEVELS: tuple[Level, ...] = ("nominal", "ordinal", "interval", "ratio")

#: Krippendorff's (2004) thresholds for drawing conclusions from coded data.
RELIABLE, TENTATIVE = 0.800, 0.667


def check_level(level: str) -> Level:
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, got {level!r}")
    return level  # type: ignore[return-value]


# --------------------------------------------------------------------------- tables


def wide_to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """One row per item, one column per annotator (missing = NaN/None) ─► long table
    with columns ``item, annotator, value``; missing cells are dropped."""
    long = wide.rename_axis(index="item", columns="annotator").stack(future_stack=True)
    long = long.rename("value").reset_index()
    return long[long["value"].notna()].reset_index(drop=True)


def check_long(long: pd.DataFrame) -> pd.DataFrame:
    """Validate a long table: the three columns present, one value per (item, annotator)."""
    missing = [c for c in ("item", "annotator", "value") if c not in long.columns]
    if missing:
        raise ValueError(f"the table needs columns item, annotator, value; missing {missing}")
    long = long[long["value"].notna()]
    dupes = long.duplicated(["item", "annotator"], keep=False)
    if dupes.any():
        first = {
            k: (v.item() if isinstance(v, np.generic) else v)
            for k, v in long[dupes].iloc[0].items()
        }
        raise ValueError(
            f"annotator {first['annotator']!r} gave item {first['item']!r} more than one value"
        )
    return long


def value_counts(
    items: Sequence[Any] | pd.Series,
    values: Sequence[Any] | pd.Series,
    *,
    domain: Sequence[Any] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Count matrix (U, V) of values per item, plus the value domain (V,) it is indexed by.

    Items appear in order of first appearance; the domain is sorted unless given. A value
    outside a given domain raises ``ValueError``.

    >>> counts, dom = value_counts(["x", "x", "y"], ["b", "a", "a"])
    >>> counts.tolist(), dom.tolist()
    ([[1, 1], [1, 0]], ['a', 'b'])
    """
    items = pd.Series(np.asarray(items, dtype=object))
    values = pd.Series(np.asarray(values, dtype=object))
    dom = np.asarray(sorted(values.unique()) if domain is None else list(domain), dtype=object)
    codes = pd.Index(dom).get_indexer(values)
    if (codes < 0).any():
        bad = values[codes < 0].iloc[0]
        raise ValueError(f"value {bad!r} is not in the domain {list(dom)}")
    unit_codes, _ = pd.factorize(items)
    counts = np.zeros((int(unit_codes.max()) + 1 if len(unit_codes) else 0, len(dom)), int)
    np.add.at(counts, (unit_codes, codes), 1)
    if all(isinstance(x, int | float | np.number) and not isinstance(x, bool) for x in dom):
        dom = dom.astype(float)  # numeric domains stay numeric for the distance metrics
    return counts, dom


# --------------------------------------------------------------------------- alpha


def krippendorff_alpha(counts: np.ndarray, domain: np.ndarray, level: str) -> float | None:
    """Krippendorff's alpha from a (U, V) count matrix via the ``krippendorff`` package;
    None when undefined (fewer than two values in use, or no unit with two values)."""
    import krippendorff

    level = check_level(level)
    counts = np.asarray(counts)
    pairable = counts[counts.sum(axis=1) >= 2]
    if pairable.size == 0 or np.count_nonzero(pairable.sum(axis=0)) < 2:
        return None
    dom = domain if level != "nominal" else np.arange(len(domain))
    value = krippendorff.alpha(value_counts=pairable, value_domain=dom, level_of_measurement=level)
    return float(value) if np.isfinite(value) else None


def unit_coincidences(counts: np.ndarray) -> np.ndarray:
    """Each unit's share of the coincidence matrix, shape (U, V, V); units with fewer than two
    values contribute zeros. Summed over units this is Krippendorff's ``o``."""
    counts = np.asarray(counts, dtype=float)
    m = counts.sum(axis=1)
    o = counts[:, :, None] * counts[:, None, :]
    idx = np.arange(counts.shape[1])
    o[:, idx, idx] -= counts
    scale = np.divide(1.0, m - 1, out=np.zeros_like(m), where=m >= 2)
    return o * scale[:, None, None]


def _distances(domain: np.ndarray, level: str, n_v: np.ndarray) -> np.ndarray:
    """δ² for every value pair; shape (..., V, V) (ordinal depends on the marginals n_v)."""
    v = len(domain)
    if level == "nominal":
        return 1.0 - np.eye(v)
    x = np.asarray(domain, dtype=float)
    if level == "interval":
        return (x[:, None] - x[None, :]) ** 2
    if level == "ratio":
        s = x[:, None] + x[None, :]
        return np.divide(x[:, None] - x[None, :], s, out=np.zeros((v, v)), where=s != 0) ** 2
    i, j = np.meshgrid(np.arange(v), np.arange(v), indexing="ij")
    lo, hi = np.minimum(i, j), np.maximum(i, j)
    cs = np.cumsum(n_v, axis=-1)
    between = cs[..., hi] - cs[..., lo] + n_v[..., lo]
    return (between - (n_v[..., i] + n_v[..., j]) / 2.0) ** 2


def alpha_from_coincidences(o: np.ndarray, domain: np.ndarray, level: str) -> np.ndarray:
    """Alpha from coincidence matrices of shape (..., V, V), vectorised over leading axes;
    NaN where undefined. Equal to ``krippendorff.alpha`` on the same data (tested)."""
    level = check_level(level)
    o = np.asarray(o, dtype=float)
    n_v = o.sum(axis=-1)
    n = n_v.sum(axis=-1)
    e = n_v[..., :, None] * n_v[..., None, :]
    idx = np.arange(o.shape[-1])
    e[..., idx, idx] -= n_v
    with np.errstate(divide="ignore", invalid="ignore"):
        e = e / (n - 1)[..., None, None]
        d = _distances(domain, level, n_v)
        d_o = (o * d).sum(axis=(-2, -1))
        d_e = (e * d).sum(axis=(-2, -1))
        return np.where(d_e > 0, 1.0 - d_o / d_e, np.nan)


def cluster_coincidences(
    counts: np.ndarray,
    clusters: Sequence[Any] | None = None,
    *,
    index: pd.Index | None = None,
) -> np.ndarray:
    """Per-cluster coincidence matrices (C, V, V): units of one cluster (e.g. the two sides of
    a pair) are resampled together by the bootstrap. With ``index`` the rows follow it (a
    cluster missing from the data gets zeros), so several statistics can share one resample."""
    per_unit = unit_coincidences(counts)
    if clusters is None and index is None:
        return per_unit
    labels = np.asarray(clusters if clusters is not None else np.arange(len(per_unit)))
    if index is None:
        codes, uniques = pd.factorize(labels)
        n = len(uniques)
    else:
        codes, n = index.get_indexer(labels), len(index)
        if (codes < 0).any():
            raise ValueError("a unit's cluster is not in the given index")
    flat = per_unit.reshape(len(per_unit), -1)
    out = (
        np.stack(
            [np.bincount(codes, weights=flat[:, j], minlength=n) for j in range(flat.shape[1])],
            axis=1,
        )
        if flat.shape[1]
        else np.zeros((n, 0))
    )
    return out.reshape(n, *per_unit.shape[1:])


def interpret_alpha(alpha: float | None) -> str:
    """Krippendorff's (2004) reading of alpha in plain words.

    >>> interpret_alpha(0.85)
    'reliable (alpha ≥ 0.800): conclusions can rest on these ratings'
    >>> interpret_alpha(0.7).split(" (")[0]
    'tentative'
    """
    if alpha is None or not np.isfinite(alpha):
        return "not defined: too few units rated twice, or every rating has the same value"
    if alpha >= RELIABLE:
        return "reliable (alpha ≥ 0.800): conclusions can rest on these ratings"
    if alpha >= TENTATIVE:
        return (
            "tentative (0.667 ≤ alpha < 0.800): good enough for tentative conclusions only; "
            "tighten the guidelines"
        )
    if alpha < 0:
        return (
            "systematic disagreement (alpha < 0): annotators disagree more than chance would; "
            "check that everyone reads the scale the same way round"
        )
    return (
        "unreliable (alpha < 0.667): the rubric or the guidelines need work before the "
        "ratings can be trusted"
    )


def alpha_with_ci(
    counts: np.ndarray,
    domain: np.ndarray,
    level: str,
    *,
    clusters: Sequence[Any] | None = None,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    boot: np.ndarray | None = None,
) -> dict[str, Any]:
    """Alpha, a bootstrap percentile CI that resamples units (or ``clusters`` of units), the
    number of units with at least two values, and the plain-language reading.

    ``boot`` may pass coincidence matrices already summed over resamples (B, V, V), e.g. from
    one ``resample_sums`` call shared by several statistics."""
    alpha = krippendorff_alpha(counts, domain, level)
    pairable = int((np.asarray(counts).sum(axis=1) >= 2).sum())
    low = high = None
    if alpha is not None and boot is None and n_boot > 0:
        per_cluster = cluster_coincidences(counts, clusters)
        (boot,) = resample_sums([per_cluster], n_boot=n_boot, seed=seed)
    if alpha is not None and boot is not None:
        low, high = percentile_ci(alpha_from_coincidences(boot, domain, level), confidence)
    return {
        "alpha": alpha,
        "ci_low": low,
        "ci_high": high,
        "level": level,
        "n_units": pairable,
        "n_values": int(np.asarray(counts)[np.asarray(counts).sum(axis=1) >= 2].sum()),
        "reading": _reading(alpha, pairable),
    }


def _reading(alpha: float | None, n_units: int) -> str:
    """``interpret_alpha``, unless too few units were rated twice for any reading at all."""
    few = too_few_overlap(n_units)
    if few is None or alpha is None:
        return interpret_alpha(alpha)
    return (
        f"{few}: fewer than {min_overlap()} units rated at least twice, so this alpha is "
        "no evidence of agreement or disagreement yet"
    )
