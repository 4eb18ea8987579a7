"""`--mlflow`: a run per command in a local SQLite tracking store (or the URI of
SIDEBYSIDE_MLFLOW_TRACKING_URI), read back with MLflow's own client."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.settings import get_settings

pytest.importorskip("mlflow")
#: MLflow builds its own SQLite tracking store (its migrations) in each test: seconds.
pytestmark = pytest.mark.slow
runner = CliRunner()


@pytest.fixture
def demo(engine, tmp_path, monkeypatch):
    from sidebyside.annotate.demo import load_demo

    with Session(engine) as s:
        load_demo(s)
        s.commit()
    monkeypatch.setenv("SIDEBYSIDE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIDEBYSIDE_MLFLOW_TRACKING_URI", raising=False)
    get_settings.cache_clear()
    yield tmp_path / "data"
    get_settings.cache_clear()


def _client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def test_card_run_is_logged_to_the_default_sqlite_store(demo):
    assert runner.invoke(app, ["metrics", "demo", "--bootstrap", "100"]).exit_code == 0
    result = runner.invoke(app, ["card", "demo", "--format", "json", "--n-boot", "100", "--mlflow"])
    assert result.exit_code == 0, result.output
    card = json.loads(result.stdout)  # the MLflow note went to stderr
    store = demo / "mlflow.db"
    assert store.is_file()
    client = _client(f"sqlite:///{store}")
    experiment = client.get_experiment_by_name("sidebyside/demo")
    assert experiment is not None
    assert experiment.artifact_location.startswith((demo / "mlflow-artifacts").as_uri())
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["sidebyside.study"] == "demo"
    assert run.data.tags["sidebyside.command"] == "card"
    params = run.data.params
    assert params["study"] == "demo" and params["systems"] == "base,fine-tuned"
    assert params["base"] == "base" and params["n_boot"] == "100" and params["seed"] == "0"
    # every figure of the card under its stable name
    rouge = next(r for r in card["rows"] if r["key"] == "text.rougeL")
    assert run.data.metrics["text.rougeL.fine-tuned"] == pytest.approx(rouge["value"])
    assert run.data.metrics["text.rougeL.fine-tuned.base"] == pytest.approx(rouge["base_value"])
    assert run.data.metrics["text.meteor.fine-tuned.change"] == pytest.approx(
        next(r for r in card["rows"] if r["key"] == "text.meteor")["change"]
    )
    names = {a.path for a in client.list_artifacts(run.info.run_id)}
    assert names == {"report.json", "report.html"}
    local = Path(client.download_artifacts(run.info.run_id, "report.json", str(demo)))
    report = json.loads(local.read_text())
    assert report["study"]["name"] == "demo" and report["card"]["rows"]
    html = Path(client.download_artifacts(run.info.run_id, "report.html", str(demo)))
    assert "Evaluation card" in html.read_text()


def test_tracking_uri_from_the_environment_and_a_run_per_command(demo, tmp_path, monkeypatch):
    uri = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    monkeypatch.setenv("SIDEBYSIDE_MLFLOW_TRACKING_URI", uri)
    for args in (
        ["metrics", "demo", "--bootstrap", "50", "--mlflow"],
        ["report", "demo", "--n-boot", "50", "--mlflow"],
    ):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
    assert not (demo / "mlflow.db").exists()  # the default store was not used
    client = _client(uri)
    experiment = client.get_experiment_by_name("sidebyside/demo")
    # a local store given by URI keeps its artifacts beside it (MLflow's default: ./mlruns)
    assert experiment.artifact_location.startswith((tmp_path / "mlflow-artifacts").as_uri())
    runs = client.search_runs([experiment.experiment_id], order_by=["attributes.start_time ASC"])
    assert [r.data.tags["sidebyside.command"] for r in runs] == ["metrics", "report"]
    metrics_run = runs[0]
    assert metrics_run.data.params["labels"] == "False"
    assert "text.bleu.base" in metrics_run.data.metrics


def test_perplexity_without_a_study_logs_its_own_figures(demo, tmp_path):
    pytest.importorskip("transformers")
    try:
        from tests.tiny_lm import build_tiny_gpt2
    except ImportError:  # pragma: no cover
        from tests.tiny_lm import build_tiny_gpt2

    model = str(build_tiny_gpt2(tmp_path / "lm"))
    texts = tmp_path / "general.txt"
    texts.write_text("The cat sat on the mat.\nNumbers like 3.14 appear.\n")
    args = ["perplexity", "--model", model, "--texts", str(texts), "--json", "--mlflow"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    figure = json.loads(result.stdout)["results"][0]["perplexity"]
    client = _client(f"sqlite:///{demo / 'mlflow.db'}")
    experiment = client.get_experiment_by_name("sidebyside")  # no study: the general one
    (run,) = client.search_runs([experiment.experiment_id])
    assert run.data.tags["sidebyside.command"] == "perplexity"
    assert "sidebyside.study" not in run.data.tags
    (name,) = [k for k in run.data.metrics if k.startswith("perplexity.general.txt.")]
    assert run.data.metrics[name] == pytest.approx(figure)
    assert run.data.params["models"] == model and run.data.params["texts"] == "general.txt"
    assert client.list_artifacts(run.info.run_id) == []
