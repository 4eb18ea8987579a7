"""metrics.textmetrics on the libraries' own published examples, plus EM / token F1 / labels."""

from __future__ import annotations

import numpy as np
import pytest

from sidebyside.foundation.errors import FileInputError
from sidebyside.metrics.inputs import read_pairs
from sidebyside.metrics.textmetrics import (
    LABEL_METRICS,
    TEXT_METRICS,
    exact_match,
    label_metrics,
    normalize_answer,
    text_metrics,
    token_f1,
)

# sacrebleu's README example: BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ...), chrF2 = 59.73
SACREBLEU_REFS = [
    ["The dog bit the man.", "It was not unexpected.", "The man bit him first."],
    ["The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."],
]
SACREBLEU_SYS = ["The dog bit the man.", "It wasn't surprising.", "The man had just bitten him."]


def test_sacrebleu_documented_example():
    per_prompt = [list(refs) for refs in zip(*SACREBLEU_REFS, strict=True)]
    got = text_metrics(SACREBLEU_SYS, per_prompt, n_boot=200, meteor=False)
    assert set(got) == set(TEXT_METRICS)
    assert round(got["bleu"].value, 2) == 48.53
    assert round(got["chrf"].value, 2) == 59.73
    assert got["bleu"].n == 3


def test_corpus_statistics_rescore_as_sacrebleu_scores_each_resample():
    """The bootstrap rescoring of summed segment statistics (metrics.corpus_stats) gives what
    sacrebleu's public corpus_score gives on the resampled corpus, several references too."""
    from sacrebleu.metrics import BLEU, CHRF

    from sidebyside.metrics import corpus_stats as cs

    hyps = [*SACREBLEU_SYS, "A dog.", "", "the man , bitten !"]
    refs = [list(r) for r in zip(*SACREBLEU_REFS, strict=True)] + [["A cat."], ["x"], ["y", "z"]]
    rng = np.random.default_rng(3)
    for metric, statistics, rescore in (
        (BLEU(), cs.bleu_statistics, cs.bleu_from_statistics),
        (CHRF(), cs.chrf_statistics, cs.chrf_score),
    ):
        stats = statistics(metric, hyps, refs)
        for _ in range(20):
            idx = rng.integers(0, len(hyps), len(hyps))
            sample = [refs[i] for i in idx]
            streams = [[r[j] if j < len(r) else r[0] for r in sample] for j in range(2)]
            expected = metric.corpus_score([hyps[i] for i in idx], streams).score
            assert rescore(metric, stats[idx].sum(axis=0)) == pytest.approx(expected, abs=1e-9)


def test_rouge_score_documented_example():
    # rouge-score's README: score('The quick brown fox jumps over the lazy dog',
    #                            'The quick brown dog jumps on the log.')
    # rouge1 F = 0.70588 (P 0.75, R 0.6667), rougeL F = 0.58824 (P 0.625, R 0.5556)
    got = text_metrics(
        ["The quick brown dog jumps on the log."],
        ["The quick brown fox jumps over the lazy dog"],
        n_boot=0,
    )
    assert got["rouge1"].value == pytest.approx(100 * 12 / 17)
    assert got["rougeL"].value == pytest.approx(100 * 10 / 17)
    assert np.isnan(got["rouge1"].ci_low)  # no resamples asked for


def test_stemming_is_on():
    got = text_metrics(["the cats were running"], ["the cat was run"], n_boot=0)
    assert got["rouge1"].value == pytest.approx(100 * 3 / 4)  # cats~cat, running~run


def test_best_of_several_references_and_bootstrap():
    preds = ["Canberra", "206", "blue sky", "Paris"] * 10
    refs = [["Sydney", "Canberra"], "206", "the blue sky", ["London"]] * 10
    got = text_metrics(preds, refs, n_boot=300, seed=2)
    assert got["exact_match"].value == pytest.approx(50.0)
    assert got["token_f1"].value == pytest.approx(75.0)  # "the" is dropped by SQuAD norm
    for value in got.values():
        assert value.ci_low <= value.value <= value.ci_high
    again = text_metrics(preds, refs, n_boot=300, seed=2)
    assert again["bleu"] == got["bleu"]  # seeded


