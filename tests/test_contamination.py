"""metrics.contamination: hashed word n-gram overlap."""

from __future__ import annotations

import numpy as np
import pytest

from sidebyside.metrics.contamination import contamination, ngram_hashes


def _naive_ngrams(text: str, n: int) -> set[tuple[str, ...]]:
    words = text.lower().split()
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_matches_a_naive_set_implementation():
    rng = np.random.default_rng(0)
    vocab = [f"w{i}" for i in range(30)]  # small vocabulary: many accidental overlaps
    train = [" ".join(rng.choice(vocab, size=rng.integers(0, 40))) for _ in range(200)]
    evaluation = [" ".join(rng.choice(vocab, size=rng.integers(0, 12))) for _ in range(300)]
    n = 3
    report = contamination(train, evaluation, n=n)
    train_grams = set().union(*(_naive_ngrams(t, n) for t in train))
    expected, short = [], []
    for i, text in enumerate(evaluation):
        words = text.split()
        if len(words) < n:
            short.append(i)
            continue
        all_grams = [tuple(words[j : j + n]) for j in range(len(words) - n + 1)]
        hits = sum(g in train_grams for g in all_grams)
        if hits:
            expected.append((i, hits, len(all_grams)))
    got = [(c.index, c.n_matched, c.n_ngrams) for c in report.contaminated]
    assert got == expected
    assert report.too_short == short
    assert report.share == pytest.approx(len(expected) / len(evaluation))


def test_ngrams_do_not_cross_text_boundaries():
    hashes, owner = ngram_hashes(["a b", "c d"], 2)
    assert len(hashes) == 2 and owner.tolist() == [0, 1]
    crossing = contamination(["a b c d"], ["b c"], n=2)
    assert [c.index for c in crossing.contaminated] == [0]
    split = contamination(["a b", "c d"], ["b c"], n=2)  # "b c" spans two training texts
    assert split.contaminated == []


def test_normalisation_and_threshold():
    train = ["The Quick, brown fox -- jumps over the lazy dog!"]
    ev = ["the quick brown fox jumps over the lazy dog", "the quick brown fox sleeps all day long"]
    assert [c.index for c in contamination(train, ev, n=4).contaminated] == [0, 1]
    strict = contamination(train, ev, n=4, threshold=0.5)
    assert [c.index for c in strict.contaminated] == [0]
    assert strict.contaminated[0].share == 1.0
    with pytest.raises(ValueError, match="threshold"):
        contamination(train, ev, threshold=0)
    with pytest.raises(ValueError, match="n must be"):
        contamination(train, ev, n=0)


def test_empty_inputs():
    assert contamination([], ["one two three"], n=2).contaminated == []
    report = contamination(["a b c"], [], n=2)
    assert report.n_eval == 0 and report.share == 0.0


def test_scales_to_100k_training_examples():
    rng = np.random.default_rng(1)
    words = np.array([f"t{i}" for i in range(20_000)])
    train = [" ".join(row) for row in words[rng.integers(0, len(words), size=(100_000, 30))]]
    leaked = train[12_345]
    evaluation = [" ".join(row) for row in words[rng.integers(0, len(words), size=(500, 30))]] + [
        f"prefix {leaked} suffix"
    ]
    report = contamination(train, evaluation, n=8)
    assert [c.index for c in report.contaminated] == [500]
    assert report.contaminated[0].n_matched == 30 - 8 + 1
