"""The evaluation card: rows and verdicts from known inputs, and `sidebyside card` end to end on
the demo study with every layer filled (metrics, perplexity and benchmarks of two tiny local
models, a judge, human ratings)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pandas as pd
import pytest
from sqlmodel import Session
from typer.testing import CliRunner

from sidebyside.analysis.card import build_card, card_metrics, paired_difference
from sidebyside.analysis.card_frames import load_card_frames
from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study
from sidebyside.cli.main import app

try:
    from tests.test_benchmark import ITEMS
    from tests.tiny_lm import build_tiny_gpt2
except ImportError:  # pragma: no cover
    from test_benchmark import ITEMS
    from tiny_lm import build_tiny_gpt2

runner = CliRunner()


def _report(engine, strengths=(0.0, 1.5), seed=1):
    spec = SyntheticSpec(name="syn", strengths=list(strengths), n_prompts=60, seed=seed)
    study_id = build_synthetic_study(engine, spec)
    return build_report(load_study_frames(engine, study_id), n_boot=200), study_id


def test_paired_difference_by_hand():
    diff, low, high, n = paired_difference(
        {"a": 1, "b": 0, "c": 1, "d": 1}, {"a": 0, "b": 0, "c": 0, "d": 1, "e": 1}
    )
    # differences -1, 0, -1, 0: mean -0.5, sd 0.57735, se 0.288675
    assert n == 4 and diff == pytest.approx(-0.5)
    assert low == pytest.approx(-0.5 - 1.959964 * 0.288675, abs=1e-5)
    assert high == pytest.approx(-0.5 + 1.959964 * 0.288675, abs=1e-5)
    assert paired_difference({"a": 1}, {"b": 1}) == (None, None, None, 0)


def test_card_rows_and_verdicts_from_known_inputs(engine):
    report, _ = _report(engine)
    base, tuned = report.study.systems
    metrics = pd.DataFrame(
        [
            (base, "rougeL", "text", 41.0, 38.0, 44.0, 60),
            (tuned, "rougeL", "text", 67.0, 64.0, 70.0, 60),  # intervals apart: a clear gain
            (base, "bleu", "text", 18.0, 10.0, 26.0, 60),
            (tuned, "bleu", "text", 20.0, 12.0, 28.0, 60),  # intervals overlap
        ],
        columns=["system", "metric", "kind", "value", "ci_low", "ci_high", "n"],
    )
    rng = np.random.default_rng(0)
    nll = rng.uniform(20, 40, size=30)
    tokens = np.full(30, 10.0)
    ppl = lambda x: float(np.exp(x.sum() / tokens.sum()))  # noqa: E731
    perplexity = pd.DataFrame(
        [
            ("base-model", "general.txt", "h1", ppl(nll), None, None, nll, tokens),
            ("tuned-model", "general.txt", "h1", ppl(nll + 2), None, None, nll + 2, tokens),
            ("base-model", "domain.txt", "h2", ppl(nll), None, None, nll, tokens),
            ("tuned-model", "domain.txt", "h2", ppl(nll - 3), None, None, nll - 3, tokens),
        ],
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
    )
    right = {str(i): 1.0 for i in range(50)}
    half = {str(i): float(i % 2) for i in range(50)}
    benchmarks = pd.DataFrame(
        [
            ("base-model", "mmlu", "acc", 1.0, 0.0, 50, right),
            ("tuned-model", "mmlu", "acc", 0.5, 0.07, 50, half),
        ],
        columns=["model", "task", "metric", "value", "stderr", "n", "per_item"],
    )
    scores = pd.DataFrame(
        [("j", p, "a", base, "overall", 3.0 + (p % 3 == 0)) for p in range(40)]
        + [("j", p, "b", tuned, "overall", 4.0 + (p % 2 == 0)) for p in range(40)]
        # rubric scores (another scale) are left out when the judge gives an overall score
        + [("j", p, "a", base, "helpfulness", 1.0) for p in range(40)],
        columns=["judge", "pair_id", "side", "system", "criterion", "score"],
    )
    card = build_card(
        report, metrics=metrics, perplexity=perplexity, benchmarks=benchmarks, judge_scores=scores
    )
    rows = {(r.key, r.system): r for r in card.rows}
    rouge = rows[("text.rougeL", tuned)]
    assert (
        rouge.clear and rouge.verdict == "+63%" and rouge.relative_change == pytest.approx(26 / 41)
    )
    assert rows[("text.bleu", tuned)].verdict == "no clear change"
    general = rows[("perplexity.general.txt", "tuned-model")]
    # every text 2 nats worse over 10 tokens: perplexity x e^0.2, clearly
    assert general.relative_change == pytest.approx(np.exp(0.2) - 1)
    assert general.flag == "forgetting" and general.verdict == "+22% (forgetting)"
    domain = rows[("perplexity.domain.txt", "tuned-model")]
    assert domain.flag is None and domain.verdict == "−26%" and domain.change_ci_high < 0
    mmlu = rows[("benchmark.mmlu.acc", "tuned-model")]
    assert mmlu.flag == "capability lost" and mmlu.change == pytest.approx(-0.5)
    judge = rows[("judge.j.score", tuned)]
    assert judge.base_value == pytest.approx(3 + 14 / 40) and judge.value == pytest.approx(4.5)
    assert judge.clear
    human = rows[("human.win_rate", tuned)]
    assert human.value > 0.6 and human.clear and human.verdict.startswith("wins")
    judge_wr = [r for r in card.rows if r.key.endswith(".win_rate") and r.layer == "judge"]
    assert judge_wr and all(r.system == tuned for r in judge_wr)
    assert any(r.key == "human.agreement_alpha" for r in card.rows)
    figures = card_metrics(card)
    assert figures[f"text.rougeL.{tuned}"] == 67.0
    assert figures[f"text.rougeL.{tuned}.change"] == pytest.approx(26.0)
    assert figures["benchmark.mmlu.acc.tuned-model.base"] == 1.0


def test_no_clear_change_when_the_systems_are_equal(engine):
    report, _ = _report(engine, strengths=(0.0, 0.0), seed=3)
    row = next(r for r in report.card.rows if r.key == "human.win_rate")
    assert row.change_ci_low < 0 < row.change_ci_high
    assert row.verdict == "no clear change" and row.clear is False


# --------------------------------------------------------------------------- end to end


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("card_lm")
    models = (
        str(build_tiny_gpt2(root / "base", n_positions=64)),
        str(build_tiny_gpt2(root / "tuned", n_positions=64, seed=3)),
    )
    data = root / "cloze.jsonl"
    data.write_text("".join(json.dumps({"q": q, "c": c, "a": 0}) + "\n" for q, c in ITEMS))
    (root / "cloze.yaml").write_text(
        f"task: card_cloze\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\n"
        'doc_to_text: "{{q}}"\ndoc_to_choice: "{{c}}"\ndoc_to_target: "{{a}}"\n'
        "metric_list:\n  - metric: acc\n"
    )
    (root / "general.txt").write_text("The cat sat on the mat.\nNumbers like 3.14 appear.\n")
    (root / "domain.txt").write_text(
        "Perplexity is the exponential of the mean negative log-likelihood.\n"
        "Researchers compare systems with blind ratings.\n"
    )
    return models, root


def _invoke(*args: str):
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result


def _ratings_file(path, study_prompts: list[str]) -> None:
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "system_a", "system_b", "annotator", "winner"])
        for i, prompt in enumerate(study_prompts):
            for j, annotator in enumerate(("r1", "r2", "r3")):
                winner = "fine-tuned" if (i + j) % 5 else ("tie" if j else "base")
                w.writerow([prompt, "base", "fine-tuned", annotator, winner])


@pytest.mark.slow  # every layer: metrics, perplexity, benchmark, judge, ratings
def test_card_of_the_demo_study_with_every_layer(engine, tiny, tmp_path, monkeypatch):
    pytest.importorskip("lm_eval")
    from sidebyside.annotate.demo import load_demo

    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hf"))
    (base_model, tuned_model), root = tiny
    with Session(engine) as s:
        load_demo(s)
        s.commit()
    _invoke("metrics", "demo", "--bootstrap", "200")
    _invoke(
        "perplexity", "--model", base_model, "--model", tuned_model, "--texts",
        str(root / "general.txt"), "--texts", str(root / "domain.txt"), "--study", "demo",
        "--bootstrap", "200",
    )  # fmt: skip
    _invoke(
        "benchmark", "--model", base_model, "--model", tuned_model, "--tasks", "card_cloze",
        "--include-path", str(root), "--device", "cpu", "--study", "demo",
    )  # fmt: skip
    _invoke("judge", "demo", "--judge", "baseline:longest")
    prompts = sorted({f"p{i:02d}" for i in range(1, 31)})
    _ratings_file(tmp_path / "ratings.csv", prompts)
    _invoke("import-ratings", "demo", str(tmp_path / "ratings.csv"))

    card = json.loads(_invoke("card", "demo", "--format", "json", "--n-boot", "200").stdout)
    assert card["study"] == "demo" and card["base"] == "base"
    assert {r["layer"] for r in card["rows"]} == {
        "text",
        "perplexity",
        "benchmark",
        "judge",
        "human",
    }
    keys = {r["key"] for r in card["rows"]}
    assert {"text.meteor", "text.rougeL", "perplexity.general.txt", "perplexity.domain.txt"} <= keys
    assert {"benchmark.card_cloze.acc", "human.win_rate", "human.agreement_alpha"} <= keys
    assert any(k.startswith("judge.") and k.endswith(".win_rate") for k in keys)
    for r in card["rows"]:
        if r["clear"] is False:
            assert r["verdict"] == "no clear change"
    bench = next(r for r in card["rows"] if r["key"] == "benchmark.card_cloze.acc")
    assert (bench["base"], bench["system"]) == (base_model, tuned_model)
    # the card in the typed JSON report is the same card
    report = json.loads(_invoke("report", "demo", "--n-boot", "200").stdout)
    assert [r["key"] for r in report["card"]["rows"]] == [r["key"] for r in card["rows"]]
    md = _invoke("card", "demo", "--format", "md", "--n-boot", "0").stdout
    assert md.startswith("## Evaluation card") and "| human | human win rate vs base |" in md
    html = _invoke("card", "demo", "--format", "html", "--n-boot", "0").stdout
    assert html.startswith("<!DOCTYPE html>") and "<table class='card'>" in html
    assert "Evaluation card" in _invoke("report", "demo", "-f", "html", "--n-boot", "0").stdout
    # the layers come back from the database as stored
    frames = load_card_frames(engine, "demo")
    assert len(frames["perplexity"]) == 4 and len(frames["benchmarks"]) == 2


def test_card_of_an_unknown_study_is_a_clear_error(engine):
    result = runner.invoke(app, ["card", "nope"])
    assert result.exit_code == 2 and "nope" in result.output
    result = runner.invoke(app, ["card", "nope", "--format", "pdf"])
    assert result.exit_code == 2 and "--format must be one of md, html, json" in result.output


def test_names_are_untrusted_text_in_html_and_markdown():
    from sidebyside.analysis.card_render import card_html, card_md
    from sidebyside.analysis.report_rows import CardRow, EvaluationCard

    row = CardRow(
        layer="text", key="text.bleu", metric="BLEU", base="base", system="<script>x|y</script>",
        base_value=1.0, value=2.0, ci_low=None, ci_high=None, change=1.0, change_ci_low=None,
        change_ci_high=None, relative_change=1.0, clear=None, flag=None, verdict="+100%", n=3,
    )  # fmt: skip
    card = EvaluationCard(base="base", rows=[row], notes=[])
    html = card_html(card)
    assert "<script>" not in html and "&lt;script&gt;x|y&lt;/script&gt;" in html
    assert "<script>x\\|y</script>" in "\n".join(card_md(card))  # a pipe cannot split the row
