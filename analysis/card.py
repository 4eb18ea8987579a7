"""The evaluation card: the base against each other system, one row per figure of every layer
present in the study (text metrics, perplexity per text set, benchmarks, judges, humans).

Pure statistics on tidy frames (``analysis.card_frames.load_card_frames``) and the typed report.
Each row carries its interval where one exists; the verdict says "no clear change" when the
change is within its interval, so a noisy difference is never read as a gain:

- benchmarks: paired difference over the items both models answered (normal interval, the
  harness's own standard errors are normal too); a later model significantly worse is
  flagged "capability lost";
- perplexity: paired bootstrap over the texts of the same text set (same hash); significantly
  higher perplexity is flagged "forgetting";
- judge scores: Welch interval of the difference of mean scores;
- win rates (judges, humans): the win rate's own interval against 0.5;
- text metrics: only per-system intervals are stored, so the change is clear when the two
  intervals do not overlap (a conservative test).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sidebyside.analysis import columns as col
from sidebyside.analysis.bootstrap import percentile_ci, resample_sums
from sidebyside.analysis.report_rows import CardRow, EvaluationCard

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
    '"no clear change": the change is within its interval (text metrics: the two systems\' '
    "intervals overlap), so it is not to be read as a gain or a loss.",
    '"forgetting": perplexity significantly higher on a text set; "capability lost": a '
    "benchmark score significantly lower (paired over the same items).",
]


def paired_difference(
    base: Mapping[str, float], other: Mapping[str, float], *, confidence: float = 0.95
) -> tuple[float | None, float | None, float | None, int]:
    """Mean of other − base over the items both have, with a normal interval: (difference,
    low, high, items paired).

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


def perplexity_change(
    base: tuple[np.ndarray, np.ndarray],
    other: tuple[np.ndarray, np.ndarray],
    *,
    n_boot: int,
    seed: int,
    confidence: float,
) -> tuple[float | None, float | None]:
    """Paired bootstrap interval (resampling texts) of ppl(other) − ppl(base), from per-text
    (NLL sums, token counts) of the same texts; (None, None) when they cannot be paired."""
    (nll_a, tok_a), (nll_b, tok_b) = base, other
    if n_boot <= 0 or len(nll_a) != len(nll_b) or len(nll_a) < 2:
        return None, None
    sums = resample_sums([np.stack([nll_a, tok_a, nll_b, tok_b], axis=1)], n_boot=n_boot, seed=seed)
    s = sums[0]
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.exp(s[:, 2] / s[:, 3]) - np.exp(s[:, 0] / s[:, 1])
    return percentile_ci(draws, confidence)


def _verdict(relative: float | None, change: float | None, clear: bool | None, flag) -> str:
    if clear is False:
        return "no clear change"
    if relative is not None and math.isfinite(relative):
        text = f"{relative:+.0%}".replace("-", "−")
    elif change is not None:
        text = f"{change:+.3g}".replace("-", "−")
    else:
        return "—"
    return f"{text} ({flag})" if flag else text


def _row(layer: str, key: str, metric: str, base, system, base_value, value, **kw) -> CardRow:
    """A row with its change, relative change, clarity and verdict filled in."""
    ci = (kw.pop("ci_low", None), kw.pop("ci_high", None))
    base_ci = kw.pop("base_ci", (None, None))
    change = kw.pop("change", None)
    if change is None and value is not None and base_value is not None:
        change = value - base_value
    change_ci = kw.pop("change_ci", (None, None))
    relative = None
    if value is not None and base_value not in (None, 0):
        relative = value / base_value - 1
    clear = None
    if None not in change_ci:
        clear = not (change_ci[0] <= 0 <= change_ci[1])
    elif None not in ci and None not in base_ci:
        clear = ci[1] < base_ci[0] or base_ci[1] < ci[0]
    candidate = kw.pop("flag_if_clear", None)
    flag = candidate if clear else None
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
        change_ci_low=change_ci[0],
        change_ci_high=change_ci[1],
        relative_change=relative,
        clear=clear,
        flag=flag,
        verdict=kw.pop("verdict", None) or _verdict(relative, change, clear, flag),
        n=kw.pop("n", None),
    )


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"


def _num(x: Any) -> float | None:
    return None if x is None or (isinstance(x, float) and not math.isfinite(x)) else float(x)


# --------------------------------------------------------------------------- the layers


def text_rows(metrics: pd.DataFrame, base: str, others: list[str]) -> list[CardRow]:
    """One row per metric and compared system from the stored per-system metrics."""
    if metrics.empty or base not in set(metrics["system"]):
        return []
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
            paired = first["texts_sha256"] == run.texts_sha256
            change_ci = (
                perplexity_change(
                    (first["nll"], first["n_tokens"]),
                    (run.nll, run.n_tokens),
                    n_boot=n_boot,
                    seed=seed,
                    confidence=conf,
                )
                if paired
                else (None, None)
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
                    change_ci=change_ci,
                    flag_if_clear="forgetting"
                    if _num(run.perplexity) is not None
                    and _num(first["perplexity"]) is not None
                    and run.perplexity > first["perplexity"]
                    else None,
                    n=len(run.nll),
                )
            )
    return rows


