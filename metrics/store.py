"""Reading and writing automatic-metric rows: perplexity runs and per-system metrics of a study.

Keyword-only functions that take a ``session``; writes are one short transaction each.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
from sqlmodel import Session, col, delete, select

from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import MetricResult, Output, PerplexityRun, Prompt, Study, System
from sidebyside.metrics.ppl_stats import TextScores


def _finite(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else float(x)


def save_perplexity(
    session: Session, *, study_id: int, scores: TextScores, texts_hash: str, n_boot: int = 1000
) -> PerplexityRun:
    """Store one scored run (with its per-text figures). Commits."""
    summary = scores.summary(n_boot=n_boot)
    run = PerplexityRun(
        study_id=study_id,
        model=scores.model,
        texts=scores.texts,
        texts_sha256=texts_hash,
        n_texts=len(scores.nll),
        n_skipped=len(scores.skipped),
        n_tokens=scores.total_tokens,
        nll_sum=scores.nll_sum,
        perplexity=_finite(summary["perplexity"]),
        bits_per_byte=_finite(summary["bits_per_byte"]),
        ci_low=_finite(summary["ci_low"]),
        ci_high=_finite(summary["ci_high"]),
        tokens_per_second=_finite(summary["tokens_per_second"]),
        seconds=scores.seconds,
        settings=dict(scores.settings),
        per_text={
            "nll": scores.nll.tolist(),
            "n_tokens": scores.n_tokens.tolist(),
            "n_bytes": scores.n_bytes.tolist(),
            "skipped": list(scores.skipped),
        },
    )
    session.add(run)
    session.flush()  # the id; the caller's unit of work commits
    return run


def latest_perplexity_runs(session: Session, *, study_id: int) -> list[PerplexityRun]:
    """The newest run per (model, text set) of a study, in order of first appearance."""
    runs = session.exec(
        select(PerplexityRun)
        .where(PerplexityRun.study_id == study_id)
        .order_by(col(PerplexityRun.id))
    ).all()
    latest: dict[tuple[str, str, str], PerplexityRun] = {}
    for run in runs:
        key = (run.model, run.texts, run.texts_sha256)
        latest.pop(key, None)
        latest[key] = run
    return list(latest.values())


def runs_scores(runs: Sequence[PerplexityRun]) -> list[TextScores]:
    """Stored runs back as ``TextScores`` for tables and paired comparisons. A text set name
    used for different contents gets its hash appended, so only identical texts are paired."""
    hashes: dict[str, set[str]] = {}
    for run in runs:
        hashes.setdefault(run.texts, set()).add(run.texts_sha256)
    return [
        _run_scores(
            run,
            run.texts if len(hashes[run.texts]) == 1 else f"{run.texts} [{run.texts_sha256[:8]}]",
        )
        for run in runs
    ]


def _run_scores(run: PerplexityRun, texts: str) -> TextScores:
    per = run.per_text or {}
    return TextScores(
        model=run.model,
        texts=texts,
        nll=np.asarray(per.get("nll", []), dtype=np.float64),
        n_tokens=np.asarray(per.get("n_tokens", []), dtype=np.int64),
        n_bytes=np.asarray(per.get("n_bytes", []), dtype=np.int64),
        skipped=list(per.get("skipped", [])),
        seconds=run.seconds or 0.0,
        settings=dict(run.settings or {}),
    )


# --------------------------------------------------------------------------- study metrics


def study_references(session: Session, *, study: Study) -> dict[str, tuple[list[str], list[str]]]:
    """{system name: (outputs, references)} over the study's prompts that have a reference."""
    rows = session.exec(
        select(System.name, Output.text, Prompt.reference)
        .join(Output, col(Output.system_id) == col(System.id))
        .join(Prompt, col(Prompt.id) == col(Output.prompt_id))
        .where(System.study_id == study.id)
        .order_by(col(System.id), col(Prompt.id))
    ).all()
    out: dict[str, tuple[list[str], list[str]]] = {}
    for name, text, reference in rows:
        if reference is None or not reference.strip():
            continue
        preds, refs = out.setdefault(name, ([], []))
        preds.append(text)
        refs.append(reference)
    return out


def compute_study_metrics(
    session: Session, *, study: Study, labels: bool = False, n_boot: int = 1000, seed: int = 0
) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Score every system of a study against the references and store the results,
    replacing earlier ones. Returns ({system: {metric: MetricValue}}, {system: per-class
    report} (label tasks only)); raises ``InputError`` when no prompt has a reference."""
    from sidebyside.metrics.textmetrics import label_metrics, text_metrics

    data = study_references(session, study=study)
    if not data:
        raise InputError(
            f"study {study.name!r} has no prompt with a reference: add a 'reference' column "
            "to the imported file to compute automatic metrics"
        )
    systems = {
        s.name: s.id for s in session.exec(select(System).where(System.study_id == study.id))
    }
    results: dict[str, dict[str, Any]] = {}
    per_class: dict[str, dict[str, Any]] = {}
    rows: list[MetricResult] = []
    for name, (preds, refs) in data.items():
        if labels:
            report = label_metrics(preds, refs, n_boot=n_boot, seed=seed)
            results[name] = dict(report.metrics)
            per_class[name] = report.per_class
            details: dict[str, Any] = {"per_class": report.per_class}
        else:
            results[name] = text_metrics(preds, refs, n_boot=n_boot, seed=seed)
            details = {}
        for metric, value in results[name].items():
            rows.append(
                MetricResult(
                    study_id=study.id,
                    system_id=systems[name],
                    metric=metric,
                    kind="label" if labels else "text",
                    value=_finite(value.value),
                    ci_low=_finite(value.ci_low),
                    ci_high=_finite(value.ci_high),
                    n=value.n,
                    details=details,
                )
            )
    session.exec(delete(MetricResult).where(col(MetricResult.study_id) == study.id))
    session.add_all(rows)
    session.flush()
    return results, per_class


def metric_results(session: Session, *, study_id: int) -> list[tuple[str, MetricResult]]:
    """(system name, result) rows of a study, by system then metric order of computation."""
    return list(
        session.exec(
            select(System.name, MetricResult)
            .join(System, col(System.id) == col(MetricResult.system_id))
            .where(MetricResult.study_id == study_id)
            .order_by(col(System.id), col(MetricResult.id))
        ).all()
    )


def metric_table(rows: Sequence[tuple[str, Any]]) -> list[dict[str, Any]]:
    """Wide rows, one per system: {"system", "n", metric: value, metric_ci: "low-high"}."""
    table: dict[str, dict[str, Any]] = {}
    for system, result in rows:
        row = table.setdefault(system, {"system": system, "n": result.n})
        row[result.metric] = result.value
        if result.ci_low is not None and result.ci_high is not None:
            row[f"{result.metric} 95% CI"] = f"{result.ci_low:.3g}-{result.ci_high:.3g}"
    return list(table.values())
