"""`sidebyside benchmark`: the real lm-evaluation-harness code path, offline, on two tiny local
models and a tiny custom task (a YAML with a local JSONL data file)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.db import get_engine, init_db, schema_version
from sidebyside.foundation.migrations.legacy import SCHEMA_VERSION
from sidebyside.foundation.models import BenchmarkResult

try:
    from tests.tiny_lm import build_tiny_gpt2
except ImportError:  # pragma: no cover
    from tests.tiny_lm import build_tiny_gpt2

pytest.importorskip("lm_eval")
runner = CliRunner()

ITEMS = [
    ("The cat sat on the", ["mat", "moon", "car"]),
    ("Perplexity is the exponential of the average negative", ["log-likelihood", "banana"]),
    ("Researchers compare systems side by side with blind", ["ratings", "cats", "moons"]),
    ("A fine-tuned model should be better on the target", ["domain", "cat", "number"]),
    ("Numbers like 3.14159 and 2718 appear in text now and", ["then", "mat", "model"]),
    ("The cat looked at the", ["moon", "domain", "text"]),
    ("Unicode text also needs", ["bytes", "cats"]),
    ("Blind ratings compare", ["systems", "bananas", "moons"]),
]


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path_factory):
    # nothing may be downloaded; the datasets cache stays in the test's folders
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path_factory.getbasetemp() / "hf_datasets"))


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench_lm")
    return (
        str(build_tiny_gpt2(root / "base", n_positions=64)),
        str(build_tiny_gpt2(root / "tuned", n_positions=64, seed=3)),
    )


@pytest.fixture(scope="module")
def task_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bench_task")
    data = root / "tiny_cloze.jsonl"
    data.write_text(
        "\n".join(json.dumps({"question": q, "choices": c, "answer": 0}) for q, c in ITEMS) + "\n"
    )
    (root / "tiny_cloze.yaml").write_text(
        f"""task: tiny_cloze
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""
    )
    return root