def benchmark_rows(results: pd.DataFrame, *, conf: float) -> list[CardRow]:
    """Per task and metric: the first model is the base; a clearly lower score is flagged
    as capability lost."""
    rows = []
    if results.empty:
        return rows
    for (task, metric), group in results.groupby(["task", "metric"], sort=False):
        first = group.iloc[0]
        for res in group.iloc[1:].itertuples():
            diff, low, high, n = paired_difference(first["per_item"], res.per_item, confidence=conf)
            z = stats.norm.ppf(0.5 + conf / 2)
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
                    change_ci=(low, high),
                    flag_if_clear="capability lost" if diff is not None and diff < 0 else None,
                    n=n or int(res.n),
                )
            )
    return rows


def judge_score_rows(scores: pd.DataFrame, base: str, others: list[str], conf: float):
    """Per judge, the judge's overall score per output (or, without one, its mean over the
    rubric's criteria): base against each system (Welch interval of the difference)."""
    rows = []
    if scores is None or scores.empty:
        return rows
    is_overall = scores[col.CRITERION] == col.OVERALL
    has_overall = is_overall.groupby(scores[col.JUDGE]).transform("any")
    scores = scores[~has_overall | is_overall]
    per_output = [col.JUDGE, col.PAIR_ID, col.SIDE, col.SYSTEM_NAME]
    overall = scores.groupby(per_output, sort=False)[col.SCORE].mean().reset_index()
    for judge, group in overall.groupby(col.JUDGE, sort=False):
        b = group.loc[group[col.SYSTEM_NAME] == base, col.SCORE].to_numpy(dtype=float)
        for system in others:
            o = group.loc[group[col.SYSTEM_NAME] == system, col.SCORE].to_numpy(dtype=float)
            if len(b) == 0 or len(o) == 0:
                continue
            change_ci: tuple[float | None, float | None] = (None, None)
            if len(b) > 1 and len(o) > 1:
                res = stats.ttest_ind(o, b, equal_var=False)
                ci = res.confidence_interval(conf)
                change_ci = (_num(ci.low), _num(ci.high))
            rows.append(
                _row(
                    "judge",
                    f"judge.{_slug(str(judge))}.score",
                    f"judge {judge}: mean score",
                    base,
                    system,
                    float(b.mean()),
                    float(o.mean()),
                    change_ci=change_ci,
                    n=len(o),
                )
            )
    return rows


def win_rate_row(layer: str, key: str, label: str, rates, base: str, system: str):
    """The system's win rate against the base (ties count half) with its interval."""
    for r in rates or []:
        if {r.system_a, r.system_b} != {base, system} or r.win_rate_a is None:
            continue
        low = r.boot_ci_low if r.boot_ci_low is not None else r.ci_low
        high = r.boot_ci_high if r.boot_ci_high is not None else r.ci_high
        flip = r.system_a == base
        value = 1 - r.win_rate_a if flip else r.win_rate_a
        if low is not None and high is not None and flip:
            low, high = 1 - high, 1 - low
        change_ci = (None, None) if low is None or high is None else (low - 0.5, high - 0.5)
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
            change_ci=change_ci,
            n=r.n,
        )
        if row.clear is not False:
            row.verdict = f"{'wins' if value > 0.5 else 'loses'} {value:.0%}"
        return row
    return None


def build_card(
    report: Any,
    *,
    metrics: pd.DataFrame | None = None,
    perplexity: pd.DataFrame | None = None,
    benchmarks: pd.DataFrame | None = None,
    judge_scores: pd.DataFrame | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> EvaluationCard:
    """The card of a typed ``StudyReport`` plus the stored layers (frames as
    ``analysis.card_frames.load_card_frames`` returns them)."""
    conf = report.settings.confidence
    systems = list(report.study.systems)
    base = systems[0] if systems else None
    others = systems[1:]
    rows: list[CardRow] = []
    if base is not None and metrics is not None:
        rows += text_rows(metrics, base, others)
    if perplexity is not None:
        rows += perplexity_rows(perplexity, n_boot=n_boot, seed=seed, conf=conf)
    if benchmarks is not None:
        rows += benchmark_rows(benchmarks, conf=conf)
    if base is not None:
        rows += judge_score_rows(judge_scores, base, others, conf)
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
                change_ci_low=None,
                change_ci_high=None,
                relative_change=None,
                clear=None,
                flag=None,
                verdict=alpha.reading,
                n=alpha.n_units,
            )
        )
    return EvaluationCard(base=base, rows=rows, notes=list(NOTES))


def card_metrics(card: EvaluationCard) -> dict[str, float]:
    """Every figure of the card under a stable name (for experiment trackers):
    ``<key>.<system>`` (value), ``.base``, ``.change``, ``.relative_change``."""
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
        ):
            if x is not None and math.isfinite(x):
                out[stem + suffix] = float(x)
    return out
