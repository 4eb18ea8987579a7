"""MLflow tracking of a command run (``--mlflow`` on report, card, judge, perplexity, metrics
and benchmark), so fine-tuning iterations line up in MLflow's UI.

Where: ``SIDEBYSIDE_MLFLOW_TRACKING_URI`` (any MLflow tracking URI, a server included), else
a local SQLite tracking store in the data directory (``mlflow.db``) with its artifacts beside
it (``mlflow-artifacts/``): no server needed (MLflow 3 refuses the old ``./mlruns`` file
store unless told otherwise). One run per command, in the experiment ``sidebyside/<study>``
(``sidebyside`` without a study), tagged with the study and the command; parameters (study,
models, judges, template versions, seeds), metrics (every figure of the evaluation card under
stable names, plus the command's own) and, with a study, the JSON and HTML reports as
artifacts. ``mlflow`` is an extra: ``pip install 'sidebyside[mlflow]'``.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import typer

from sidebyside.foundation.errors import ConfigError

ENV = "SIDEBYSIDE_MLFLOW_TRACKING_URI"
INSTALL_HINT = "--mlflow needs MLflow: pip install 'sidebyside[mlflow]' (or pip install mlflow)"

MLFLOW_OPTION_HELP = (
    "Log this run to MLflow (SIDEBYSIDE_MLFLOW_TRACKING_URI, default a SQLite store in the "
    "data directory)."
)


def mlflow_option() -> Any:
    return typer.Option(False, "--mlflow", help=MLFLOW_OPTION_HELP)


def tracking_uri() -> tuple[str, Path | None]:
    """(tracking URI, local artifact directory or None when the URI is the user's)."""
    if os.environ.get(ENV):
        uri = os.environ[ENV]
        if uri.startswith("sqlite:///"):  # a local store: artifacts beside it, not in ./mlruns
            return uri, Path(uri.removeprefix("sqlite:///")).resolve().parent / "mlflow-artifacts"
        return uri, None  # a server keeps its own artifact store
    from sidebyside.foundation.settings import get_settings

    data = Path(get_settings().data_dir).resolve()
    data.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{data / 'mlflow.db'}", data / "mlflow-artifacts"


def _experiment(mlflow: Any, study: str | None, artifacts: Path | None) -> str:
    name = f"sidebyside/{study}" if study else "sidebyside"
    found = mlflow.get_experiment_by_name(name)
    if found is not None:
        return found.experiment_id
    location = None
    if artifacts is not None:  # beside the SQLite store, one folder per experiment
        location = (artifacts / re.sub(r"[^A-Za-z0-9_.-]+", "_", name)).as_uri()
    return mlflow.create_experiment(name, artifact_location=location)


def _param(value: Any) -> str:
    text = ",".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return text[:6000]  # MLflow's limit on a parameter value


def metric_name(name: str) -> str:
    """A name MLflow accepts (letters, digits, _ - . / space)."""
    return re.sub(r"[^A-Za-z0-9_\-./ ]+", "_", name)[:250]


def log_run(
    command: str,
    *,
    study: str | None,
    params: dict[str, Any],
    metrics: dict[str, float],
    artifacts: dict[str, str] | None = None,
    steps: list[dict[str, float]] | None = None,
) -> str:
    """Write one MLflow run; returns its id. ``artifacts``: file name ─► text; ``steps``:
    metrics logged at step 0, 1, ... (a checkpoint series)."""
    try:
        import mlflow
    except ImportError:
        raise ConfigError(INSTALL_HINT) from None
    uri, artifact_dir = tracking_uri()
    mlflow.set_tracking_uri(uri)
    experiment = _experiment(mlflow, study, artifact_dir)
    tags = {"sidebyside.command": command}
    if study:
        tags["sidebyside.study"] = study
    clean_params = {k: _param(v) for k, v in params.items() if v not in (None, "", [], ())}
    clean_metrics = {
        metric_name(k): float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }
    with mlflow.start_run(experiment_id=experiment, run_name=command, tags=tags) as run:
        if clean_params:
            mlflow.log_params(clean_params)
        if clean_metrics:
            mlflow.log_metrics(clean_metrics)
        for step, values in enumerate(steps or []):
            finite = {metric_name(k): float(v) for k, v in values.items() if math.isfinite(v)}
            mlflow.log_metrics(finite, step=step)
        if artifacts:
            with tempfile.TemporaryDirectory() as tmp:
                for name, text in artifacts.items():
                    (Path(tmp) / name).write_text(text, encoding="utf-8")
                mlflow.log_artifacts(tmp)
        return run.info.run_id


def study_payload(study: str, *, n_boot: int = 1000, seed: int = 0):
    """(params, card metrics, {report.json, report.html}) of a study, for a tracked run."""
    from sidebyside.analysis.card import card_metrics
    from sidebyside.analysis.report import render, report_for_study
    from sidebyside.cli.common import open_session
    from sidebyside.foundation.lookup import get_study
    from sidebyside.metrics.card_scoring import TEXT_SCORER

    with open_session() as session:
        st = get_study(session, study)
        report = report_for_study(session, st, n_boot=n_boot, seed=seed, scorer=TEXT_SCORER)
        templates = _template_versions(session, st.id)
    params: dict[str, Any] = {
        "study": report.study.name,
        "systems": report.study.systems,
        "judges": list(report.judges),
        "template_versions": templates,
        "n_boot": n_boot,
        "seed": seed,
        "study_seed": st.seed,
    }
    if report.card is not None:
        base = report.card.base
        params["base"] = base
        models = {r.system for r in report.card.rows if r.layer in ("perplexity", "benchmark")}
        models |= {r.base for r in report.card.rows if r.layer in ("perplexity", "benchmark")}
        params["models"] = sorted(m for m in models if m)
    metrics = card_metrics(report.card) if report.card is not None else {}
    artifacts = {"report.json": render(report, "json"), "report.html": render(report, "html")}
    return params, metrics, artifacts


def _template_versions(session: Any, study_id: int) -> list[str]:
    from sqlmodel import select

    from sidebyside.foundation.models import Judgment

    rows = session.exec(
        select(Judgment.judge, Judgment.template_version)
        .where(Judgment.study_id == study_id)
        .distinct()
    ).all()
    return sorted({f"{judge}={version}" for judge, version in rows if version})


def track(
    command: str,
    *,
    study: str | None = None,
    params: dict[str, Any] | None = None,
    metrics: dict[str, float] | None = None,
    n_boot: int = 1000,
    seed: int = 0,
) -> str:
    """Log a command's run (with the study's card and reports when there is a study) and say
    where on stderr."""
    all_params = dict(params or {})
    all_metrics = dict(metrics or {})
    artifacts = None
    if study is not None:
        study_params, card, artifacts = study_payload(study, n_boot=n_boot, seed=seed)
        all_params = {**study_params, **all_params}
        all_metrics = {**card, **all_metrics}
        study = str(study_params["study"])  # the name, even when given as an id
    run_id = log_run(
        command, study=study, params=all_params, metrics=all_metrics, artifacts=artifacts
    )
    typer.echo(f"MLflow run {run_id} logged to {tracking_uri()[0]}", err=True)
    return run_id
