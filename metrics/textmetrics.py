"""Automatic metrics of outputs against references, with bootstrap CIs over prompts.

BLEU and chrF come from sacrebleu (corpus-level: the CI resamples per-segment sufficient
statistics, as sacrebleu's own ``--confidence`` does; see ``metrics.corpus_stats``),
ROUGE-1/2/L F-measure from rouge-score with stemming, exact match after whitespace strip,
SQuAD-style token F1; label tasks go through scikit-learn. All text metrics are on a 0-100
scale. Several references per prompt are allowed: BLEU/chrF use them all, the per-prompt
metrics take the best-matching one.

METEOR (NLTK's, best reference per prompt) is added when a WordNet database is installed
(``metrics.meteor``: NLTK's data or the OS package; nothing is downloaded at run time).
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from functools import cache
from typing import Any

import numpy as np

from sidebyside.analysis.bootstrap import percentile_ci, resample_counts, resample_sums

TEXT_METRICS = ("bleu", "chrf", "rouge1", "rouge2", "rougeL", "exact_match", "token_f1")
#: Offered when WordNet is installed (``text_metrics(meteor=...)``).
METEOR = "meteor"
LABEL_METRICS = ("accuracy", "macro_f1", "weighted_f1")

References = Sequence[str] | Sequence[Sequence[str]]


@dataclass(frozen=True)
class MetricValue:
    """One metric over a set of prompts with its percentile bootstrap 95% CI."""

    name: str
    value: float
    ci_low: float
    ci_high: float
    n: int

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class LabelReport:
    """Accuracy and F1 of a label task, plus scikit-learn's per-class report."""

    metrics: dict[str, MetricValue]
    per_class: dict[str, dict[str, float]] = field(default_factory=dict)


# --------------------------------------------------------------------------- per-prompt


def normalize_answer(text: str) -> str:
    """SQuAD normalisation: lower case, no punctuation, no articles, single spaces.

    >>> normalize_answer("The  Eiffel Tower!")
    'eiffel tower'
    """
    text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
    text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    """1.0 if equal after stripping surrounding whitespace, else 0.0."""
    return float(prediction.strip() == reference.strip())


def token_f1(prediction: str, reference: str) -> float:
    """SQuAD-style token F1 between normalised answers (both empty counts as a match).

    >>> round(token_f1("the cat sat", "a cat sat down"), 4)
    0.8
    """
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _as_ref_lists(predictions: Sequence[str], references: References) -> list[list[str]]:
    if len(predictions) != len(references):
        raise ValueError(
            f"{len(predictions)} predictions but {len(references)} references: "
            "each prediction needs its reference(s)"
        )
    out = []
    for i, ref in enumerate(references):
        refs = [ref] if isinstance(ref, str) else list(ref)
        if not refs or not all(isinstance(r, str) for r in refs):
            raise ValueError(f"reference {i + 1}: expected a string or a non-empty list of strings")
        out.append(refs)
    return out


# --------------------------------------------------------------------------- bootstrap


def _interval(draws: np.ndarray | None, alpha: float) -> tuple[float, float]:
    """Percentile CI of the resampled values; NaN when no resamples were asked for."""
    low, high = (None, None) if draws is None else percentile_ci(draws, 1 - alpha)
    return (np.nan if low is None else low, np.nan if high is None else high)


def _corpus_value(metric: Any, hyps: list[str], refs: list[list[str]]) -> float:
    """A sacrebleu corpus metric's score, several references per prompt allowed."""
    width = max(len(r) for r in refs)
    # Pad with repeats: a duplicated reference changes neither BLEU's clipped counts and
    # closest length nor chrF's best-reference choice.
    streams = [[r[j] if j < len(r) else r[0] for r in refs] for j in range(width)]
    return float(metric.corpus_score(hyps, streams).score)


# --------------------------------------------------------------------------- public API


@cache
def _corpus_metrics() -> dict[str, tuple[Any, Any, Any]]:
    """Each corpus metric with its per-segment statistics and its score from summed ones."""
    from sacrebleu.metrics import BLEU, CHRF

    from sidebyside.metrics import corpus_stats as cs

    return {
        "bleu": (BLEU(), cs.bleu_statistics, cs.bleu_from_statistics),
        "chrf": (CHRF(), cs.chrf_statistics, cs.chrf_score),
    }


def text_statistics(
    predictions: Sequence[str], references: References, *, meteor: bool | None = None
) -> dict[str, np.ndarray]:
    """Per-prompt statistics of every text metric, rows aligned with the predictions: BLEU's
    and chrF's sufficient statistics, the other metrics' 0-100 scores. Summed over any set of
    prompts, ``text_scores`` turns them into the metric of those prompts, so two systems on
    the same prompts can be resampled together (a paired bootstrap). ``meteor``: as in
    ``text_metrics``."""
    from rouge_score import rouge_scorer

    refs = _as_ref_lists(predictions, references)
    hyps = [str(p) for p in predictions]
    if not hyps:
        raise ValueError("no predictions to score")
    per_prompt: dict[str, np.ndarray] = {
        key: statistics(metric, hyps, refs)
        for key, (metric, statistics, _) in _corpus_metrics().items()
    }
    scorer = rouge_scorer.RougeScorer(["rouge1", "rouge2", "rougeL"], use_stemmer=True)
    for key in ("rouge1", "rouge2", "rougeL", "exact_match", "token_f1"):
        per_prompt[key] = np.empty(len(hyps))
    for i, (hyp, ref_list) in enumerate(zip(hyps, refs, strict=True)):
        scores = scorer.score_multi(ref_list, hyp)  # best reference per ROUGE type
        for key in ("rouge1", "rouge2", "rougeL"):
            per_prompt[key][i] = 100 * scores[key].fmeasure
        per_prompt["exact_match"][i] = 100 * max(exact_match(hyp, r) for r in ref_list)
        per_prompt["token_f1"][i] = 100 * max(token_f1(hyp, r) for r in ref_list)
    if meteor is None:
        from sidebyside.metrics.meteor import wordnet_available

        meteor = wordnet_available()
    if meteor:
        from sidebyside.metrics.meteor import meteor_scores

        per_prompt[METEOR] = 100 * np.asarray(meteor_scores(hyps, refs), dtype=np.float64)
    return per_prompt


