"""Perplexity statistics: per-text scores of one run, corpus perplexity, bits per byte,
bootstrap CIs over texts and the paired comparison of two models; plus reading text sets.

Pure numpy, no torch: the Results page imports this without loading a model.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sidebyside.analysis.bootstrap import percentile_ci, resample_sums
from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.readers import jsonl_records, read_utf8, text_lines


class EmptyTextWarning(UserWarning):
    """Empty or whitespace-only texts were skipped."""


@dataclass
class TextScores:
    """Per-text results of one model on one text set; arrays are aligned with the input texts.

    Skipped texts (empty / whitespace-only) have ``nll == 0`` and ``n_tokens == 0`` and are
    listed in ``skipped``; they add nothing to any sum.
    """

    model: str
    texts: str
    nll: np.ndarray  # (n_texts,) float64, nats summed over the scored tokens of each text
    n_tokens: np.ndarray  # (n_texts,) int64, scored tokens
    n_bytes: np.ndarray  # (n_texts,) int64, UTF-8 bytes (0 for skipped texts)
    skipped: list[int] = field(default_factory=list)
    seconds: float = 0.0
    processed_tokens: int = 0  # tokens fed to the model, window overlaps included
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def nll_sum(self) -> float:
        return float(self.nll.sum())

    @property
    def total_tokens(self) -> int:
        return int(self.n_tokens.sum())

    @property
    def perplexity(self) -> float:
        """Corpus perplexity exp(total NLL / scored tokens); NaN only if nothing was scored."""
        return corpus_perplexity(self.nll, self.n_tokens)

    @property
    def bits_per_byte(self) -> float:
        total = int(self.n_bytes.sum())
        return self.nll_sum / (math.log(2) * total) if total else float("nan")

    @property
    def tokens_per_second(self) -> float:
        return self.total_tokens / self.seconds if self.seconds > 0 else float("nan")

    def ci(self, n_boot: int = 1000, seed: int = 0) -> tuple[float, float]:
        return bootstrap_ci(self.nll, self.n_tokens, n_boot=n_boot, seed=seed)

    def summary(self, n_boot: int = 1000, seed: int = 0) -> dict[str, Any]:
        low, high = self.ci(n_boot, seed)
        return {
            "model": self.model,
            "texts": self.texts,
            "perplexity": self.perplexity,
            "nll_sum": self.nll_sum,
            "n_tokens": self.total_tokens,
            "bits_per_byte": self.bits_per_byte,
            "ci_low": low,
            "ci_high": high,
            "tokens_per_second": self.tokens_per_second,
        }


# --------------------------------------------------------------------------- statistics


def corpus_perplexity(nll: np.ndarray, n_tokens: np.ndarray) -> float:
    """exp(sum(nll) / sum(n_tokens)) -- never the mean of per-text perplexities.

    >>> corpus_perplexity(np.array([2.0, 0.0]), np.array([1, 1]))  # doctest: +ELLIPSIS
    2.718...
    """
    total = int(np.asarray(n_tokens).sum())
    return math.exp(float(np.asarray(nll).sum()) / total) if total else float("nan")


def bootstrap_ci(
    nll: np.ndarray,
    n_tokens: np.ndarray,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap CI of corpus perplexity, resampling texts with replacement."""
    keep = np.asarray(n_tokens) > 0
    if keep.sum() < 2:
        return (float("nan"), float("nan"))
    cols = [np.asarray(nll)[keep], np.asarray(n_tokens)[keep]]
    s_nll, s_n = resample_sums(cols, n_boot=n_boot, seed=seed)
    return _interval(np.exp(s_nll / s_n), alpha)


def _interval(draws: np.ndarray, alpha: float) -> tuple[float, float]:
    low, high = percentile_ci(draws, 1 - alpha)
    return (float("nan") if low is None else low, float("nan") if high is None else high)


@dataclass(frozen=True)
class Comparison:
    """Relative change of ``other`` against ``base`` on the same texts, with a paired CI."""

    metric: str  # "perplexity" (same token counts) or "bits_per_byte" (different tokenizers)
    base: float
    other: float
    rel_change: float
    ci_low: float
    ci_high: float