def test_exact_match_and_token_f1():
    assert exact_match("  Paris \n", "Paris") == 1.0
    assert exact_match("paris", "Paris") == 0.0  # only whitespace is forgiven
    assert normalize_answer("An  apple, a DAY!") == "apple day"
    assert token_f1("The Eiffel Tower", "eiffel tower") == 1.0
    # "tower of london" vs "eiffel tower": 1 common token, P = 1/3, R = 1/2
    assert token_f1("tower of london", "eiffel tower") == pytest.approx(0.4)
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0
    assert token_f1("cat", "dog") == 0.0


def test_input_errors():
    with pytest.raises(ValueError, match="2 predictions but 1 references"):
        text_metrics(["a", "b"], ["a"])
    with pytest.raises(ValueError, match="reference 1"):
        text_metrics(["a"], [[]])
    with pytest.raises(ValueError, match="no predictions"):
        text_metrics([], [])
    with pytest.raises(ValueError, match="no predictions"):
        label_metrics([], [])


def test_label_metrics_match_scikit_learn():
    from sklearn.metrics import accuracy_score, f1_score

    rng = np.random.default_rng(0)
    gold = rng.choice(["pos", "neg", "neutral"], size=120)
    pred = np.where(rng.random(120) < 0.7, gold, rng.choice(["pos", "neg", "other"], size=120))
    report = label_metrics(list(pred), [f" {g} " for g in gold], n_boot=300)
    assert set(report.metrics) == set(LABEL_METRICS)
    assert report.metrics["accuracy"].value == pytest.approx(accuracy_score(gold, pred))
    assert report.metrics["macro_f1"].value == pytest.approx(f1_score(gold, pred, average="macro"))
    assert report.metrics["weighted_f1"].value == pytest.approx(
        f1_score(gold, pred, average="weighted")
    )
    for value in report.metrics.values():
        assert value.ci_low <= value.value <= value.ci_high
    assert report.per_class["other"]["support"] == 0  # predicted, never the gold label
    assert set(report.per_class) == {"neg", "neutral", "other", "pos"}
    assert all(isinstance(k, str) for k in report.per_class)


def test_bootstrap_f1_agrees_with_scikit_learn_on_each_resample():
    """The vectorised resample scores equal scikit-learn's on the same resample."""
    from sklearn.metrics import f1_score

    from sidebyside.metrics.textmetrics import confusion_scores

    rng = np.random.default_rng(1)
    gold = rng.integers(0, 4, size=50)
    pred = np.where(rng.random(50) < 0.5, gold, rng.integers(0, 5, size=50))
    for _ in range(20):
        row = rng.integers(0, 50, size=50)
        g, p = gold[row], pred[row]
        counts = np.bincount(g * 5 + p, minlength=25)
        acc, macro, weighted = confusion_scores(counts, 5)
        assert acc == pytest.approx(np.mean(g == p))
        assert macro == pytest.approx(f1_score(g, p, average="macro", zero_division=0))
        assert weighted == pytest.approx(f1_score(g, p, average="weighted", zero_division=0))


def test_read_pairs_positional_and_by_id(tmp_path):
    p, r = tmp_path / "p.txt", tmp_path / "r.txt"
    p.write_text("a\n\nc\n")
    r.write_text("a\nb\nc\n")
    assert read_pairs(p, r) == (["a", "", "c"], ["a", "b", "c"])
    pj = tmp_path / "p.jsonl"
    pj.write_text('{"id": "x", "output": "1"}\n{"id": "y", "output": "2"}\n')
    rj = tmp_path / "r.jsonl"
    rj.write_text('{"id": "y", "label": "2"}\n{"id": "x", "references": ["1", "one"]}\n')
    assert read_pairs(pj, rj) == (["1", "2"], [["1", "one"], "2"])
    rj.write_text('{"id": "y", "reference": 3}\n')
    with pytest.raises(
        FileInputError, match=r"r.jsonl, line 1, column reference: 'reference' must be a string"
    ):
        read_pairs(pj, rj)
    rj.write_text('{"id": "y", "reference": "3"}\n{"id": "y", "reference": "3"}\n')
    with pytest.raises(
        FileInputError, match=r"line 2, column id: id 'y' appears twice \(first on line 1"
    ):
        read_pairs(pj, rj)
