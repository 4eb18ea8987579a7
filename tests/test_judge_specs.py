"""Judge spec strings."""

from __future__ import annotations

import pytest

from sidebyside.foundation.errors import SpecError
from sidebyside.judge.specs import JudgeSpec, parse_spec, parse_specs


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openai:gpt-4o-mini", JudgeSpec("openai", "gpt-4o-mini")),
        ("  OpenAI:gpt-4o ", JudgeSpec("openai", "gpt-4o")),
        (
            "openai:llama3@http://localhost:11434/v1/",
            JudgeSpec("openai", "llama3", "http://localhost:11434/v1"),
        ),
        (
            "anthropic:claude-3-5-haiku-20241022",
            JudgeSpec("anthropic", "claude-3-5-haiku-20241022"),
        ),
        (
            "anthropic:claude@https://proxy.example/anthropic",
            JudgeSpec("anthropic", "claude", "https://proxy.example/anthropic"),
        ),
        ("hf:/models/judge-7b", JudgeSpec("hf", "/models/judge-7b")),
        ("hf:org/name", JudgeSpec("hf", "org/name")),
        ("baseline:Longest", JudgeSpec("baseline", "longest")),
        ("openai:claude@vertex", JudgeSpec("openai", "claude@vertex")),  # @ without a URL
    ],
)
def test_parse_spec(text, expected):
    assert parse_spec(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("gpt-4o", "must look like PROVIDER:MODEL"),
        ("openai:", "must look like PROVIDER:MODEL"),
        ("mistral:large", "unknown provider 'mistral'"),
        ("baseline:median", "unknown baseline 'median'"),
        ("hf:model@http://x", "only openai: and anthropic: judges take @URL"),
        ("openai:@http://x", "model name is empty"),
        ("openai:gpt-4o#strict", "give the plain spec and the template with --template"),
    ],
)
def test_bad_specs_say_what_is_wrong(text, message):
    with pytest.raises(SpecError, match=message):
        parse_spec(text)


def test_names_round_trip():
    for text in ("openai:m@http://h:1/v1", "baseline:random", "hf:/a/b"):
        assert parse_spec(parse_spec(text).name) == parse_spec(text)


def test_base_url_applies_to_openai_specs_without_their_own():
    specs = parse_specs(
        ["openai:a", "openai:b@http://other/v1", "anthropic:c"], base_url="http://vllm:8000/v1"
    )
    assert [s.base_url for s in specs] == ["http://vllm:8000/v1", "http://other/v1", None]


def test_parse_specs_rejects_duplicates_ensemble_and_useless_base_url():
    with pytest.raises(SpecError, match="judge given twice: openai:a"):
        parse_specs(["openai:a", " openai:a"])
    with pytest.raises(SpecError, match="'ensemble' is computed"):
        parse_specs(["ensemble"])
    with pytest.raises(SpecError, match="--base-url applies to openai"):
        parse_specs(["baseline:longest"], base_url="http://x")
    with pytest.raises(SpecError, match="at least one judge"):
        parse_specs([])