def paired_comparison(
    base: TextScores,
    other: TextScores,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> Comparison:
    """Paired bootstrap over texts of the relative change other/base - 1.

    Both results must cover the same texts. Perplexity is compared when both models tokenized
    the texts identically (same per-text token counts); otherwise perplexities are not on one
    scale and bits per byte is compared instead.
    """
    if len(base.nll) != len(other.nll):
        raise ValueError(
            f"cannot pair {base.texts!r} ({len(base.nll)} texts) with "
            f"{other.texts!r} ({len(other.nll)} texts): not the same text set"
        )
    same_tok = np.array_equal(base.n_tokens, other.n_tokens)
    keep = (base.n_tokens > 0) & (other.n_tokens > 0)
    if same_tok:
        metric, b_val, o_val = "perplexity", base.perplexity, other.perplexity
        cols = [base.nll[keep], base.n_tokens[keep], other.nll[keep], other.n_tokens[keep]]
    else:
        metric, b_val, o_val = "bits_per_byte", base.bits_per_byte, other.bits_per_byte
        cols = [base.nll[keep], base.n_bytes[keep], other.nll[keep], other.n_bytes[keep]]
    rel = o_val / b_val - 1.0
    if keep.sum() < 2:
        return Comparison(metric, b_val, o_val, rel, float("nan"), float("nan"))
    bn, bd, on, od = resample_sums(cols, n_boot=n_boot, seed=seed)
    # same tokens: ratio of perplexities; else ratio of bits per byte
    boot = np.exp(on / od - bn / bd) - 1.0 if same_tok else (on / od) / (bn / bd) - 1.0
    return Comparison(metric, b_val, o_val, rel, *_interval(boot, alpha))


# --------------------------------------------------------------------------- inputs


def read_texts(
    path: str | Path, *, paragraphs: bool = False, field_name: str = "text"
) -> list[str]:
    """Texts of a ``.txt`` file (one per line, or blank-line separated paragraphs) or a
    ``.jsonl`` file (one object per line with a string ``field_name``).

    Raises ``FileInputError`` naming the file and line of a bad record."""
    path = Path(path)
    content = read_utf8(path)
    if path.suffix.lower() == ".jsonl":
        texts = []
        for lineno, record in jsonl_records(str(path), content):
            if not isinstance(record.get(field_name), str):
                raise FileInputError(
                    str(path),
                    f"expected an object with a string {field_name!r} field",
                    lineno,
                    field_name,
                )
            texts.append(record[field_name])
        return texts
    if paragraphs:
        return [p.strip() for p in re.split(r"\n[ \t\r\f\v]*\n", content) if p.strip()]
    return text_lines(content)


def texts_sha256(texts: Sequence[str]) -> str:
    """Identity of a text set: runs are only paired when this matches."""
    import hashlib

    return hashlib.sha256(json.dumps(list(texts), ensure_ascii=False).encode()).hexdigest()


def comparison_rows(
    results: Sequence[TextScores], *, n_boot: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """The model x text set table: one row per result (text sets in order of appearance, then
    models), with the relative change against the first model on the same texts and its paired
    bootstrap CI (``rel_change`` is None for the first model or when it lacks that text set)."""
    models = list(dict.fromkeys(r.model for r in results))
    text_sets = list(dict.fromkeys(r.texts for r in results))
    by_key = {(r.model, r.texts): r for r in results}
    rows = []
    for texts in text_sets:
        base = by_key.get((models[0], texts))
        for model in models:
            result = by_key.get((model, texts))
            if result is None:
                continue
            row = result.summary(n_boot=n_boot, seed=seed)
            row.update(rel_change=None, rel_ci_low=None, rel_ci_high=None, compared_on=None)
            if base is not None and model != models[0] and len(base.nll) == len(result.nll):
                cmp = paired_comparison(base, result, n_boot=n_boot, seed=seed)
                row.update(
                    rel_change=cmp.rel_change,
                    rel_ci_low=cmp.ci_low,
                    rel_ci_high=cmp.ci_high,
                    compared_on=cmp.metric,
                )
            rows.append(row)
    return rows


def format_rows(rows: Sequence[dict[str, Any]]) -> str:
    """Plain-text table of ``comparison_rows`` (the relative change is in percent)."""

    def pct(x: float | None) -> str:
        return "" if x is None or math.isnan(x) else f"{100 * x:+.1f}%"

    header = ("model", "texts", "ppl", "95% CI", "bits/byte", "tokens", "vs first", "95% CI")
    table = [header]
    for r in rows:
        rel = pct(r["rel_change"])
        if rel and r["compared_on"] == "bits_per_byte":
            rel += " (bpb)"
        table.append(
            (
                r["model"],
                r["texts"],
                f"{r['perplexity']:.3f}",
                f"{r['ci_low']:.3f}-{r['ci_high']:.3f}",
                f"{r['bits_per_byte']:.4f}",
                str(r["n_tokens"]),
                rel,
                f"{pct(r['rel_ci_low'])} .. {pct(r['rel_ci_high'])}" if rel else "",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in table
    )
