"""Cluster bootstrap by weighted sums: the one bootstrap behind every CI in ``analysis`` and
``metrics`` (perplexity, text and label metrics).

Most statistics here are a function of a *sum over clusters* (prompts, pairs) of small
per-cluster arrays: a coincidence matrix for Krippendorff's alpha, a win matrix for win rates
and Bradley–Terry. A bootstrap resample of clusters is then a multinomial weight vector, and
all resamples together are one matrix product ``weights (B × C) @ per_cluster (C × F)``. That
keeps 1,000 resamples of 20,000 clusters well under a second, where re-running a library
function 1,000 times would take minutes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import pandas as pd

#: Default number of bootstrap resamples (the report's setting; 95% percentile intervals).
DEFAULT_N_BOOT = 1000
#: Most clusters x resamples drawn at once: keeps memory near 100 MB for a million clusters.
CHUNK_CELLS = 10_000_000


def resample_counts(
    n_clusters: int, *, n_boot: int = DEFAULT_N_BOOT, seed: int = 0, chunk: int = 100
) -> Iterator[np.ndarray]:
    """How often each cluster is drawn in each bootstrap resample: int arrays of shape
    (b, n_clusters), b <= ``chunk`` rows at a time, ``n_boot`` rows in all.

    The one random draw behind every bootstrap here. Resample k draws ``n_clusters`` indices
    with ``rng.integers``; the generator's stream does not depend on how the rows are split
    into chunks, so the chunk size changes memory, never the resamples:

    >>> def all_rows(chunk):
    ...     return np.vstack(list(resample_counts(7, n_boot=5, seed=3, chunk=chunk)))
    >>> bool(np.array_equal(all_rows(2), all_rows(5))), all_rows(5).sum(axis=1).tolist()
    (True, [7, 7, 7, 7, 7])
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    rng = np.random.default_rng(seed)
    rows = max(1, min(chunk, CHUNK_CELLS // max(n_clusters, 1)))
    for start in range(0, n_boot, rows):
        b = min(rows, n_boot - start)
        if n_clusters == 0:
            yield np.zeros((b, 0), dtype=np.int64)
            continue
        draws = rng.integers(0, n_clusters, size=(b, n_clusters))
        draws += np.arange(b)[:, None] * n_clusters  # row k's draws land in bins of row k
        yield np.bincount(draws.ravel(), minlength=b * n_clusters).reshape(b, n_clusters)


def resample_sums(
    per_cluster: Sequence[np.ndarray],
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    chunk: int = 100,
) -> list[np.ndarray]:
    """Sums of per-cluster arrays over ``n_boot`` bootstrap resamples of the clusters.

    ``per_cluster`` holds arrays of shape (C, ...) that share the cluster axis C; every array
    is summed over the *same* resamples, so statistics computed from different arrays stay
    paired. Returns one array of shape (n_boot, ...) per input.

    >>> x = np.ones((4, 2))
    >>> [s.shape for s in resample_sums([x, x[:, 0]], n_boot=3)]
    [(3, 2), (3,)]
    >>> bool(np.all(resample_sums([x], n_boot=5)[0] == 4))  # each resample has C clusters
    True
    """
    if not per_cluster:
        return []
    n_clusters = per_cluster[0].shape[0]
    for arr in per_cluster:
        if arr.shape[0] != n_clusters:
            raise ValueError(
                f"all arrays need the same number of clusters; got {arr.shape[0]} and {n_clusters}"
            )
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    flat = [np.asarray(a, dtype=np.float64).reshape(n_clusters, -1) for a in per_cluster]
    widths = [f.shape[1] for f in flat]
    stacked = np.hstack(flat) if flat else np.zeros((n_clusters, 0))
    out = np.empty((n_boot, stacked.shape[1]))
    start = 0
    for counts in resample_counts(n_clusters, n_boot=n_boot, seed=seed, chunk=chunk):
        out[start : start + len(counts)] = counts.astype(np.float64) @ stacked  # BLAS dgemm
        start += len(counts)
    results = []
    offset = 0
    for arr, width in zip(per_cluster, widths, strict=True):
        results.append(out[:, offset : offset + width].reshape((n_boot, *arr.shape[1:])))
        offset += width
    return results


def stratified_resample_sums(
    per_cluster: np.ndarray, strata: np.ndarray, *, n_boot: int = DEFAULT_N_BOOT, seed: int = 0
) -> dict[Any, np.ndarray]:
    """Bootstrap sums of ``per_cluster`` (C, ...) within each stratum: clusters are resampled
    only among those with the same label in ``strata`` (C,), as if each stratum were its own
    study. Returns {stratum: array (n_boot, ...)}; one generator serves all strata.

    >>> x = np.arange(6.0)[:, None]
    >>> out = stratified_resample_sums(x, np.array(list("aabbbb")), n_boot=4)
    >>> sorted(map(str, out)), out["a"].shape
    (['a', 'b'], (4, 1))
    >>> bool(np.all((out["a"] >= 0) & (out["a"] <= 2)))  # two draws from {0, 1}
    True
    """
    if n_boot < 1:
        raise ValueError(f"n_boot must be at least 1, got {n_boot}")
    flat = np.asarray(per_cluster, dtype=np.float64).reshape(len(per_cluster), -1)
    rng = np.random.default_rng(seed)
    out = {}
    for label in pd.unique(strata):
        idx = np.flatnonzero(strata == label)
        counts = rng.multinomial(len(idx), np.full(len(idx), 1.0 / len(idx)), size=n_boot)
        sums = counts.astype(np.float64) @ flat[idx]
        out[label] = sums.reshape((n_boot, *np.shape(per_cluster)[1:]))
    return out


def percentile_ci(draws: np.ndarray, confidence: float = 0.95) -> tuple[float | None, float | None]:
    """Percentile interval of bootstrap draws, ignoring undefined (NaN) draws.

    >>> [round(x, 6) for x in percentile_ci(np.arange(101.0))]
    [2.5, 97.5]
    >>> percentile_ci(np.array([np.nan, np.nan]))
    (None, None)
    """
    draws = np.asarray(draws, dtype=float)
    draws = draws[np.isfinite(draws)]
    if draws.size == 0:
        return None, None
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(draws, [tail, 100.0 - tail])
    return float(low), float(high)
