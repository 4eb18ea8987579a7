"""`sidebyside perplexity`, `metrics` and `contamination` end to end through the Typer app, plus
the stored metric rows they write."""

from __future__ import annotations

import json
import math

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.db import get_engine, init_db
from sidebyside.foundation.models import MetricResult, PerplexityRun
from sidebyside.metrics.store import latest_perplexity_runs, metric_table, runs_scores

try:
    from tests.tiny_lm import build_tiny_gpt2
except ImportError:  # pragma: no cover
    from tests.tiny_lm import build_tiny_gpt2

runner = CliRunner()
JSON_KEYS = {
    "model",
    "texts",
    "perplexity",
    "nll_sum",
    "n_tokens",
    "bits_per_byte",
    "ci_low",
    "ci_high",
    "tokens_per_second",
}


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    pytest.importorskip("transformers")
    root = tmp_path_factory.mktemp("cli_lm")
    return str(build_tiny_gpt2(root / "a")), str(build_tiny_gpt2(root / "b", seed=5))


@pytest.fixture
def text_files(tmp_path):
    general = tmp_path / "general.txt"
    general.write_text("The cat sat on the mat.\nNumbers like 3.14 appear.\n\nSide by side.\n")
    domain = tmp_path / "domain.jsonl"
    domain.write_text(
        "\n".join(
            json.dumps({"text": t})
            for t in (
                "Perplexity is the exponential of the mean negative log-likelihood.",
                "A fine-tuned model should be better on the target domain.",
                "Researchers compare systems with blind ratings.",
            )
        )
    )
    return general, domain


@pytest.mark.slow  # two models over two text sets with a bootstrap
def test_perplexity_json_table_and_storage(db_url, models, text_files):
    init_db(get_engine(db_url))
    assert invoke("study", "create", "exp").exit_code == 0
    general, domain = text_files
    res = invoke(
        "perplexity",
        "--model",
        models[0],
        "--model",
        models[1],
        "--texts",
        str(general),
        "--texts",
        str(domain),
        "--json",
        "--study",
        "exp",
        "--bootstrap",
        "200",
        "--device",
        "cpu",
        "--dtype",
        "float32",
    )
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)  # stdout is exactly one JSON document
    assert [(r["model"], r["texts"]) for r in payload["results"]] == [
        (models[0], "general.txt"),
        (models[1], "general.txt"),
        (models[0], "domain.jsonl"),
        (models[1], "domain.jsonl"),
    ]
    for row in payload["results"]:
        assert set(row) == JSON_KEYS
        assert row["ci_low"] <= row["perplexity"] <= row["ci_high"]
        assert math.isclose(row["perplexity"], math.exp(row["nll_sum"] / row["n_tokens"]))
    # the model x text table with the change against the first model goes to stderr
    assert "vs first" in res.stderr and "%" in res.stderr
    assert "skipped 1 empty" in res.stderr

    with Session(get_engine(db_url)) as session:
        runs = latest_perplexity_runs(session, study_id=1)
        assert len(runs) == 4
        scores = runs_scores(runs)
    by_key = {(r["model"], r["texts"]): r for r in payload["results"]}
    for run, score in zip(runs, scores, strict=True):
        row = by_key[(run.model, run.texts)]
        assert run.n_tokens == row["n_tokens"] == score.total_tokens
        assert math.isclose(score.perplexity, row["perplexity"])
        assert run.settings["dtype"] == "float32" and run.per_text["skipped"] in ([], [2])


def test_perplexity_plain_output_and_input_errors(db_url, models, text_files, tmp_path):
    general, _ = text_files
    res = invoke("perplexity", "--model", models[0], "--texts", str(general), "--batch-size", "2")
    assert res.exit_code == 0, res.stderr
    assert res.stdout.splitlines()[0].split()[:3] == ["model", "texts", "ppl"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"text": "ok"}\n{"body": "no text"}\n')
    res = invoke("perplexity", "--model", models[0], "--texts", str(bad))
    assert res.exit_code == 2 and "bad.jsonl, line 2, column text" in res.stderr
    res = invoke("perplexity", "--model", models[0], "--texts", str(general), "--batch-size", "0")
    assert res.exit_code == 2 and "--batch-size" in res.stderr
    res = invoke("perplexity", "--model", str(tmp_path / "nope"), "--texts", str(general))
    assert res.exit_code == 2 and "could not load model" in res.stderr
    res = invoke("perplexity", "--model", models[0], "--texts", str(general), "--study", "zzz")
    assert res.exit_code == 2 and "no study 'zzz'" in res.stderr
    res = invoke("perplexity", "--model", models[0], "--texts", str(general), "--dtype", "int8")
    assert res.exit_code == 2 and "--dtype" in res.stderr


