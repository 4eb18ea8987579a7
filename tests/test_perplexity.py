"""metrics.perplexity against an independent float64 token-by-token reference, plus the
invariances the figure must have (batch size, order, padding side) and the edge cases."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

try:  # tests/ may or may not be a package
    from tests.tiny_lm import SENTENCES, ReferenceLM, build_tiny_gpt2
except ImportError:  # pragma: no cover
    from tests.tiny_lm import SENTENCES, ReferenceLM, build_tiny_gpt2

from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.metrics.perplexity import PerplexityScorer, load_model, windows
from sidebyside.metrics.ppl_stats import (
    EmptyTextWarning,
    TextScores,
    bootstrap_ci,
    corpus_perplexity,
    paired_comparison,
    read_texts,
)

N_POS = 32
# Mixed lengths; the last two are longer than the context (sliding windows).
TEXTS = SENTENCES + ["Hi.", "side by side", " ".join(SENTENCES[:3]), " ".join(SENTENCES)]


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny_lm")
    return {
        "bos": str(build_tiny_gpt2(root / "bos", bos=True, n_positions=N_POS)),
        "nobos": str(build_tiny_gpt2(root / "nobos", bos=False, n_positions=N_POS, seed=1)),
    }


@pytest.fixture(scope="session")
def references(tiny_models):
    """The float64 reference of each tiny model, built once: its per-context memo is shared by
    every (max_length, stride) below, which all score the same texts."""
    return {kind: ReferenceLM(path) for kind, path in tiny_models.items()}


def _scorer(path: str, **kwargs) -> PerplexityScorer:
    model, tokenizer = load_model(path, "cpu", "float32")
    return PerplexityScorer(model, tokenizer, name=path, **kwargs)


def _close(a: float, b: float, rel: float = 1e-5) -> bool:
    return abs(a - b) <= rel * max(abs(a), abs(b))


@pytest.mark.parametrize("kind", ["bos", "nobos"])
@pytest.mark.parametrize(("max_length", "stride"), [(N_POS, None), (N_POS, 7), (12, 1)])
def test_matches_float64_token_by_token_reference(
    tiny_models, references, kind, max_length, stride
):
    path = tiny_models[kind]
    got = _scorer(path, max_length=max_length, stride=stride, batch_size=3).score(TEXTS)
    reference = references[kind]
    ref, counts = reference.nll(TEXTS, max_length=max_length, stride=stride or max_length)
    assert got.n_tokens.tolist() == counts
    np.testing.assert_allclose(got.nll, ref, rtol=1e-5)
    assert _close(got.perplexity, math.exp(sum(ref) / sum(counts)))
    # long texts really were windowed, and every token scored once
    assert got.processed_tokens > got.total_tokens


def test_bfloat16_path_runs_on_cpu_and_stays_close(tiny_models):
    """The GPU path loads bf16; CI has no GPU, so run the same dtype on the CPU: per-token
    log-probabilities still leave the model as float32 and are summed in float64, so the
    corpus figure stays within bf16's precision of float32's."""
    path = tiny_models["bos"]
    model, tokenizer = load_model(path, "cpu", "bfloat16")
    import torch

    assert next(model.parameters()).dtype == torch.bfloat16
    half = PerplexityScorer(model, tokenizer, name=path, batch_size=3).score(TEXTS)
    full = _scorer(path, batch_size=3).score(TEXTS)
    assert half.n_tokens.tolist() == full.n_tokens.tolist()
    assert np.all(np.isfinite(half.nll))
    assert abs(half.perplexity / full.perplexity - 1) < 0.03
    assert half.settings["dtype"] == "bfloat16"


def test_bos_convention(tiny_models):
    """With a BOS every text token is scored; without one the first token is context only."""
    for kind, missing in (("bos", 0), ("nobos", 1)):
        model, tokenizer = load_model(tiny_models[kind], "cpu", "float32")
        got = PerplexityScorer(model, tokenizer).score(TEXTS)
        lengths = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in TEXTS]
        assert got.n_tokens.tolist() == [n - missing for n in lengths]
    assert load_model(tiny_models["bos"], "cpu", "float32")[1].bos_token_id is not None
    assert load_model(tiny_models["nobos"], "cpu", "float32")[1].bos_token_id is None


@pytest.mark.parametrize("kind", ["bos", "nobos"])
def test_invariant_to_batch_size_order_and_padding_side(tiny_models, kind):
    base = _scorer(tiny_models[kind], batch_size=1).score(TEXTS)
    order = np.random.default_rng(3).permutation(len(TEXTS))
    for batch_size in (2, 5, "auto"):
        for side in ("right", "left"):
            scorer = _scorer(tiny_models[kind], batch_size=batch_size, padding_side=side)
            got = scorer.score([TEXTS[i] for i in order])
            np.testing.assert_allclose(got.nll, base.nll[order], rtol=1e-5)
            assert got.n_tokens.tolist() == base.n_tokens[order].tolist()
            assert _close(got.perplexity, base.perplexity)
    tight = _scorer(tiny_models[kind], token_budget=N_POS).score(TEXTS)  # one window a batch
    assert _close(tight.nll_sum, base.nll_sum)


def test_empty_and_whitespace_texts_are_skipped_with_a_warning(tiny_models):
    scorer = _scorer(tiny_models["bos"])
    with pytest.warns(EmptyTextWarning, match=r"skipped 3 empty .*item 2, 3, 5"):
        got = scorer.score(["Hello there.", "", "  \t ", "The cat sat.", "\n"])
    assert got.skipped == [1, 2, 4]
    assert got.n_tokens[[1, 2, 4]].tolist() == [0, 0, 0]
    assert math.isfinite(got.perplexity) and math.isfinite(got.bits_per_byte)
    alone = scorer.score(["Hello there.", "The cat sat."])
    assert _close(got.perplexity, alone.perplexity)

    with pytest.warns(EmptyTextWarning):
        nothing = scorer.score(["", " "])
    assert nothing.total_tokens == 0 and math.isnan(nothing.perplexity)  # no data, not a crash
    assert scorer.score([]).total_tokens == 0


def test_single_token_without_bos_scores_nothing_and_warns(tiny_models):
    scorer = _scorer(tiny_models["nobos"])
    with pytest.warns(EmptyTextWarning, match="single token"):
        got = scorer.score(["x", "The cat sat on the mat."])
    assert got.n_tokens[0] == 0 and got.n_tokens[1] > 0 and math.isfinite(got.perplexity)


def test_bits_per_byte_and_summary(tiny_models):
    got = _scorer(tiny_models["bos"]).score(TEXTS, texts_name="domain")
    total_bytes = sum(len(t.encode()) for t in TEXTS)
    assert got.n_bytes.sum() == total_bytes
    assert _close(got.bits_per_byte, got.nll_sum / total_bytes / math.log(2))
    summary = got.summary(n_boot=200)
    assert set(summary) == {
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
    assert summary["ci_low"] < summary["perplexity"] < summary["ci_high"]
    assert summary["texts"] == "domain" and summary["tokens_per_second"] > 0
    json.dumps(summary)


def test_corpus_perplexity_is_token_weighted_not_mean_of_texts():
    nll, n = np.array([20.0, 1.0]), np.array([10, 1])
    assert corpus_perplexity(nll, n) == pytest.approx(math.exp(21 / 11))
    per_text_mean = np.mean(np.exp(nll / n))  # (e^2 + e) / 2, the wrong figure
    assert abs(corpus_perplexity(nll, n) - per_text_mean) > 0.5


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    rng = np.random.default_rng(0)
    n = rng.integers(5, 50, size=200)
    nll = n * rng.normal(3.0, 0.3, size=200)
    low, high = bootstrap_ci(nll, n, n_boot=500, seed=1)
    assert low < corpus_perplexity(nll, n) < high
    assert (low, high) == bootstrap_ci(nll, n, n_boot=500, seed=1)
    assert all(math.isnan(x) for x in bootstrap_ci(np.array([1.0]), np.array([2])))


def _scores(nll, n, name="m") -> TextScores:
    n = np.asarray(n)
    return TextScores(model=name, texts="t", nll=np.asarray(nll, float), n_tokens=n, n_bytes=n * 4)


def test_paired_comparison_detects_a_consistent_small_change():
    rng = np.random.default_rng(0)
    n = rng.integers(5, 50, size=300)
    base_nll = n * rng.normal(3.0, 0.5, size=300)  # large between-text spread
    other_nll = base_nll + n * rng.normal(0.02, 0.005, size=300)  # ~2% worse per token
    cmp = paired_comparison(_scores(base_nll, n), _scores(other_nll, n), n_boot=500)
    assert cmp.metric == "perplexity"
    assert cmp.rel_change == pytest.approx(math.exp(0.02) - 1, abs=2e-3)
    assert 0 < cmp.ci_low <= cmp.rel_change <= cmp.ci_high  # paired: tight, excludes zero
    assert cmp.ci_high - cmp.ci_low < 5e-3
    # unpaired CIs of the two perplexities overlap: only pairing sees the change
    low_b, high_b = bootstrap_ci(base_nll, n, n_boot=500)
    low_o, high_o = bootstrap_ci(other_nll, n, n_boot=500)
    assert low_o < high_b

    # different tokenizers (token counts differ): compared on bits per byte instead
    cmp2 = paired_comparison(_scores(base_nll, n), _scores(other_nll, n + 1), n_boot=100)
    assert cmp2.metric == "bits_per_byte"
    with pytest.raises(ValueError, match="not the same text set"):
        paired_comparison(_scores(base_nll, n), _scores(other_nll[:-1], n[:-1]))


def test_models_compared_on_the_same_texts(tiny_models):
    a = _scorer(tiny_models["bos"]).score(TEXTS)
    b = _scorer(tiny_models["nobos"]).score(TEXTS)
    cmp = paired_comparison(a, b, n_boot=200)
    assert cmp.metric == "bits_per_byte"  # the no-BOS model scores one token less per text
    assert cmp.ci_low <= cmp.rel_change <= cmp.ci_high


def test_windows_tile_every_target_once():
    for length in range(1, 40):
        for max_length, stride in ((4, 4), (4, 1), (7, 3), (16, 100)):
            spans = windows(length, max_length, stride)
            targets = [t for _, first, end in spans for t in range(first, end)]
            assert targets == list(range(1, length))
            assert all(end - start <= max_length and start < first for start, first, end in spans)
    with pytest.raises(ValueError, match="max_length"):
        windows(10, 1, 1)
    with pytest.raises(ValueError, match="stride"):
        windows(10, 4, 0)


def test_bad_arguments_are_clear(tiny_models):
    with pytest.raises(InputError, match="batch size"):
        _scorer(tiny_models["bos"], batch_size=0)
    with pytest.raises(InputError, match="--max-length must be at least 2"):
        _scorer(tiny_models["bos"], max_length=1)
    with pytest.raises(InputError, match="--stride must be at least 1"):
        _scorer(tiny_models["bos"], stride=-1)
    with pytest.raises(ValueError, match="padding_side"):
        _scorer(tiny_models["bos"], padding_side="middle")


def test_read_texts_formats(tmp_path):
    lines = tmp_path / "a.txt"
    lines.write_text("one\ntwo\n\nthree\n", encoding="utf-8")
    assert read_texts(lines) == ["one", "two", "", "three"]
    paras = tmp_path / "b.txt"
    paras.write_text("first line\nsame para\n\n  \nsecond\n", encoding="utf-8")
    assert read_texts(paras, paragraphs=True) == ["first line\nsame para", "second"]
    jl = tmp_path / "c.jsonl"
    jl.write_text('{"text": "x"}\n\n{"text": "y", "id": 2}\n', encoding="utf-8")
    assert read_texts(jl) == ["x", "y"]
    bad = tmp_path / "d.jsonl"
    bad.write_text('{"text": "x"}\n{"txt": "y"}\n', encoding="utf-8")
    with pytest.raises(FileInputError, match=r"d.jsonl, line 2, column text: .*'text'"):
        read_texts(bad)
    broken = tmp_path / "e.jsonl"
    broken.write_text('{"text": "x"\n', encoding="utf-8")
    with pytest.raises(FileInputError, match=r"e.jsonl, line 1, column \d+: malformed JSON"):
        read_texts(broken)
    with pytest.raises(FileInputError, match="no such file"):
        read_texts(tmp_path / "missing.txt")


def test_progress_is_reported(tiny_models):
    seen: list[tuple[int, int]] = []
    scorer = _scorer(tiny_models["bos"], batch_size=2)
    scorer.score(TEXTS, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1][0] == seen[-1][1] > 0
    assert [d for d, _ in seen] == sorted(d for d, _ in seen)


def test_model_loaded_once_per_process(tiny_models):
    assert load_model(tiny_models["bos"], "cpu", "float32") is load_model(
        tiny_models["bos"], "cpu", "float32"
    )


def test_importing_does_not_import_torch():
    import subprocess
    import sys

    code = (
        "import sys, sidebyside.metrics.perplexity, sidebyside.metrics.ppl_stats; "
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_no_warning_for_clean_texts(tiny_models):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        _scorer(tiny_models["bos"]).score(["A clean text."])


def test_auto_batch_backs_off_on_out_of_memory(tiny_models, monkeypatch):
    import torch

    scorer = _scorer(tiny_models["bos"], token_budget=8 * N_POS)
    expected = _scorer(tiny_models["bos"], batch_size=1).score(TEXTS)
    real_forward = scorer._forward
    widths: list[int] = []

    def forward(batch):  # pretend that more than 2 windows of this width do not fit
        widths.append(len(batch))
        if len(batch) > 2:
            raise torch.OutOfMemoryError("fake")
        return real_forward(batch)

    monkeypatch.setattr(scorer, "_forward", forward)
    got = scorer.score(TEXTS)
    assert widths[:3] == [8, 4, 2] and max(widths[2:]) <= 2  # halved until it fit, then stayed
    np.testing.assert_allclose(got.nll, expected.nll, rtol=1e-5)

    fixed = _scorer(tiny_models["bos"], batch_size=4)
    monkeypatch.setattr(fixed, "_forward", forward)
    with pytest.raises(InputError, match="smaller batch size"):
        fixed.score(TEXTS)


def test_full_logits_fallback_agrees(tiny_models):
    """Models whose LM head cannot be split off go through their own forward."""
    split = _scorer(tiny_models["bos"], batch_size=3)
    whole = _scorer(tiny_models["bos"], batch_size=3)
    whole._head = None
    np.testing.assert_allclose(whole.score(TEXTS).nll, split.score(TEXTS).nll, rtol=1e-5)


def test_fused_gelu_swap_is_exact_enough(tiny_models):
    from transformers import AutoModelForCausalLM

    from sidebyside.foundation.hf import optimize_for_inference

    plain = AutoModelForCausalLM.from_pretrained(tiny_models["bos"]).eval()
    tokenizer = load_model(tiny_models["bos"], "cpu", "float32")[1]
    before = PerplexityScorer(plain, tokenizer).score(TEXTS)
    after = PerplexityScorer(optimize_for_inference(plain), tokenizer).score(TEXTS)
    assert "GELUTanh" in {type(m).__name__ for m in plain.modules()}
    np.testing.assert_allclose(after.nll, before.nll, rtol=1e-5)
