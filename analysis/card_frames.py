"""The automatic layers of the evaluation card (``analysis.card``) as stored: metric runs,
perplexity runs and benchmark results, plus what pairs them item by item (each system's
outputs against the references, the prompt of every pair)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.analysis.reading import as_session, resolve_study
from sidebyside.foundation.models import (
    BenchmarkResult,
    MetricResult,
    Output,
    Pair,
    PerplexityRun,
    Prompt,
    Study,
    System,
)


def load_card_frames(source: Session | Engine, study: Study | int | str) -> dict[str, pd.DataFrame]:
    """The stored automatic layers of a study for the evaluation card, oldest run first:
    ``metrics`` (system, metric, kind, value, ci_low, ci_high, n), ``perplexity`` (the newest
    run per model and text set: model, texts, texts_sha256, perplexity, ci_low, ci_high, nll
    and n_tokens per text as arrays) and ``benchmarks`` (the newest per model, task and metric:
    model, task, metric, value, stderr, n, per_item {doc_id: score}), ``outputs`` (system,
    prompt_id, prediction, reference: every output of a prompt with a reference, loaded only
    when metrics are stored: the card rescores them per prompt to pair two systems) and
    ``pair_prompts`` (pair_id, prompt_id)."""
    with as_session(source) as session:
        st = resolve_study(session, study)
        metrics = [
            (name, r.metric, r.kind, r.value, r.ci_low, r.ci_high, r.n)
            for name, r in session.execute(
                select(System.name, MetricResult)
                .join(System, System.id == MetricResult.system_id)
                .where(MetricResult.study_id == st.id)
                .order_by(System.id, MetricResult.id)
            ).all()
        ]
        runs: dict[tuple, tuple] = {}
        for run in session.execute(
            select(PerplexityRun).where(PerplexityRun.study_id == st.id).order_by(PerplexityRun.id)
        ).scalars():
            per = run.per_text or {}
            key = (run.model, run.texts)
            runs.pop(key, None)  # the newest run, placed where the model was last scored
            runs[key] = (
                run.model,
                run.texts,
                run.texts_sha256,
                run.perplexity,
                run.ci_low,
                run.ci_high,
                np.asarray(per.get("nll", []), dtype=np.float64),
                np.asarray(per.get("n_tokens", []), dtype=np.float64),
            )
        bench: dict[tuple, tuple] = {}
        for r in session.execute(
            select(BenchmarkResult)
            .where(BenchmarkResult.study_id == st.id)
            .order_by(BenchmarkResult.id)
        ).scalars():
            key = (r.model, r.task, r.metric)
            bench.pop(key, None)
            bench[key] = (r.model, r.task, r.metric, r.value, r.stderr, r.n, dict(r.per_item or {}))
        outputs = []
        if metrics:
            outputs = session.execute(
                select(System.name, Output.prompt_id, Output.text, Prompt.reference)
                .join(Output, Output.system_id == System.id)
                .join(Prompt, Prompt.id == Output.prompt_id)
                .where(System.study_id == st.id, Prompt.reference.is_not(None))
                .order_by(System.id, Prompt.id)
            ).all()
        pair_prompts = session.execute(
            select(Pair.id, Pair.prompt_id).where(Pair.study_id == st.id)
        ).all()
    return {
        "metrics": pd.DataFrame(
            metrics, columns=["system", "metric", "kind", "value", "ci_low", "ci_high", "n"]
        ),
        "perplexity": pd.DataFrame(
            list(runs.values()),
            columns=[
                "model",
                "texts",
                "texts_sha256",
                "perplexity",
                "ci_low",
                "ci_high",
                "nll",
                "n_tokens",
            ],
        ),
        "benchmarks": pd.DataFrame(
            list(bench.values()),
            columns=["model", "task", "metric", "value", "stderr", "n", "per_item"],
        ),
        "outputs": pd.DataFrame(
            [tuple(o) for o in outputs if o[3].strip()],  # as the metrics skip blank references
            columns=["system", "prompt_id", "prediction", "reference"],
        ),
        "pair_prompts": pd.DataFrame(
            [tuple(p) for p in pair_prompts], columns=["pair_id", "prompt_id"]
        ),
    }