def text_scores(name: str, summed: np.ndarray, n: int) -> np.ndarray:
    """The metric ``name`` from ``text_statistics`` summed over ``n`` prompts, one value per
    row of ``summed`` (n_boot, ...): corpus metrics rescored (as sacrebleu's --confidence),
    per-prompt metrics averaged."""
    corpus = _corpus_metrics()
    if name in corpus:
        metric, _, rescore = corpus[name]
        return np.array([rescore(metric, row) for row in summed])
    return np.asarray(summed, dtype=np.float64) / n


def text_metrics(
    predictions: Sequence[str],
    references: References,
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
    meteor: bool | None = None,
) -> dict[str, MetricValue]:
    """BLEU, chrF, ROUGE-1/2/L F, exact match, token F1 and METEOR (0-100) with bootstrap CIs
    over prompts; every metric is resampled with the same prompt indices. ``meteor``: None
    adds METEOR when WordNet is installed, True requires it (``ConfigError`` otherwise),
    False leaves it out."""
    per_prompt = text_statistics(predictions, references, meteor=meteor)
    refs = _as_ref_lists(predictions, references)
    hyps = [str(p) for p in predictions]
    names = [k for k in (*TEXT_METRICS, METEOR) if k in per_prompt]
    values = {
        key: _corpus_value(metric, hyps, refs) for key, (metric, _, _) in _corpus_metrics().items()
    }
    for key in names[2:]:
        values[key] = float(per_prompt[key].mean())
    # one resample of prompts for every metric
    boot: dict[str, np.ndarray | None] = dict.fromkeys(names)
    if n_boot > 0:
        sums = resample_sums([per_prompt[k] for k in names], n_boot=n_boot, seed=seed)
        for key, summed in zip(names, sums, strict=True):
            boot[key] = text_scores(key, summed, len(hyps))
    return {
        key: MetricValue(key, values[key], *_interval(boot[key], alpha), len(hyps)) for key in names
    }


def label_metrics(
    predictions: Sequence[str],
    references: Sequence[str],
    *,
    n_boot: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> LabelReport:
    """Accuracy, macro and weighted F1 (0-1) with bootstrap CIs, and the per-class report.

    Labels are compared after stripping whitespace; a predicted label that is no reference
    class counts as wrong (and appears in the report with zero support)."""
    from sklearn.metrics import accuracy_score, classification_report, f1_score

    if len(predictions) != len(references):
        raise ValueError(f"{len(predictions)} predictions but {len(references)} references")
    if not predictions:
        raise ValueError("no predictions to score")

    pred = np.array([str(p).strip() for p in predictions])
    gold = np.array([str(r).strip() for r in references])
    labels = sorted(set(gold.tolist()) | set(pred.tolist()))
    point = (
        float(accuracy_score(gold, pred)),
        float(f1_score(gold, pred, average="macro", zero_division=0)),
        float(f1_score(gold, pred, average="weighted", zero_division=0)),
    )
    code = {label: i for i, label in enumerate(labels)}
    cells = np.array([code[g] for g in gold]) * len(labels) + np.array([code[p] for p in pred])
    boot = None
    if n_boot > 0:
        k2 = len(labels) ** 2
        boot = np.array(  # bincount with weights: no (prompts x classes^2) matrix
            [
                confusion_scores(np.bincount(cells, weights=row, minlength=k2), len(labels))
                for chunk in resample_counts(len(pred), n_boot=n_boot, seed=seed)
                for row in chunk
            ]
        )
    metrics = {}
    for j, name in enumerate(LABEL_METRICS):
        low, high = _interval(None if boot is None else boot[:, j], alpha)
        metrics[name] = MetricValue(name, point[j], low, high, len(pred))
    report = classification_report(gold, pred, labels=labels, output_dict=True, zero_division=0)
    per_class = {label: {k: float(v) for k, v in report[label].items()} for label in labels}
    return LabelReport(metrics=metrics, per_class=per_class)


def confusion_scores(counts: np.ndarray, k: int) -> tuple[float, float, float]:
    """Accuracy, macro F1 and weighted F1 from flattened confusion counts (gold x predicted),
    as scikit-learn computes them (classes absent from both sides are left out; 0/0 -> 0)."""
    cm = counts.reshape(k, k).astype(np.float64)
    tp, n_pred, n_gold = np.diag(cm), cm.sum(0), cm.sum(1)
    with np.errstate(divide="ignore", invalid="ignore"):
        precision = np.where(n_pred > 0, tp / n_pred, 0.0)
        recall = np.where(n_gold > 0, tp / n_gold, 0.0)
        f1 = np.where(precision + recall > 0, 2 * precision * recall / (precision + recall), 0.0)
    present = (n_pred + n_gold) > 0
    return (
        float(tp.sum() / cm.sum()),
        float(f1[present].mean()),
        float((f1 * n_gold).sum() / n_gold.sum()),
    )