def _reference_choices(model_path: str) -> list[tuple[int, int]]:
    """Independently of the harness: (argmax log-likelihood, argmax log-likelihood per
    character of the choice) of every item's choices, the continuation " choice" scored
    after the context in float64, as the harness defines acc and acc_norm."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_path).double().eval()
    tok = AutoTokenizer.from_pretrained(model_path)
    out = []
    for context, choices in ITEMS:
        ctx = tok(context, add_special_tokens=False)["input_ids"]
        lls = []
        for choice in choices:
            whole = tok(context + " " + choice, add_special_tokens=False)["input_ids"]
            cont = whole[len(ctx) :]
            with torch.no_grad():
                logp = torch.log_softmax(model(torch.tensor([whole])).logits[0], -1)
            lls.append(sum(logp[len(ctx) - 1 + i, t].item() for i, t in enumerate(cont)))
        norm = [ll / len(c) for ll, c in zip(lls, choices, strict=True)]  # characters
        out.append(
            (max(range(len(lls)), key=lls.__getitem__), max(range(len(norm)), key=norm.__getitem__))
        )
    return out


@pytest.mark.slow  # the lm_eval harness on two tiny models
def test_harness_scores_match_an_independent_computation(models, task_dir):
    from sidebyside.metrics.benchmark import run_benchmark

    rows = run_benchmark(models[0], ["tiny_cloze"], include_path=str(task_dir), device="cpu")
    by_metric = {r.metric: r for r in rows}
    assert set(by_metric) == {"acc", "acc_norm"}
    reference = _reference_choices(models[0])
    for k, metric in enumerate(("acc", "acc_norm")):
        r = by_metric[metric]
        assert r.n == len(ITEMS) and r.task == "tiny_cloze"
        expected = {str(i): float(ref[k] == 0) for i, ref in enumerate(reference)}
        assert r.per_item == expected
        assert r.value == pytest.approx(sum(expected.values()) / len(ITEMS))
        p = r.value  # the harness's standard error of a mean of 0/1 scores (sample sd / sqrt n)
        assert r.stderr == pytest.approx(
            math.sqrt(p * (1 - p) * len(ITEMS) / (len(ITEMS) - 1) / len(ITEMS))
        )


@pytest.mark.slow  # the lm_eval harness on two tiny models
def test_cli_json_is_pure_compares_paired_and_stores(models, task_dir, engine):
    from sidebyside.annotate.studies import create_study

    with Session(engine) as s:
        create_study(s, name="bench", k=1)
        s.commit()
    args = ["benchmark", "--model", models[0], "--model", models[1], "--tasks", "tiny_cloze"]
    args += ["--include-path", str(task_dir), "--device", "cpu", "--study", "bench", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)  # nothing of the harness's output on stdout
    assert {(r["model"], r["metric"]) for r in payload["results"]} == {
        (m, k) for m in models for k in ("acc", "acc_norm")
    }
    comparisons = {c["metric"]: c for c in payload["comparisons"]}
    assert set(comparisons) == {"acc", "acc_norm"}
    values = {(r["model"], r["metric"]): r["value"] for r in payload["results"]}
    for metric, c in comparisons.items():
        assert c["base"] == models[0] and c["model"] == models[1] and c["n_paired"] == len(ITEMS)
        # the paired mean difference of 0/1 items is the difference of the accuracies
        assert c["difference"] == pytest.approx(
            values[(models[1], metric)] - values[(models[0], metric)]
        )
        assert c["significantly_worse"] == (c["ci_high"] < 0)
    with Session(engine) as s:
        stored = s.exec(select(BenchmarkResult)).all()
    assert len(stored) == 4 and all(len(r.per_item) == len(ITEMS) for r in stored)


@pytest.mark.slow  # indexes the harness's ~15,000 built-in tasks
def test_unknown_task_is_a_clear_error(models, task_dir):
    args = ["benchmark", "--model", models[0], "--tasks", "tiny_cloze,no_such_task"]
    result = runner.invoke(app, [*args, "--include-path", str(task_dir)])
    assert result.exit_code == 2
    assert "unknown benchmark task(s): no_such_task" in result.output


def test_a_later_model_significantly_worse_is_flagged():
    from sidebyside.metrics.benchmark import BenchmarkScore, compare

    items = {str(i): 1.0 for i in range(40)}
    worse = {str(i): float(i % 4 == 0) for i in range(40)}  # 10 of 40 right
    noisy = {str(i): float(i % 5 != 0) for i in range(40)}  # 32 of 40 right
    rows = [
        BenchmarkScore("base", "t", "acc", 1.0, 0.0, 40, items),
        BenchmarkScore("worse", "t", "acc", 0.25, 0.07, 40, worse),
        BenchmarkScore("close", "t", "acc", 0.8, 0.06, 40, noisy),
    ]
    got = {c["model"]: c for c in compare(rows)}
    assert got["worse"]["significantly_worse"] and got["worse"]["ci_high"] < 0
    assert got["worse"]["difference"] == pytest.approx(-0.75)
    assert got["worse"]["relative_change"] == pytest.approx(-0.75)
    # -0.2 with sd 0.405 over 40 items: interval [-0.33, -0.07] — still clearly worse
    assert got["close"]["significantly_worse"]
    same = compare([rows[2], BenchmarkScore("again", "t", "acc", 0.8, 0.06, 40, noisy)])
    assert not same[0]["significantly_worse"] and same[0]["difference"] == 0


def test_an_older_database_gains_the_benchmark_table(tmp_path):
    from sqlalchemy import inspect, text

    engine = init_db(get_engine(f"sqlite:///{tmp_path / 'old.db'}"))
    with engine.begin() as conn:  # what version 6 wrote: no benchmark table
        conn.execute(text("DROP TABLE benchmarkresult"))
        conn.execute(text("UPDATE meta SET value = '6' WHERE key = 'schema_version'"))
    assert not inspect(engine).has_table("benchmarkresult")
    init_db(engine)
    assert inspect(engine).has_table("benchmarkresult")
    with Session(engine) as s:
        assert schema_version(s) == SCHEMA_VERSION >= 7
    engine.dispose()
