"""Standard benchmarks through EleutherAI's lm-evaluation-harness (its Python API, the
``bench`` extra: ``pip install 'sidebyside[bench]'``), not a reimplementation.

Each model is run by the harness's Hugging Face backend with per-sample logging on; we keep
accuracy and length-normalised accuracy (where the task has it) with the harness's own
standard error, plus every item's score, so two models run on the same items are compared
paired: the mean per-item difference with its normal interval, and a flag where a later model
is significantly worse than the first (the interval lies below zero).

The harness prints progress and logs; ``run_benchmark`` sends all of it to stderr so a
caller's stdout stays clean (``sidebyside benchmark --json``). Tasks are the harness's own
(downloaded from the Hub by the harness on first use) or custom YAML tasks in an
``include_path`` (local JSON/JSONL data files work offline).
"""

from __future__ import annotations

import contextlib
import gc
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from sidebyside.analysis.card import paired_difference
from sidebyside.foundation.errors import ConfigError, ModelLoadError, NotFound
from sidebyside.foundation.models import BenchmarkResult

#: The metrics we keep from each task when present ("<metric>,<filter>" in the harness).
METRICS = ("acc", "acc_norm")

INSTALL_HINT = (
    "the benchmark command needs lm-evaluation-harness: pip install 'sidebyside[bench]' "
    "(or pip install 'lm-eval[hf]')"
)


@dataclass
class BenchmarkScore:
    """One model's score on one task and metric, with the items behind it."""

    model: str
    task: str
    metric: str
    value: float | None
    stderr: float | None
    n: int
    per_item: dict[str, float] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """Everything written to stdout, by Python or by C code and subprocesses, goes to stderr."""
    sys.stdout.flush()
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # captured stdout (tests): Python level only
        with contextlib.redirect_stdout(sys.stderr):
            yield
        return
    saved = os.dup(fd)
    try:
        os.dup2(sys.stderr.fileno(), fd)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, fd)
        os.close(saved)


def _number(x: Any) -> float | None:
    try:
        value = float(x)
    except (TypeError, ValueError):  # the harness writes "N/A" for a missing stderr
        return None
    return value if value == value else None


def _per_item(out: dict[str, Any], task: str, metric: str) -> dict[str, float]:
    """{doc_id: score} of a task's logged samples; a group gathers its subtasks' items under
    "<subtask>/<doc_id>"."""
    samples = (out.get("samples") or {}).get(task)
    if samples:
        scored = [(s["doc_id"], _number(s.get(metric))) for s in samples]
        return {str(doc): x for doc, x in scored if x is not None}
    items: dict[str, float] = {}
    for sub in (out.get("group_subtasks") or {}).get(task, []):
        items.update({f"{sub}/{k}": v for k, v in _per_item(out, sub, metric).items()})
    return items


def parse_results(out: dict[str, Any], model: str, settings: dict[str, Any]):
    """The harness's ``simple_evaluate`` result as ``BenchmarkScore`` rows (acc, acc_norm)."""
    rows = []
    for task, res in (out.get("results") or {}).items():
        for metric in METRICS:
            key = f"{metric},none"
            if key not in res:
                continue
            per_item = _per_item(out, task, metric)
            n = (out.get("n-samples") or {}).get(task, {}).get("effective", len(per_item))
            rows.append(
                BenchmarkScore(
                    model=model,
                    task=task,
                    metric=metric,
                    value=_number(res[key]),
                    stderr=_number(res.get(f"{metric}_stderr,none")),
                    n=int(n or len(per_item)),
                    per_item=per_item,
                    settings=dict(settings),
                )
            )
    return rows


def run_benchmark(
    model: str,
    tasks: Sequence[str],
    *,
    limit: int | None = None,
    num_fewshot: int | None = None,
    batch_size: int | str = 1,
    device: str | None = None,
    dtype: str = "auto",
    include_path: str | None = None,
) -> list[BenchmarkScore]:
    """Run the harness's HF backend on ``tasks`` for one model. Raises ``ConfigError`` when
    the harness is not installed, ``NotFound`` for an unknown task and ``ModelLoadError`` for a
    model the harness cannot load."""
    with _stdout_to_stderr():
        try:
            import lm_eval
        except ImportError as exc:
            raise ConfigError(INSTALL_HINT) from exc
        manager = _task_manager(include_path, tuple(tasks))
        unknown = [t for t in tasks if t not in set(manager.all_tasks)]
        if unknown:
            where = f" (custom tasks: {include_path})" if include_path else ""
            raise NotFound(f"unknown benchmark task(s): {', '.join(unknown)}{where}")
        try:
            out = lm_eval.simple_evaluate(
                model="hf",
                model_args={"pretrained": model, "dtype": dtype},
                tasks=list(tasks),
                num_fewshot=num_fewshot,
                limit=limit,
                batch_size=batch_size,
                device=device,
                log_samples=True,
                task_manager=manager,
            )
        except OSError as exc:  # transformers: no such model folder or hub id
            raise ModelLoadError(f"{model}: cannot load model: {exc}") from exc
        _release()
    settings = {
        "num_fewshot": num_fewshot,
        "limit": limit,
        "batch_size": batch_size,
        "device": device,
        "dtype": dtype,
        "lm_eval_version": out.get("lm_eval_version"),
        "n_shot": out.get("n-shot"),
    }
    return parse_results(out, model, settings)


@lru_cache(maxsize=4)
def _task_manager(include_path: str | None, tasks: tuple[str, ...]) -> Any:
    """The harness's task index. Indexing its ~15,000 built-in tasks takes seconds, so when
    every task is a custom one only the include path is indexed; built once per process."""
    from lm_eval.tasks import TaskManager

    if include_path:
        custom = TaskManager(include_path=include_path, include_defaults=False)
        if set(tasks) <= set(custom.all_tasks):
            return custom
        return TaskManager(include_path=include_path)
    return TaskManager()


def _release() -> None:
    gc.collect()
    if "torch" in sys.modules:
        import torch

        if torch.cuda.is_available():
            torch.cuda.empty_cache()


def compare(scores: Sequence[BenchmarkScore], *, confidence: float = 0.95) -> list[dict]:
    """Every later model against the first on each task and metric: the paired difference
    over the items both answered, its interval, the relative change, and
    ``significantly_worse`` when the whole interval is below zero."""
    first: dict[tuple[str, str], BenchmarkScore] = {}
    rows = []
    for s in scores:
        base = first.setdefault((s.task, s.metric), s)
        if base is s:
            continue
        diff, low, high, n = paired_difference(base.per_item, s.per_item, confidence=confidence)
        rows.append(
            {
                "task": s.task,
                "metric": s.metric,
                "base": base.model,
                "model": s.model,
                "base_value": base.value,
                "value": s.value,
                "difference": diff,
                "ci_low": low,
                "ci_high": high,
                "n_paired": n,
                "relative_change": (
                    s.value / base.value - 1 if s.value is not None and base.value else None
                ),
                "significantly_worse": high is not None and high < 0,
            }
        )
    return rows


def save_benchmark(session: Session, *, study_id: int, scores: Sequence[BenchmarkScore]) -> int:
    """Store the scores with a study (a re-run adds rows; readers take the newest); the
    caller's unit of work commits. Returns the rows written."""
    for s in scores:
        session.add(
            BenchmarkResult(
                study_id=study_id,
                model=s.model,
                task=s.task,
                metric=s.metric,
                value=s.value,
                stderr=s.stderr,
                n=s.n,
                settings=s.settings,
                per_item=s.per_item,
            )
        )
    session.flush()
    return len(scores)
