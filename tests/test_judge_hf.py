"""The hf: judge with a tiny random GPT-2 built locally: loaded once, batched, end to end."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlmodel import Session, select

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sidebyside.foundation.errors import InputError, ModelLoadError  # noqa: E402
from sidebyside.foundation.models import Judgment  # noqa: E402
from sidebyside.judge.providers import load_judge  # noqa: E402
from sidebyside.judge.providers.base import JudgeRequest  # noqa: E402
from sidebyside.judge.service import JudgeRunConfig, run_judges  # noqa: E402
from sidebyside.judge.specs import parse_spec  # noqa: E402
from tests.judge_helpers import make_study  # noqa: E402
from tests.tiny_lm import build_tiny_gpt2  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("tiny-judge"), n_positions=128)


def test_hf_judge_runs_end_to_end_batched_and_cached(
    engine, session: Session, tiny_model, monkeypatch
):
    from sidebyside.judge.providers import hf

    batches: list[int] = []
    original = hf.HFJudge.generate

    def spy(self, requests):
        batches.append(len(requests))
        return original(self, requests)

    monkeypatch.setattr(hf.HFJudge, "generate", spy)
    study = make_study(session, n_prompts=4)
    spec = f"hf:{tiny_model}"
    config = JudgeRunConfig(judges=[spec], concurrency=4, max_tokens=16)
    summary = run_judges(engine, study.name, config)
    session.expire_all()
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert len(rows) == 8
    assert {r.status for r in rows} <= {"ok", "unparsed"}  # random weights: mostly unparsed
    assert all(r.cost_usd == 0.0 and r.input_tokens and r.output_tokens is not None for r in rows)
    assert all(r.output_tokens <= 16 for r in rows)
    assert sum(batches) == 8 and max(batches) > 1  # concurrent calls were batched
    s = summary.judges[0]
    assert s.sent == 8 and s.judgments == 8
    # Greedy decoding is deterministic and the answers are cached: a rerun generates nothing.
    batches.clear()
    summary = run_judges(engine, study.name, config)
    assert batches == [] and summary.judges[0].cached == 8


def test_model_is_loaded_once_per_process(tiny_model):
    spec = parse_spec(f"hf:{tiny_model}")
    first, second = load_judge(spec), load_judge(spec, batch_size=2)
    assert first.model is second.model and first.tokenizer is second.tokenizer
    assert first.model.dtype.is_floating_point


async def test_generation_is_greedy_and_deterministic(tiny_model):
    judge = load_judge(parse_spec(f"hf:{tiny_model}"), max_new_tokens=8)
    request = JudgeRequest(
        messages=({"role": "system", "content": "Judge."}, {"role": "user", "content": "A or B?"}),
        max_tokens=8,
    )
    one = await judge.complete(request)
    two = judge.generate([request, request])
    assert one.text == two[0].text == two[1].text
    assert one.output_tokens <= 8


async def test_bfloat16_path_runs_on_cpu(tiny_model):
    """On a GPU the judge loads bf16; CI has none, so the same dtype runs on the CPU here:
    left-padded batches, the attention mask and greedy decoding all work in bf16."""
    import torch

    judge = load_judge(
        parse_spec(f"hf:{tiny_model}"), device="cpu", dtype="bfloat16", max_new_tokens=6
    )
    assert judge.model.dtype == torch.bfloat16
    full = load_judge(parse_spec(f"hf:{tiny_model}"), device="cpu")
    assert full.model.dtype == torch.float32 and full.model is not judge.model
    requests = [
        JudgeRequest(messages=({"role": "user", "content": text},), max_tokens=6)
        for text in ("Which is better, A or B?", "A?")  # different lengths: padding is used
    ]
    mixed = judge.generate(requests)
    assert len(mixed) == 2 and all(isinstance(c.text, str) for c in mixed)
    assert all(0 <= c.output_tokens <= 6 and c.input_tokens for c in mixed)
    # Equal inputs give equal answers (no padding, so no rounding differences in bf16).
    one = await judge.complete(requests[1])
    assert [c.text for c in judge.generate([requests[1], requests[1]])] == [one.text] * 2
    with pytest.raises(InputError, match="unknown dtype 'int8'"):
        load_judge(parse_spec(f"hf:{tiny_model}"), device="cpu", dtype="int8")


def test_chat_template_is_used_when_the_tokenizer_has_one(tiny_model):
    from sidebyside.judge.providers.hf import _prompt_text, load_model

    _, tokenizer = load_model(str(tiny_model))
    messages = ({"role": "system", "content": "S"}, {"role": "user", "content": "U"})
    assert _prompt_text(tokenizer, messages).endswith("Answer:\n")
    tokenizer.chat_template = (
        "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}{% endfor %}"
        "{% if add_generation_prompt %}<assistant>{% endif %}"
    )
    try:
        assert _prompt_text(tokenizer, messages) == "<system>S<user>U<assistant>"
    finally:
        tokenizer.chat_template = None


def test_missing_model_directory_is_one_clear_line(tmp_path):
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_judge(parse_spec(f"hf:{tmp_path / 'nope'}"))
