"""Corpus BLEU and chrF from per-segment sufficient statistics, so a bootstrap over prompts
rescores summed statistics instead of re-tokenising every resample.

sacrebleu keeps this path private (``_extract_corpus_statistics``,
``_compute_score_from_stats``), so it is built from sacrebleu's public pieces: BLEU's counts
and lengths come from ``BLEU.sentence_score`` and its score from the public static
``BLEU.compute_bleu``; chrF's character n-grams come from ``sacrebleu.metrics.helpers`` and its
F-score is computed here as sacrebleu's chrF defines it (tests check both against sacrebleu's
corpus scores).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sacrebleu.metrics import BLEU, CHRF
from sacrebleu.metrics.helpers import extract_all_char_ngrams


def bleu_statistics(metric: BLEU, hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> np.ndarray:
    """One row per segment: ``[hyp_len, ref_len, correct_1..N, total_1..N]`` (sacrebleu's
    layout; the reference length is the closest one, as corpus BLEU takes it)."""
    # Same tokenisation and casing as ``metric``; effective order only changes a sentence's
    # score, not its counts, and spares sacrebleu's sentence-level warning.
    segment = BLEU(
        lowercase=metric.lowercase,
        tokenize=metric.tokenizer_signature,
        max_ngram_order=metric.max_ngram_order,
        effective_order=True,
    )
    rows = []
    for hyp, ref_list in zip(hyps, refs, strict=True):
        s = segment.sentence_score(hyp, list(ref_list))
        rows.append([s.sys_len, s.ref_len, *s.counts, *s.totals])
    return np.asarray(rows, dtype=np.float64)


def bleu_from_statistics(metric: BLEU, summed: np.ndarray) -> float:
    """Corpus BLEU (0-100) of summed segment statistics, with ``metric``'s smoothing."""
    n = metric.max_ngram_order
    return BLEU.compute_bleu(
        correct=[int(x) for x in summed[2 : 2 + n]],
        total=[int(x) for x in summed[2 + n :]],
        sys_len=int(summed[0]),
        ref_len=int(summed[1]),
        smooth_method=metric.smooth_method,
        smooth_value=metric.smooth_value,
        effective_order=metric.effective_order,
        max_ngram_order=n,
    ).score


def _match(hyp: list, ref: list) -> list[int]:
    """Per n-gram order ``[hyp count, ref count, matches]`` (hypothesis n-grams only count
    where the reference has n-grams of that order, as in sacrebleu)."""
    out = []
    for h, r in zip(hyp, ref, strict=True):
        matches = sum(min(c, r[g]) for g, c in h.items() if g in r)
        out += [sum(h.values()) if r else 0, sum(r.values()), matches]
    return out


def chrf_score(metric: CHRF, stats: Sequence[float]) -> float:
    """chrF (0-100) of one segment's or a corpus's summed ``[hyp, ref, match]`` triples:
    precision and recall averaged over the orders with n-grams on both sides, then F-beta."""
    eps, factor = 1e-16, metric.beta**2
    prec_sum = rec_sum = f_sum = 0.0
    effective = 0
    for i in range(metric.order):
        n_hyp, n_ref, n_match = stats[3 * i : 3 * i + 3]
        prec = n_match / n_hyp if n_hyp > 0 else eps
        rec = n_match / n_ref if n_ref > 0 else eps
        denom = factor * prec + rec
        f_sum += (1 + factor) * prec * rec / denom if denom > 0 else eps
        if n_hyp > 0 and n_ref > 0:
            prec_sum, rec_sum, effective = prec_sum + prec, rec_sum + rec, effective + 1
    if metric.eps_smoothing:
        return 100 * f_sum / metric.order
    if effective == 0:
        return 0.0
    prec, rec = prec_sum / effective, rec_sum / effective
    return 100 * (1 + factor) * prec * rec / (factor * prec + rec) if prec + rec else 0.0


def chrf_statistics(metric: CHRF, hyps: Sequence[str], refs: Sequence[Sequence[str]]) -> np.ndarray:
    """One row per segment: the ``[hyp, ref, match]`` triples of each character order against
    the segment's best-scoring reference (the first of equals), as sacrebleu's chrF picks it."""
    if metric.word_order:
        raise ValueError("chrF++ (word n-grams) is not supported here; use plain chrF")

    def grams(text: str) -> list:
        text = text.lower() if metric.lowercase else text
        return extract_all_char_ngrams(text, metric.char_order, metric.whitespace)

    rows = []
    for hyp, ref_list in zip(hyps, refs, strict=True):
        h = grams(hyp)
        best, best_f = None, -1.0
        for ref in ref_list:
            stats = _match(h, grams(ref))
            f = chrf_score(metric, stats)
            if f > best_f:
                best, best_f = stats, f
        rows.append(best)
    return np.asarray(rows, dtype=np.float64)
