"""The evaluation card: the base against each other system, one row per figure of every layer
present in the study (text metrics, perplexity per text set, benchmarks, judges, humans).

Pure statistics on tidy frames (``analysis.card_frames.load_card_frames``) and the typed report.
The two systems of a row are measured on the same items, so each row's verdict comes from the
interval of the *difference*, a paired bootstrap over the items both share (the project's one
bootstrap, ``analysis.bootstrap``); checking whether two separate intervals overlap is far too
conservative. 0 outside that interval: better or worse, read with the metric's direction
(lower perplexity is better); 0 inside: "no clear change".

- text metrics: paired over prompts, each system's outputs rescored per prompt (corpus BLEU
  and chrF from summed sufficient statistics, the others averaged);
- perplexity: paired over the texts of the same text set (same hash); significantly higher
  perplexity is flagged "forgetting";
- benchmarks: paired over the items both models answered (the per-item scores stored with
  every result); a later model significantly worse is flagged "capability lost";
- judge scores: paired over prompts (each system's mean score on a prompt);
- win rates (judges, humans): the win rate is itself a paired comparison; its bootstrap over
  prompts against 0.5.

Where nothing pairs the two (text sets that differ, a benchmark stored without per-item
scores, no resamples), the row says so in ``method`` and keeps the conservative rule: the
change is clear only when the two systems' intervals do not overlap.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import pandas as pd
from scipy import stats

from sidebyside.analysis import columns as col
from sidebyside.analysis.bootstrap import percentile_ci, resample_sums
from sidebyside.analysis.report_rows import CardRow, EvaluationCard
from sidebyside.analysis.small_samples import too_few_prompts
from sidebyside.foundation.errors import InputError

METRIC_NAMES = {
    "bleu": "BLEU",
    "chrf": "chrF",
    "rouge1": "ROUGE-1",
    "rouge2": "ROUGE-2",
    "rougeL": "ROUGE-L",
    "exact_match": "exact match",
    "token_f1": "token F1",
    "meteor": "METEOR",
    "accuracy": "accuracy",
    "macro_f1": "macro F1",
    "weighted_f1": "weighted F1",
}

NOTES = [
    "change: the compared system minus the base (win rates: minus 0.5); relative change: "
    "value / base − 1.",
    "difference: the same on the items both were measured on, with its interval from a paired "
    "bootstrap over those items (prompts, texts, benchmark items); the verdict is better or "
    "worse when that interval excludes 0 (lower perplexity is better), else "
    '"no clear change".',
    "unpaired rows (different text sets, benchmarks stored without per-item scores, no "
    "resamples) fall back to a conservative rule: clear only when the two systems' intervals "
    "do not overlap.",
    '"forgetting": perplexity significantly higher on a text set; "capability lost": a '
    "benchmark score significantly lower.",
]

#: Scores summed over a resample of n items ─► the statistic, one value per resample.
Score = Callable[[np.ndarray, int], np.ndarray]


def _mean(summed: np.ndarray, n: int) -> np.ndarray:
    return summed / n


def paired_bootstrap(
    base: np.ndarray,
    other: np.ndarray,
    score: Score = _mean,
    *,
    n_boot: int,
    seed: int,
    confidence: float,
) -> tuple[float, float | None, float | None]:
    """score(other) − score(base) on the same items, with its percentile interval from one
    bootstrap resampling the items (rows) of both together: (difference, low, high).
    ``score`` turns per-item statistics summed over n items into the statistic (default: the
    mean); the interval is (None, None) without resamples or with fewer than 2 items.

    >>> a, b = np.array([1.0, 0, 1, 0]), np.array([1.0, 1, 1, 0])
    >>> paired_bootstrap(a, b, n_boot=0, seed=0, confidence=0.95)
    (0.25, None, None)
    """
    n = len(base)
    full = score(np.stack([base.sum(axis=0), other.sum(axis=0)]), n)
    diff = float(full[1] - full[0])
    if n_boot <= 0 or n < 2:
        return diff, None, None
    s_base, s_other = resample_sums([base, other], n_boot=n_boot, seed=seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = score(s_other, n) - score(s_base, n)
    low, high = percentile_ci(draws, confidence)
    return diff, low, high


def paired_difference(
    base: Mapping[str, float], other: Mapping[str, float], *, confidence: float = 0.95
) -> tuple[float | None, float | None, float | None, int]:
    """Mean of other − base over the items both have, with a normal interval: (difference,
    low, high, items paired); ``sidebyside benchmark``'s comparison.

    >>> paired_difference({"1": 1, "2": 0, "3": 1}, {"1": 1, "2": 1, "3": 1, "4": 0})[0]
    0.3333333333333333
    """
    common = [k for k in base if k in other]
    if not common:
        return None, None, None, 0
    diffs = np.array([float(other[k]) - float(base[k]) for k in common])
    mean = float(diffs.mean())
    if len(diffs) < 2:
        return mean, None, None, len(diffs)
    half = float(stats.norm.ppf(0.5 + confidence / 2) * diffs.std(ddof=1) / math.sqrt(len(diffs)))
    return mean, mean - half, mean + half, len(diffs)


def _perplexity(summed: np.ndarray, n: int) -> np.ndarray:
    """Corpus perplexity of summed (NLL, tokens)."""
    return np.exp(summed[:, 0] / summed[:, 1])


@dataclass(frozen=True)
class Pairing:
    """How a row's difference was tested: the paired difference and its interval over
    n_items items, or why there is none (then the two intervals' overlap decides)."""

    diff: float | None = None
    low: float | None = None
    high: float | None = None
    n_items: int | None = None
    method: str = "unpaired: the two intervals overlap"
    paired: bool = False


def _paired(base, other, score: Score = _mean, *, unit: str, boot: tuple[int, int, float]):
    """The paired bootstrap of a row as a ``Pairing`` (unpaired without resamples)."""
    n_boot, seed, conf = boot
    diff, low, high = paired_bootstrap(
        base, other, score, n_boot=n_boot, seed=seed, confidence=conf
    )
    if low is None or high is None:
        why = "no resamples" if n_boot <= 0 else f"fewer than 2 {unit}"
        return Pairing(diff=diff, method=f"unpaired: the two intervals overlap ({why})")
    return Pairing(diff, low, high, len(base), f"paired bootstrap over {unit}", paired=True)


def _verdict(relative: float | None, change: float | None, clear: bool | None, direction, flag):
    """The verdict in words: better (+63%), worse (+22%, forgetting), no clear change;
    without an interval to tell, the change alone with "(no interval)"."""
    if clear is False:
        return "no clear change"
    if relative is not None and math.isfinite(relative):
        text = f"{relative:+.0%}".replace("-", "−")
    elif change is not None:
        text = f"{change:+.3g}".replace("-", "−")
    else:
        return direction or "—"
    if direction is None:
        return f"{text} (no interval)"
    return f"{direction} ({text}{f', {flag}' if flag else ''})"


def _row(layer: str, key: str, metric: str, base, system, base_value, value, **kw) -> CardRow:
    """A row with its change, difference, clarity, direction and verdict filled in."""
    ci = (kw.pop("ci_low", None), kw.pop("ci_high", None))
    base_ci = kw.pop("base_ci", (None, None))
    pairing: Pairing = kw.pop("pairing", Pairing())
    lower_is_better = kw.pop("lower_is_better", False)
    change = kw.pop("change", None)
    if change is None and value is not None and base_value is not None:
        change = value - base_value
    relative = None
    if value is not None and base_value not in (None, 0):
        relative = value / base_value - 1
    diff = pairing.diff if pairing.diff is not None else change
    clear = None
    if pairing.low is not None and pairing.high is not None:
        clear = not bool(pairing.low <= 0 <= pairing.high)
    elif None not in ci and None not in base_ci:
        clear = bool(ci[1] < base_ci[0] or base_ci[1] < ci[0])
    direction = None
    if clear and diff is not None and diff != 0:
        direction = "better" if (diff > 0) != lower_is_better else "worse"
    flag_if_worse = kw.pop("flag_if_worse", None)
    flag = flag_if_worse if direction == "worse" else None
    return CardRow(
        layer=layer,
        key=key,
        metric=metric,
        base=base,
        system=system,
        base_value=base_value,
        value=value,
        ci_low=ci[0],
        ci_high=ci[1],
        change=change,
        diff=diff,
        diff_low=pairing.low,
        diff_high=pairing.high,
        paired=pairing.paired,
        n_items=pairing.n_items,
        method=pairing.method,
        relative_change=relative,
        clear=clear,
        direction=direction,
        flag=flag,
        verdict=_verdict(relative, change, clear, direction, flag),
        n=kw.pop("n", None),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


# --------------------------------------------------------------------------- the layers


class PromptScorer(Protocol):
    """Per-prompt text-metric statistics and the metric recomputed from their sums. The
    metrics layer implements it (``metrics.card_scoring.TEXT_SCORER``) and the edges pass it
    in: analysis never imports the metric libraries' layer."""

    label_metrics: tuple[str, ...]

    def statistics(
        self, predictions: list[str], references: list[str], *, meteor: bool
    ) -> dict[str, np.ndarray]: ...

    def score(self, metric: str, summed: np.ndarray, n: int) -> np.ndarray: ...

    def label_scores(self, counts: np.ndarray, k: int) -> tuple[float, float, float]: ...


_NO_SCORER = "unpaired: the two intervals overlap (no per-prompt scorer given)"


class _PromptStatistics:
    """Per-prompt statistics of each system's stored metrics, computed once per system:
    the scorer's statistics for text metrics, one-hot confusion cells for label tasks."""

    def __init__(
        self, outputs: pd.DataFrame, metrics: pd.DataFrame, scorer: PromptScorer | None
    ) -> None:
        self.outputs = outputs
        self.scorer = scorer
        self.kinds = dict(zip(metrics["metric"], metrics["kind"], strict=False))
        self._text: dict[str, tuple[np.ndarray, dict[str, np.ndarray]]] = {}

    def text(self, system: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """(prompt ids, {metric: per-prompt statistics}) of one system."""
        if system not in self._text:
            assert self.scorer is not None  # pairing() answers without one
            rows = self.outputs[self.outputs["system"] == system]
            if rows.empty:
                self._text[system] = (np.array([]), {})
            else:
                self._text[system] = (
                    rows["prompt_id"].to_numpy(),
                    self.scorer.statistics(
                        list(rows["prediction"]),
                        list(rows["reference"]),
                        meteor=self.kinds.get("meteor") == "text",
                    ),
                )
        return self._text[system]

    def pairing(self, metric: str, base: str, system: str, boot) -> Pairing:
        """The paired bootstrap of one metric between two systems over their shared prompts."""
        if self.outputs.empty:
            return Pairing(method="unpaired: the two intervals overlap (no outputs stored)")
        if self.scorer is None:
            return Pairing(method=_NO_SCORER)
        if self.kinds.get(metric) == "label":
            return self._label_pairing(metric, base, system, boot)
        scorer = self.scorer

        (ids_a, stats_a), (ids_b, stats_b) = self.text(base), self.text(system)
        if metric not in stats_a or metric not in stats_b:
            return Pairing(
                method="unpaired: the two intervals overlap (per-prompt scores unavailable)"
            )
        common, ia, ib = np.intersect1d(ids_a, ids_b, return_indices=True)
        if len(common) == 0:
            return Pairing(method="unpaired: the two intervals overlap (no shared prompts)")
        score = lambda s, n: scorer.score(metric, s, n)  # noqa: E731
        return _paired(stats_a[metric][ia], stats_b[metric][ib], score, unit="prompts", boot=boot)

    def _label_pairing(self, metric: str, base: str, system: str, boot) -> Pairing:
        scorer = self.scorer
        assert scorer is not None  # pairing() answers without one
        frame = self.outputs.assign(
            pred=self.outputs["prediction"].astype(str).str.strip(),
            gold=self.outputs["reference"].astype(str).str.strip(),
        )
        a = frame[frame["system"] == base].set_index("prompt_id")
        b = frame[frame["system"] == system].set_index("prompt_id")
        common = a.index.intersection(b.index)
        if len(common) == 0:
            return Pairing(method="unpaired: the two intervals overlap (no shared prompts)")
        a, b = a.loc[common], b.loc[common]
        labels = sorted({*a["gold"], *a["pred"], *b["pred"]})
        code = {label: i for i, label in enumerate(labels)}
        k, j = len(labels), scorer.label_metrics.index(metric)

        def cells(side: pd.DataFrame) -> np.ndarray:  # one-hot (gold, predicted) per prompt
            out = np.zeros((len(side), k * k))
            idx = side["gold"].map(code).to_numpy() * k + side["pred"].map(code).to_numpy()
            out[np.arange(len(side)), idx] = 1.0
            return out

        def score(summed: np.ndarray, n: int) -> np.ndarray:
            return np.array([scorer.label_scores(row, k)[j] for row in summed])

        return _paired(cells(a), cells(b), score, unit="prompts", boot=boot)


def text_rows(
    metrics: pd.DataFrame,
    base: str,
    others: list[str],
    outputs: pd.DataFrame | None = None,
    *,
    scorer: PromptScorer | None = None,
    boot: tuple[int, int, float] = (1000, 0, 0.95),
) -> list[CardRow]:
    """One row per stored metric and compared system; the difference is paired over the
    prompts both answered, rescored from ``outputs`` (``load_card_frames``) by ``scorer``
    (without one, the two intervals' overlap decides, and the row says so)."""
    if metrics.empty or base not in set(metrics["system"]):
        return []
    columns = ["system", "prompt_id", "prediction", "reference"]
    per_prompt = _PromptStatistics(
        outputs if outputs is not None else pd.DataFrame(columns=columns), metrics, scorer
    )
    by = {(r.system, r.metric): r for r in metrics.itertuples()}
    rows = []
    for metric in dict.fromkeys(metrics["metric"]):
        b = by.get((base, metric))
        for system in others:
            o = by.get((system, metric))
            if b is None or o is None:
                continue
            rows.append(
                _row(
                    "text",
                    f"text.{metric}",
                    f"{METRIC_NAMES.get(metric, metric)} (vs references)",
                    base,
                    system,
                    _num(b.value),
                    _num(o.value),
                    ci_low=_num(o.ci_low),
                    ci_high=_num(o.ci_high),
                    base_ci=(_num(b.ci_low), _num(b.ci_high)),
                    pairing=per_prompt.pairing(metric, base, system, boot),
                    n=int(o.n),
                )
            )
    return rows


def perplexity_rows(runs: pd.DataFrame, *, n_boot: int, seed: int, conf: float) -> list[CardRow]:
    """Per text set: the first model scored on it is the base; higher perplexity that is
    clearly so is flagged as forgetting."""
    rows = []
    if runs.empty:
        return rows
    for texts, group in runs.groupby("texts", sort=False):
        first = group.iloc[0]
        for run in group.iloc[1:].itertuples():
            same = first["texts_sha256"] == run.texts_sha256 and len(first["nll"]) == len(run.nll)
            pairing = (
                _paired(
                    np.stack([first["nll"], first["n_tokens"]], axis=1),
                    np.stack([run.nll, run.n_tokens], axis=1),
                    _perplexity,
                    unit="texts",
                    boot=(n_boot, seed, conf),
                )
                if same and len(run.nll)
                else Pairing(method="unpaired: the two intervals overlap (different texts)")
            )
            rows.append(
                _row(
                    "perplexity",
                    f"perplexity.{_slug(str(texts))}",
                    f"perplexity on {texts}",
                    first["model"],
                    run.model,
                    _num(first["perplexity"]),
                    _num(run.perplexity),
                    ci_low=_num(run.ci_low),
                    ci_high=_num(run.ci_high),
                    base_ci=(_num(first["ci_low"]), _num(first["ci_high"])),
                    pairing=pairing,
                    lower_is_better=True,
                    flag_if_worse="forgetting",
                    n=len(run.nll),
                )
            )
    return rows


def benchmark_rows(
    results: pd.DataFrame, *, n_boot: int = 1000, seed: int = 0, conf: float = 0.95
) -> list[CardRow]:
    """Per task and metric: the first model is the base; a clearly lower score is flagged
    as capability lost. Paired over the items both models answered; a result stored without
    per-item scores falls back to the overlap of the harness's intervals."""
    rows = []
    if results.empty:
        return rows
    z = stats.norm.ppf(0.5 + conf / 2)
    for (task, metric), group in results.groupby(["task", "metric"], sort=False):
        first = group.iloc[0]
        base_se = _num(first["stderr"])
        for res in group.iloc[1:].itertuples():
            common = [k for k in first["per_item"] if k in res.per_item]
            if common:
                pairing = _paired(
                    np.array([float(first["per_item"][k]) for k in common]),
                    np.array([float(res.per_item[k]) for k in common]),
                    unit="items",
                    boot=(n_boot, seed, conf),
                )
            else:
                why = "no shared items" if first["per_item"] and res.per_item else "not stored"
                pairing = Pairing(method=f"unpaired: the two intervals overlap (per-item {why})")
            se = _num(res.stderr)
            rows.append(
                _row(
                    "benchmark",
                    f"benchmark.{_slug(str(task))}.{metric}",
                    f"{task} {metric}",
                    first["model"],
                    res.model,
                    _num(first["value"]),
                    _num(res.value),
                    # the harness's normal interval, kept within the 0-1 scale
                    ci_low=None if se is None else max(0.0, res.value - z * se),
                    ci_high=None if se is None else min(1.0, res.value + z * se),
                    base_ci=(None, None)
                    if base_se is None
                    else (
                        max(0.0, first["value"] - z * base_se),
                        min(1.0, first["value"] + z * base_se),
                    ),
                    pairing=pairing,
                    flag_if_worse="capability lost",
                    n=len(common) or int(res.n),
                )
            )
    return rows


def judge_score_rows(
    scores: pd.DataFrame,
    base: str,
    others: list[str],
    pair_prompts: pd.DataFrame | None = None,
    *,
    boot: tuple[int, int, float] = (1000, 0, 0.95),
) -> list[CardRow]:
    """Per judge, the judge's overall score per output (or, without one, its mean over the
    rubric's criteria): base against each system, paired over the prompts where the judge
    scored both (each system's mean score on a prompt)."""
    rows = []
    if scores is None or scores.empty:
        return rows
    is_overall = scores[col.CRITERION] == col.OVERALL
    has_overall = is_overall.groupby(scores[col.JUDGE]).transform("any")
    scores = scores[~has_overall | is_overall]
    per_output = [col.JUDGE, col.PAIR_ID, col.SIDE, col.SYSTEM_NAME]
    overall = scores.groupby(per_output, sort=False)[col.SCORE].mean().reset_index()
    if pair_prompts is not None and len(pair_prompts):
        prompts = pair_prompts.rename(columns={"pair_id": col.PAIR_ID, "prompt_id": col.PROMPT_ID})
        overall = overall.merge(prompts, on=col.PAIR_ID, how="left")
    else:
        overall[col.PROMPT_ID] = np.nan
    for judge, group in overall.groupby(col.JUDGE, sort=False):
        per_prompt = group.groupby([col.SYSTEM_NAME, col.PROMPT_ID])[col.SCORE].mean()
        b = group.loc[group[col.SYSTEM_NAME] == base, col.SCORE].to_numpy(dtype=float)
        for system in others:
            o = group.loc[group[col.SYSTEM_NAME] == system, col.SCORE].to_numpy(dtype=float)
            if len(b) == 0 or len(o) == 0:
                continue
            pb = per_prompt.get(base, pd.Series(dtype=float))
            po = per_prompt.get(system, pd.Series(dtype=float))
            common = pb.index.intersection(po.index)
            pairing = (
                _paired(
                    pb.loc[common].to_numpy(dtype=float),
                    po.loc[common].to_numpy(dtype=float),
                    unit="prompts",
                    boot=boot,
                )
                if len(common)
                else Pairing(method="unpaired: no prompt scored for both")
            )
            rows.append(
                _row(
                    "judge",
                    f"judge.{_slug(str(judge))}.score",
                    f"judge {judge}: mean score",
                    base,
                    system,
                    float(b.mean()),
                    float(o.mean()),
                    pairing=pairing,
                    n=len(o),
                )
            )
    return rows


def win_rate_row(layer: str, key: str, label: str, rates, base: str, system: str):
    """The system's win rate against the base (ties count half) with its interval: the win
    rate is itself a paired comparison over prompts, so its bootstrap over prompts against
    0.5 decides (without resamples, the Wilson interval of the votes)."""
    for r in rates or []:
        if {r.system_a, r.system_b} != {base, system} or r.win_rate_a is None:
            continue
        boot = r.boot_ci_low is not None and r.boot_ci_high is not None
        low, high = (r.boot_ci_low, r.boot_ci_high) if boot else (r.ci_low, r.ci_high)
        flip = r.system_a == base
        value = 1 - r.win_rate_a if flip else r.win_rate_a
        if low is not None and high is not None and flip:
            low, high = 1 - high, 1 - low
        if low is None or high is None:
            pairing = Pairing(diff=value - 0.5, method="no interval of the win rate")
        elif boot:
            method = "paired bootstrap over prompts"
            pairing = Pairing(value - 0.5, low - 0.5, high - 0.5, r.n_prompts, method, paired=True)
        else:  # no resamples: the Wilson interval still tells whether 0.5 is in reach
            method = "unpaired: Wilson interval of the votes (no resamples)"
            pairing = Pairing(value - 0.5, low - 0.5, high - 0.5, None, method)
        row = _row(
            layer,
            key,
            label,
            base,
            system,
            None,
            value,
            ci_low=low,
            ci_high=high,
            change=value - 0.5,
            pairing=pairing,
            n=r.n,
        )
        if row.direction is not None:
            row.verdict = f"{'wins' if value > 0.5 else 'loses'} {value:.0%}"
        if few := too_few_prompts(r.n_prompts):  # no figure, interval or verdict from so few
            row.verdict, row.direction, row.clear = few, None, None
            row.ci_low = row.ci_high = row.diff_low = row.diff_high = None
        return row
    return None


def build_card(
    report: Any,
    *,
    metrics: pd.DataFrame | None = None,
    perplexity: pd.DataFrame | None = None,
    benchmarks: pd.DataFrame | None = None,
    outputs: pd.DataFrame | None = None,
    pair_prompts: pd.DataFrame | None = None,
    judge_scores: pd.DataFrame | None = None,
    scorer: PromptScorer | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    base: str | None = None,
) -> EvaluationCard:
    """The card of a typed ``StudyReport`` plus the stored layers (frames as
    ``analysis.card_frames.load_card_frames`` returns them); ``scorer`` rescores text metrics
    per prompt for their paired intervals (``metrics.card_scoring.TEXT_SCORER``)."""
    conf = report.settings.confidence
    boot = (n_boot, seed, conf)
    systems = list(report.study.systems)
    chosen = base
    if base is not None and systems and base not in systems:
        raise InputError(
            f"base system {base!r} is not in study {report.study.name!r} "
            f"(systems: {', '.join(systems)})"
        )
    base = base if base is not None else (systems[0] if systems else None)
    others = [s for s in systems if s != base]
    rows: list[CardRow] = []
    if base is not None and metrics is not None:
        rows += text_rows(metrics, base, others, outputs, scorer=scorer, boot=boot)
    if perplexity is not None:
        rows += perplexity_rows(perplexity, n_boot=n_boot, seed=seed, conf=conf)
    if benchmarks is not None:
        rows += benchmark_rows(benchmarks, n_boot=n_boot, seed=seed, conf=conf)
    if base is not None:
        rows += judge_score_rows(judge_scores, base, others, pair_prompts, boot=boot)
        for judge, section in report.judges.items():
            for system in others:
                row = win_rate_row(
                    "judge",
                    f"judge.{_slug(judge)}.win_rate",
                    f"judge {judge}: win rate vs base",
                    section.win_rates,
                    base,
                    system,
                )
                rows += [row] if row else []
        for system in others:
            row = win_rate_row(
                "human",
                "human.win_rate",
                "human win rate vs base",
                report.human.win_rates,
                base,
                system,
            )
            rows += [row] if row else []
    alpha = report.human.agreement.krippendorff_alpha.preference
    if alpha is not None and alpha.alpha is not None:
        rows.append(
            CardRow(
                layer="human",
                key="human.agreement_alpha",
                metric="human agreement (Krippendorff's alpha, preference)",
                base=None,
                system=None,
                base_value=None,
                value=alpha.alpha,
                ci_low=alpha.ci_low,
                ci_high=alpha.ci_high,
                change=None,
                diff=None,
                diff_low=None,
                diff_high=None,
                paired=False,
                n_items=None,
                method="a study figure: nothing compared",
                relative_change=None,
                clear=None,
                direction=None,
                flag=None,
                verdict=alpha.reading,
                n=alpha.n_units,
            )
        )
    how = "chosen for this study" if chosen is not None else "none chosen: the study's first"
    notes = [
        f"Base system: {base} ({how}; `study create --base`, the Studies page or "
        "`card --base` choose it)."
        if base is not None
        else "No base system yet."
    ]
    return EvaluationCard(base=base, rows=rows, notes=notes + list(NOTES))


def card_metrics(card: EvaluationCard) -> dict[str, float]:
    """Every figure of the card under a stable name (for experiment trackers):
    ``<key>.<system>`` (value), ``.base``, ``.change``, ``.relative_change``, ``.diff``,
    ``.diff_low``, ``.diff_high``."""
    out: dict[str, float] = {}
    for row in card.rows:
        stem = row.key if row.system is None else f"{row.key}.{_slug(row.system)}"
        for suffix, x in (
            ("", row.value),
            (".base", row.base_value),
            (".change", row.change),
            (".relative_change", row.relative_change),
            (".ci_low", row.ci_low),
            (".ci_high", row.ci_high),
            (".diff", row.diff),
            (".diff_low", row.diff_low),
            (".diff_high", row.diff_high),
        ):
            if x is not None and math.isfinite(x):
                out[stem + suffix] = float(x)
    return out
