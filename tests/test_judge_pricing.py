"""Price table: defaults, overrides, unknown models."""

from __future__ import annotations

import json

import pytest

from sidebyside.foundation.errors import InputError
from sidebyside.judge.pricing import PRICES_ENV, Prices, estimate_tokens


def test_default_table_knows_common_judges():
    prices = Prices.load()
    assert prices.cost("openai", "gpt-4o-mini", None, 1_000_000, 0) == pytest.approx(0.15)
    assert prices.cost("openai", "gpt-4o-2024-08-06", None, 0, 1_000_000) == pytest.approx(10.0)
    assert prices.lookup("anthropic", "claude-3-5-haiku-20241022", None) is not None


def test_unknown_model_costs_unknown_not_zero():
    prices = Prices.load()
    assert prices.cost("openai", "my-finetune", "http://localhost:8000/v1", 100, 100) is None
    assert prices.cost("openai", "gpt-4o-mini", None, None, 10) is None  # no usage reported


def test_local_and_baseline_judges_are_free():
    prices = Prices.load()
    assert prices.cost("baseline", "longest", None, None, None) == 0.0
    assert prices.cost("hf", "/models/x", None, 1000, 1000) == 0.0


def test_override_by_environment_and_argument(tmp_path, monkeypatch):
    env_file = tmp_path / "env.json"
    env_file.write_text(
        json.dumps(
            {
                "openai:gpt-4o-mini": {"input": 1, "output": 2},
                "openai:llama@http://vllm/v1": {"input": 0, "output": 0},
            }
        )
    )
    arg_file = tmp_path / "arg.json"
    arg_file.write_text(json.dumps({"openai:gpt-4o-mini": {"input": 3, "output": 4}}))
    monkeypatch.setenv(PRICES_ENV, str(env_file))
    prices = Prices.load()
    assert prices.cost("openai", "gpt-4o-mini", None, 10**6, 10**6) == pytest.approx(3.0)
    assert prices.cost("openai", "llama", "http://vllm/v1", 10, 10) == 0.0
    assert prices.cost("openai", "llama", "http://other/v1", 10, 10) is None
    assert Prices.load(arg_file).cost("openai", "gpt-4o-mini", None, 10**6, 0) == pytest.approx(3)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read price table"),
        ("[1, 2]", "must be a JSON object"),
        ('{"openai:x": {"input": 1}}', "entry 'openai:x' must be"),
        ('{"openai:x": {"input": "cheap", "output": 1}}', "entry 'openai:x' must be"),
    ],
)
def test_bad_price_file_names_the_file(tmp_path, content, message):
    path = tmp_path / "p.json"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        Prices.load(path)
    assert str(path) in str(info.value)


def test_token_estimate_errs_high():
    text = "The quick brown fox jumps over the lazy dog. " * 20
    assert estimate_tokens(text) >= len(text.split()) * 1.2
