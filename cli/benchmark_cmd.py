"""``sidebyside benchmark``: standard benchmarks through lm-evaluation-harness (registered
with the metrics commands). The harness is imported inside the command, never at start-up."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from sidebyside.cli.common import open_session
from sidebyside.cli.options import echo_err, json_safe, parse_batch_size, resolve_study_id
from sidebyside.cli.tracking import metric_name, mlflow_option
from sidebyside.foundation.errors import InputError


def benchmark(
    model: list[str] = typer.Option(..., "--model", help="Model path or hub id (repeatable)."),
    tasks: str = typer.Option(..., "--tasks", help="Comma-separated harness tasks or groups."),
    limit: int | None = typer.Option(None, min=1, help="At most N items per task."),
    num_fewshot: int | None = typer.Option(None, "--num-fewshot", min=0, help="Few-shot K."),
    batch_size: str = typer.Option("1", "--batch-size", help="Items per batch, or 'auto'."),
    device: str | None = typer.Option(None, help="cpu, cuda, cuda:0, ... (harness default)."),
    dtype: str = typer.Option("auto", help="auto, float32, bfloat16 or float16."),
    include_path: Path | None = typer.Option(
        None, "--include-path", help="Folder of custom task YAMLs (local data files work)."
    ),
    study: str | None = typer.Option(None, help="Store the results in this study."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout only."),
    mlflow: bool = mlflow_option(),
) -> None:
    """Standard benchmarks through EleutherAI's lm-evaluation-harness: accuracy (and acc_norm)
    with standard errors per task and model, and every later model against the first (paired
    over the same items)."""
    from sidebyside.metrics.benchmark import compare, run_benchmark, save_benchmark

    task_list = [t.strip() for t in tasks.split(",") if t.strip()]
    if not task_list:
        raise InputError("--tasks needs at least one task name")
    size = parse_batch_size(batch_size)
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise InputError(f"--dtype must be auto, float32, bfloat16 or float16, got {dtype!r}")
    if include_path is not None and not include_path.is_dir():
        raise InputError(f"--include-path {include_path}: not a folder")
    study_id = resolve_study_id(study) if study else None
    scores = []
    for name in model:
        echo_err(f"benchmark: {name} on {', '.join(task_list)}")
        scores += run_benchmark(
            name,
            task_list,
            limit=limit,
            num_fewshot=num_fewshot,
            batch_size=size,
            device=device,
            dtype=dtype,
            include_path=str(include_path) if include_path else None,
        )
    if study_id is not None:
        with open_session() as session:
            written = save_benchmark(session, study_id=study_id, scores=scores)
        echo_err(f"stored {written} benchmark result(s) in study {study_id}")
    comparisons = compare(scores)
    results = [
        {k: json_safe(getattr(s, k)) for k in ("model", "task", "metric", "value", "stderr", "n")}
        for s in scores
    ]
    if as_json:
        payload = {
            "results": results,
            "comparisons": [{k: json_safe(v) for k, v in c.items()} for c in comparisons],
        }
        typer.echo(json.dumps(payload))
    else:
        _print_benchmark(results, comparisons)
    if mlflow:
        from sidebyside.cli.tracking import track

        figures = {
            metric_name(f"benchmark.{r['task']}.{r['metric']}.{r['model']}"): r["value"]
            for r in results
        }
        params = {"models": model, "tasks": task_list, "limit": limit, "num_fewshot": num_fewshot}
        track("benchmark", study=study, params=params, metrics=figures)


def _print_benchmark(results: list[dict], comparisons: list[dict]) -> None:
    for r in results:
        value = "—" if r["value"] is None else f"{r['value']:.4f}"
        se = "" if r["stderr"] is None else f" ± {r['stderr']:.4f}"
        typer.echo(f"{r['model']}  {r['task']}  {r['metric']}: {value}{se}  (n={r['n']})")
    for c in comparisons:
        if c["difference"] is None:
            continue
        interval = (
            "" if c["ci_low"] is None else f" [95% CI {c['ci_low']:+.4f}, {c['ci_high']:+.4f}]"
        )
        flag = "  SIGNIFICANTLY WORSE" if c["significantly_worse"] else ""
        typer.echo(
            f"{c['model']} vs {c['base']}  {c['task']} {c['metric']}: "
            f"{c['difference']:+.4f}{interval} over {c['n_paired']} items{flag}"
        )
