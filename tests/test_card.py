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

from sidebyside.analysis.card import (
    build_card,
    card_metrics,
    paired_bootstrap,
    paired_difference,
)
from sidebyside.analysis.card_frames import load_card_frames
from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.report import build_report
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study
from sidebyside.cli.main import app
from sidebyside.metrics.card_scoring import TEXT_SCORER

try:
    from tests.test_benchmark import ITEMS
    from tests.tiny_lm import build_tiny_gpt2
except ImportError:  # pragma: no cover
    from test_benchmark import ITEMS

    from tests.tiny_lm import build_tiny_gpt2

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


PPL_COLUMNS = ["model", "texts", "texts_sha256", "perplexity", "ci_low", "ci_high", "nll"]
PPL_COLUMNS += ["n_tokens"]
BENCH_COLUMNS = ["model", "task", "metric", "value", "stderr", "n", "per_item"]
METRIC_COLUMNS = ["system", "metric", "kind", "value", "ci_low", "ci_high", "n"]


def test_paired_bootstrap_of_a_mean_and_of_a_ratio():
    base = np.array([0.0, 1, 0, 1, 1, 0, 0, 1])
    other = base + 0.5  # every item half a point better: no spread at all
    assert paired_bootstrap(base, other, n_boot=200, seed=0, confidence=0.95) == (0.5, 0.5, 0.5)
    # a ratio statistic (perplexity-like) rescored per resample, not averaged per item
    nll, tok = np.array([[2.0, 1], [4, 1]]), np.array([[3.0, 1], [5, 1]])
    diff, low, high = paired_bootstrap(
        nll, tok, lambda s, n: s[:, 0] / s[:, 1], n_boot=500, seed=1, confidence=0.95
    )
    assert diff == pytest.approx(1.0) and low == pytest.approx(1.0) and high == pytest.approx(1.0)
    assert paired_bootstrap(base[:1], other[:1], n_boot=50, seed=0, confidence=0.95)[1:] == (
        None,
        None,
    )