def _study_with_references(db_url: str) -> None:
    from sidebyside.annotate.importing import import_sources
    from sidebyside.annotate.studies import create_study

    rows = ["prompt_id,prompt,system,output,reference"]
    answers = {"base": ["Sydney", "206", "blue", "yes"], "tuned": ["Canberra", "206", "blue", "no"]}
    refs = ["Canberra", "206", "blue", "yes"]
    for i, ref in enumerate(refs):
        for system, outs in answers.items():
            rows.append(f"p{i},Question {i}?,{system},{outs[i]},{ref}")
    with Session(init_db(get_engine(db_url)), expire_on_commit=False) as session:
        study = create_study(session, name="qa", k=1, seed=1)
        import_sources(session, study=study, sources=[("o.csv", "\n".join(rows).encode())])
        session.commit()  # the caller owns the unit of work


def test_metrics_on_a_study_are_stored(db_url):
    _study_with_references(db_url)
    res = invoke("metrics", "qa", "--json", "--bootstrap", "100")
    assert res.exit_code == 0, res.stderr
    results = json.loads(res.stdout)["results"]
    assert results["tuned"]["exact_match"]["value"] == pytest.approx(75.0)
    assert results["base"]["exact_match"]["value"] == pytest.approx(75.0)
    assert results["tuned"]["exact_match"]["n"] == 4
    with Session(get_engine(db_url)) as session:
        from sidebyside.metrics.store import metric_results

        rows = metric_results(session, study_id=1)
        assert {m.metric for _, m in rows} >= {"bleu", "chrf", "rouge1", "rougeL", "token_f1"}
        table = metric_table(rows)
    assert [r["system"] for r in table] == ["base", "tuned"]

    res = invoke("metrics", "qa", "--labels", "--bootstrap", "100")  # replaces the text metrics
    assert res.exit_code == 0, res.stderr
    assert "accuracy" in res.stdout and "class 'yes'" in res.stdout
    with Session(get_engine(db_url)) as session:
        kinds = {m.kind for m in session.exec(select(MetricResult))}
        assert kinds == {"label"}
        assert session.exec(select(PerplexityRun)).first() is None


def test_metrics_on_files(tmp_path):
    preds = tmp_path / "p.jsonl"
    refs = tmp_path / "r.jsonl"
    preds.write_text('{"id": 2, "prediction": "b"}\n{"id": 1, "prediction": "a"}\n')
    refs.write_text('{"id": 1, "reference": "a"}\n{"id": 2, "references": ["c", "b"]}\n')
    res = invoke("metrics", "--predictions", str(preds), "--references", str(refs), "--json")
    assert res.exit_code == 0, res.stderr
    assert json.loads(res.stdout)["results"]["predictions"]["exact_match"]["value"] == 100.0

    p_txt, r_txt = tmp_path / "p.txt", tmp_path / "r.txt"
    p_txt.write_text("pos\nneg\npos\n")
    r_txt.write_text("pos\nneg\nneg\n")
    res = invoke(
        "metrics",
        "--predictions",
        str(p_txt),
        "--references",
        str(r_txt),
        "--labels",
        "--json",
        "--bootstrap",
        "50",
    )
    payload = json.loads(res.stdout)
    assert payload["results"]["predictions"]["accuracy"]["value"] == pytest.approx(2 / 3)
    assert payload["per_class"]["predictions"]["neg"]["support"] == 2

    r_short = tmp_path / "short.txt"
    r_short.write_text("pos\n")
    res = invoke("metrics", "--predictions", str(p_txt), "--references", str(r_short))
    assert res.exit_code == 2 and "has 3 items but" in res.stderr
    res = invoke("metrics", "--predictions", str(p_txt))
    assert res.exit_code == 2 and "go together" in res.stderr
    res = invoke("metrics")
    assert res.exit_code == 2 and "STUDY" in res.stderr
    refs.write_text('{"id": 1, "reference": "a"}\n')
    res = invoke("metrics", "--predictions", str(preds), "--references", str(refs))
    assert res.exit_code == 2 and "no reference for id(s) '2'" in res.stderr


def test_contamination_command(tmp_path):
    train = tmp_path / "train.jsonl"
    train.write_text(
        "\n".join(
            json.dumps({"text": t})
            for t in (
                "the quick brown fox jumps over the lazy dog near the river bank today",
                "completely unrelated training sentence about cooking pasta at home",
            )
        )
    )
    ev = tmp_path / "eval.txt"
    ev.write_text(
        "Q: The quick brown FOX jumps over the lazy dog near the river, said Ann.\n"
        "What is the boiling point of water in kelvin at sea level today?\n"
        "too short\n"
    )
    res = invoke("contamination", "--train", str(train), "--eval", str(ev), "--n", "8", "--json")
    assert res.exit_code == 0, res.stderr
    payload = json.loads(res.stdout)
    assert [c["item"] for c in payload["contaminated"]] == [1]
    assert payload["share"] == pytest.approx(1 / 3) and payload["too_short"] == [3]
    plain = invoke("contamination", "--train", str(train), "--eval", str(ev))
    assert "1 of 3 evaluation items" in plain.stdout and "fewer than 8 words" in plain.stdout
    res = invoke("contamination", "--train", str(tmp_path / "none.txt"), "--eval", str(ev))
    assert res.exit_code == 2 and "no such file" in res.stderr