def test_card_rows_and_verdicts_from_known_inputs(engine):
    report, _ = _report(engine)
    base, tuned = report.study.systems
    # no outputs to pair the text metrics: the two stored intervals decide (conservative)
    metrics = pd.DataFrame(
        [
            (base, "rougeL", "text", 41.0, 38.0, 44.0, 60),
            (tuned, "rougeL", "text", 67.0, 64.0, 70.0, 60),  # intervals apart: a clear gain
            (base, "bleu", "text", 18.0, 10.0, 26.0, 60),
            (tuned, "bleu", "text", 20.0, 12.0, 28.0, 60),  # intervals overlap
        ],
        columns=METRIC_COLUMNS,
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
        columns=PPL_COLUMNS,
    )
    right = {str(i): 1.0 for i in range(50)}
    half = {str(i): float(i % 2) for i in range(50)}
    benchmarks = pd.DataFrame(
        [
            ("base-model", "mmlu", "acc", 1.0, 0.0, 50, right),
            ("tuned-model", "mmlu", "acc", 0.5, 0.07, 50, half),
        ],
        columns=BENCH_COLUMNS,
    )
    scores = pd.DataFrame(
        [("j", p, "a", base, "overall", 3.0 + (p % 3 == 0)) for p in range(40)]
        + [("j", p, "b", tuned, "overall", 4.0 + (p % 2 == 0)) for p in range(40)]
        # rubric scores (another scale) are left out when the judge gives an overall score
        + [("j", p, "a", base, "helpfulness", 1.0) for p in range(40)],
        columns=["judge", "pair_id", "side", "system", "criterion", "score"],
    )
    pair_prompts = pd.DataFrame({"pair_id": range(40), "prompt_id": [p // 2 for p in range(40)]})
    card = build_card(
        report,
        metrics=metrics,
        perplexity=perplexity,
        benchmarks=benchmarks,
        judge_scores=scores,
        pair_prompts=pair_prompts,
    )
    rows = {(r.key, r.system): r for r in card.rows}
    rouge = rows[("text.rougeL", tuned)]
    assert rouge.clear and rouge.verdict == "better (+63%)" and not rouge.paired
    assert rouge.relative_change == pytest.approx(26 / 41) and rouge.diff == pytest.approx(26)
    assert rouge.diff_low is None and "overlap (no outputs stored)" in rouge.method
    assert rows[("text.bleu", tuned)].verdict == "no clear change"
    general = rows[("perplexity.general.txt", "tuned-model")]
    # every text 2 nats worse over 10 tokens: perplexity x e^0.2, clearly
    assert general.relative_change == pytest.approx(np.exp(0.2) - 1)
    assert general.paired and general.n_items == 30 and general.diff_low > 0
    assert general.flag == "forgetting" and general.verdict == "worse (+22%, forgetting)"
    domain = rows[("perplexity.domain.txt", "tuned-model")]
    # lower perplexity is better: a negative difference is a gain
    assert domain.direction == "better" and domain.verdict == "better (−26%)"
    assert domain.flag is None and domain.diff_high < 0
    mmlu = rows[("benchmark.mmlu.acc", "tuned-model")]
    assert mmlu.flag == "capability lost" and mmlu.diff == pytest.approx(-0.5)
    assert mmlu.paired and mmlu.n_items == 50 and mmlu.method == "paired bootstrap over items"
    judge = rows[("judge.j.score", tuned)]
    assert judge.base_value == pytest.approx(3 + 14 / 40) and judge.value == pytest.approx(4.5)
    # two pairs per prompt: paired over the 20 prompts' mean scores
    assert judge.paired and judge.n_items == 20 and judge.clear and judge.direction == "better"
    assert judge.diff == pytest.approx(4.5 - (3 + 14 / 40))
    human = rows[("human.win_rate", tuned)]
    assert human.value > 0.6 and human.clear and human.verdict.startswith("wins")
    assert human.paired and human.n_items == 60 and human.diff == pytest.approx(human.value - 0.5)
    assert human.diff_low > 0 and human.method == "paired bootstrap over prompts"
    judge_wr = [r for r in card.rows if r.key.endswith(".win_rate") and r.layer == "judge"]
    assert judge_wr and all(r.system == tuned and r.paired for r in judge_wr)
    assert any(r.key == "human.agreement_alpha" for r in card.rows)
    figures = card_metrics(card)
    assert figures[f"text.rougeL.{tuned}"] == 67.0
    assert figures[f"text.rougeL.{tuned}.change"] == pytest.approx(26.0)
    assert figures["benchmark.mmlu.acc.tuned-model.base"] == 1.0
    assert figures["perplexity.general.txt.tuned-model.diff_low"] == general.diff_low


def _outputs(per_system: dict[str, list[str]], references: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [
            (system, i, text, references[i])
            for system, texts in per_system.items()
            for i, text in enumerate(texts)
        ],
        columns=["system", "prompt_id", "prediction", "reference"],
    )


def _stored(per_system: dict[str, list[str]], references: list[str]) -> pd.DataFrame:
    """The metrics as ``sidebyside metrics`` stores them (each system's own bootstrap)."""
    from sidebyside.metrics.textmetrics import text_metrics

    rows = []
    for system, texts in per_system.items():
        for m in text_metrics(texts, references, n_boot=1000, seed=0, meteor=False).values():
            rows.append((system, m.name, "text", m.value, m.ci_low, m.ci_high, m.n))
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)


def _text_card(report, per_system, references, **kw):
    renamed = dict(zip(report.study.systems, per_system.values(), strict=True))
    card = build_card(
        report,
        metrics=_stored(renamed, references),
        outputs=_outputs(renamed, references),
        scorer=TEXT_SCORER,
        **kw,
    )
    return {r.key: r for r in card.rows if r.layer == "text"}, _stored(renamed, references)


def _overlap(stored: pd.DataFrame, metric: str) -> bool:
    a, b = stored[stored["metric"] == metric].itertuples()
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def test_intervals_overlap_but_the_paired_difference_is_clear(engine):
    # prompts differ a lot in difficulty; the tuned system gets 8 more of 60 right and never
    # one fewer: each system's interval is wide, the paired one is not
    references = [f"answer {i}" for i in range(60)]
    base = [references[i] if i < 30 else "no idea" for i in range(60)]
    tuned = [references[i] if i < 38 else "no idea" for i in range(60)]
    rows, stored = _text_card(_report(engine)[0], {"base": base, "tuned": tuned}, references)
    em = rows["text.exact_match"]
    assert _overlap(stored, "exact_match")  # the old rule: "no clear change"
    assert em.paired and em.n_items == 60 and em.method == "paired bootstrap over prompts"
    assert em.diff == pytest.approx(100 * 8 / 60) and em.diff == pytest.approx(em.change)
    assert 0 < em.diff_low < em.diff < em.diff_high
    assert em.clear and em.direction == "better" and em.verdict == "better (+27%)"


def test_a_planted_null_keeps_zero_in_the_paired_interval(engine):
    # each system right on 20 of 60 prompts, half of them the other's misses: no difference
    references = [f"answer {i}" for i in range(60)]
    base = [references[i] if i < 20 else "no idea" for i in range(60)]
    tuned = [references[i] if 10 <= i < 30 else "no idea" for i in range(60)]
    report, _ = _report(engine)
    rows, _ = _text_card(report, {"base": base, "tuned": tuned}, references)
    for key in ("text.exact_match", "text.chrf", "text.token_f1", "text.rougeL"):
        row = rows[key]
        assert row.paired and row.diff_low < 0 < row.diff_high, key
        assert row.clear is False and row.direction is None and row.verdict == "no clear change"
    assert rows["text.exact_match"].diff == pytest.approx(0.0)
    # without resamples the paired interval is gone and the stored intervals' overlap decides
    rows, _ = _text_card(report, {"base": base, "tuned": tuned}, references, n_boot=0)
    assert not rows["text.chrf"].paired
    assert rows["text.chrf"].method == "unpaired: the two intervals overlap (no resamples)"


def test_label_metrics_are_paired_over_prompts(engine):
    report, _ = _report(engine)
    base, tuned = report.study.systems
    gold = ["pos", "neg", "neu"] * 20
    per = {base: [g if i % 2 else "neg" for i, g in enumerate(gold)], tuned: list(gold)}
    outputs = _outputs(per, gold)
    from sidebyside.metrics.textmetrics import label_metrics

    metrics = pd.DataFrame(
        [
            (s, m.name, "label", m.value, m.ci_low, m.ci_high, m.n)
            for s, preds in per.items()
            for m in label_metrics(preds, gold, n_boot=200).metrics.values()
        ],
        columns=METRIC_COLUMNS,
    )
    card = build_card(report, metrics=metrics, outputs=outputs, scorer=TEXT_SCORER, n_boot=300)
    rows = {r.key: r for r in card.rows if r.layer == "text"}
    acc = rows["text.accuracy"]
    stored = metrics.set_index(["system", "metric"])["value"]
    assert acc.paired and acc.n_items == 60 and acc.direction == "better"
    assert acc.diff == pytest.approx(stored[(tuned, "accuracy")] - stored[(base, "accuracy")])
    macro = rows["text.macro_f1"]
    assert macro.diff == pytest.approx(stored[(tuned, "macro_f1")] - stored[(base, "macro_f1")])


def test_benchmarks_without_per_item_scores_keep_the_overlap_rule(engine):
    report, _ = _report(engine)
    benchmarks = pd.DataFrame(
        [
            ("base-model", "mmlu", "acc", 0.60, 0.02, 500, {}),
            ("tuned-model", "mmlu", "acc", 0.64, 0.02, 500, {}),  # intervals overlap
            ("base-model", "arc", "acc", 0.40, 0.01, 500, {}),
            ("tuned-model", "arc", "acc", 0.50, 0.01, 500, {}),  # intervals apart
        ],
        columns=BENCH_COLUMNS,
    )
    rows = {r.key: r for r in build_card(report, benchmarks=benchmarks).rows}
    mmlu, arc = rows["benchmark.mmlu.acc"], rows["benchmark.arc.acc"]
    for row in (mmlu, arc):
        assert not row.paired and row.n_items is None and row.diff_low is None
        assert row.method == "unpaired: the two intervals overlap (per-item not stored)"
    assert mmlu.verdict == "no clear change" and arc.verdict == "better (+25%)"


def test_per_item_scores_pair_a_benchmark_whose_intervals_overlap(engine):
    report, _ = _report(engine)
    rng = np.random.default_rng(4)
    base = {str(i): float(x) for i, x in enumerate(rng.random(400) < 0.6)}
    gained = [k for k, v in base.items() if v == 0][:25]  # 25 more right, none lost
    tuned = {k: 1.0 if k in gained else v for k, v in base.items()}
    mean = lambda d: float(np.mean(list(d.values())))  # noqa: E731
    se = lambda d: float(np.sqrt(mean(d) * (1 - mean(d)) / len(d)))  # noqa: E731
    benchmarks = pd.DataFrame(
        [
            ("base-model", "t", "acc", mean(base), se(base), 400, base),
            ("tuned-model", "t", "acc", mean(tuned), se(tuned), 400, tuned),
        ],
        columns=BENCH_COLUMNS,
    )
    row = build_card(report, benchmarks=benchmarks).rows[0]
    assert row.ci_low < mean(base) + 1.96 * se(base)  # the harness's intervals overlap
    assert row.paired and row.n_items == 400 and row.diff == pytest.approx(25 / 400)
    assert row.diff_low > 0 and row.direction == "better"


def test_no_clear_change_when_the_systems_are_equal(engine):
    report, _ = _report(engine, strengths=(0.0, 0.0), seed=3)
    row = next(r for r in report.card.rows if r.key == "human.win_rate")
    assert row.paired and row.diff_low < 0 < row.diff_high
    assert row.verdict == "no clear change" and row.clear is False and row.direction is None


def test_without_resamples_a_win_rate_falls_back_to_the_wilson_interval(engine):
    spec = SyntheticSpec(name="syn", strengths=[0.0, 1.5], n_prompts=60, seed=1)
    study_id = build_synthetic_study(engine, spec)
    report = build_report(load_study_frames(engine, study_id), n_boot=0)
    row = next(r for r in report.card.rows if r.key == "human.win_rate")
    assert not row.paired and row.n_items is None and row.diff_low is not None
    assert row.method == "unpaired: Wilson interval of the votes (no resamples)"


def test_the_demo_cards_bleu_row_is_called_from_the_paired_interval(engine):
    from sidebyside.analysis.report import report_for_study
    from sidebyside.annotate.demo import load_demo

    with Session(engine) as s:
        load_demo(s)
        s.commit()
    _invoke("metrics", "demo", "--bootstrap", "1000")
    card = report_for_study(engine, "demo", n_boot=1000, scorer=TEXT_SCORER).card
    bleu = next(r for r in card.rows if r.key == "text.bleu")
    unscored = report_for_study(engine, "demo", n_boot=200).card  # no scorer: overlap decides
    plain = next(r for r in unscored.rows if r.key == "text.bleu")
    assert not plain.paired and "no per-prompt scorer" in plain.method
    stored = load_card_frames(engine, "demo")["metrics"]
    assert _overlap(stored[stored["kind"] == "text"], "bleu")  # overlap called it unclear
    # the paired bootstrap over the 30 prompts: +10.9 [+0.8, +20.0]
    assert bleu.paired and bleu.n_items == 30 and bleu.diff == pytest.approx(10.94, abs=0.01)
    assert bleu.diff_low == pytest.approx(0.8, abs=0.3) and bleu.diff_high == pytest.approx(
        20.0, abs=0.5
    )
    assert bleu.clear and bleu.direction == "better" and bleu.verdict == "better (+73%)"
    assert all(r.paired and r.diff_low is not None for r in card.rows if r.layer == "text")


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
        if r["key"] != "human.agreement_alpha":  # every comparison: its difference's interval
            assert r["paired"] and r["n_items"] >= 2, r
            assert r["diff_low"] <= r["diff_high"] and r["method"].startswith("paired bootstrap")
    bench = next(r for r in card["rows"] if r["key"] == "benchmark.card_cloze.acc")
    assert (bench["base"], bench["system"]) == (base_model, tuned_model)
    # the card in the typed JSON report is the same card
    report = json.loads(_invoke("report", "demo", "--n-boot", "200").stdout)
    assert [r["key"] for r in report["card"]["rows"]] == [r["key"] for r in card["rows"]]
    md = _invoke("card", "demo", "--format", "md", "--n-boot", "0").stdout
    # The card follows "What was compared" (issue 17) when the study records it.
    assert "## Evaluation card" in md and "| human | human win rate vs base |" in md
    assert "| difference [95% CI] | test |" in md
    md = _invoke("card", "demo", "--format", "md", "--n-boot", "200").stdout
    assert "paired over 30 prompts" in md and "paired over 2 texts" in md
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
        base_value=1.0, value=2.0, ci_low=None, ci_high=None, change=1.0, diff=1.0,
        diff_low=0.5, diff_high=1.5, paired=True, n_items=3, method="paired bootstrap over prompts",
        relative_change=1.0, clear=True, direction="better", flag=None, verdict="better (+100%)",
        n=3,
    )  # fmt: skip
    card = EvaluationCard(base="base", rows=[row], notes=[])
    html = card_html(card)
    assert "<script>" not in html and "&lt;script&gt;x|y&lt;/script&gt;" in html
    md = "\n".join(card_md(card))
    assert "<script>x\\|y</script>" in md  # a pipe cannot split the row
    assert "| +1 [+0.5, +1.5] | paired over 3 prompts | better (+100%) |" in md
    assert "<td>+1 [+0.5, +1.5]</td><td>paired over 3 prompts</td>" in html
