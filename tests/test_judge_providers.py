"""Provider registry, fail-fast errors, SDK settings, baselines, error classification."""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
from sqlmodel import Session, select

from sidebyside.foundation.errors import ConfigError, NotFound, ProviderError, SpecError
from sidebyside.foundation.models import JudgeVerdict, Judgment
from sidebyside.judge.pricing import Prices
from sidebyside.judge.providers import load_judge, provider_class, registry, resolve_base_url
from sidebyside.judge.providers.base import JudgeRequest, http_error, retry_after_seconds
from sidebyside.judge.providers.registry import ProviderInfo
from sidebyside.judge.service import JudgeRunConfig, run_judges
from sidebyside.judge.specs import parse_spec
from tests.judge_helpers import SCRIPTED, make_study


def test_importing_the_judge_package_loads_no_sdk_and_no_torch():
    code = (
        "import sys, sidebyside.judge.service, sidebyside.cli.judge_cmds, sidebyside.judge.runner\n"
        "from sidebyside.judge.specs import parse_spec\n"
        "from sidebyside.judge.providers import registry, resolve_base_url\n"
        "resolve_base_url(parse_spec('anthropic:claude'))  # reads every declaration\n"
        "assert len(registry.names()) == 6\n"
        "heavy = ('openai', 'anthropic', 'torch', 'transformers')\n"
        "print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_every_provider_declares_itself_in_its_own_module():
    assert registry.names() == ("openai", "anthropic", "hf", "rm", "rmpair", "baseline")
    for name in registry.names():
        info = registry.get(name)
        module = sys.modules[f"sidebyside.judge.providers.{name}"]
        assert module.INFO is info and info.target.startswith(f"{module.__name__}:")
        cls = provider_class(name)
        assert callable(cls.complete) and callable(cls.aclose)
    assert [n for n in registry.names() if registry.get(n).is_api] == ["openai", "anthropic"]
    assert registry.get("anthropic").base_url_env == "ANTHROPIC_BASE_URL"
    batched = {n: registry.get(n).batch_client for n in registry.names()}
    for name, target in batched.items():  # a batch client lives beside its provider
        if target:
            module, _, attr = target.partition(":")
            assert module.startswith(f"sidebyside.judge.providers.{name}")
            assert getattr(importlib.import_module(module), attr).provider == name
    assert [n for n, t in batched.items() if t] == ["openai", "anthropic"]
    assert [n for n in registry.names() if registry.get(n).baseline] == ["baseline"]


def test_unknown_provider_is_not_found():
    with pytest.raises(NotFound, match="provider 'mistral'; known: openai, anthropic"):
        provider_class("mistral")


@pytest.fixture
def scripted():
    """The fake provider, registered through the real registry for one test."""
    registry.register(SCRIPTED)
    yield SCRIPTED
    registry.unregister(SCRIPTED.name)


def test_a_provider_is_one_declaration(engine, session: Session, scripted):
    """Registered once, the fake is parsed, priced, built and run like any provider."""
    study = make_study(session, n_prompts=3)
    spec = parse_spec("Scripted:Longest")
    assert (spec.provider, spec.model, spec.is_api) == ("scripted", "longest", False)
    assert "scripted" in registry.names()
    assert Prices.load().cost("scripted", "longest", None, 10, 5) == 0.0  # not an API: free
    with pytest.raises(SpecError, match="only openai: and anthropic: judges take @URL"):
        parse_spec("scripted:longest@http://127.0.0.1:9")
    with pytest.raises(SpecError, match="unknown scripted 'median'"):
        parse_spec("scripted:median")

    summary = run_judges(
        engine, study.name, JudgeRunConfig(judges=["scripted:longest", "scripted:always-a"])
    )
    rows = session.exec(select(Judgment).where(Judgment.judge == "scripted:longest")).all()
    assert len(rows) == 6 and {(r.status, r.winner, r.cost_usd) for r in rows} == {("ok", "b", 0.0)}
    verdicts = session.exec(select(JudgeVerdict)).all()
    by_judge = {j: {v.winner for v in verdicts if v.judge == j} for j in ("scripted:longest",)}
    assert by_judge == {"scripted:longest": {"b"}}
    # Always "A" flips with the order: every pair is an inconsistent tie.
    always_a = [v for v in verdicts if v.judge == "scripted:always-a"]
    assert len(always_a) == 3 and all(v.inconsistent and v.winner == "tie" for v in always_a)
    assert {j.judge for j in summary.judges} == {
        "scripted:longest",
        "scripted:always-a",
        "ensemble",
    }
    assert summary.cost == 0.0

    registry.unregister("scripted")
    with pytest.raises(SpecError, match="unknown provider 'scripted'"):
        parse_spec("scripted:longest")


def test_scripted_failures_and_unparsed_answers_are_stored(engine, session: Session, scripted):
    study = make_study(session, n_prompts=2)
    summary = run_judges(
        engine, study.name, JudgeRunConfig(judges=["scripted:garbage", "scripted:broken"])
    )
    stats = {j.judge: (j.unparsed, j.errors, j.n_verdicts) for j in summary.judges}
    assert stats["scripted:garbage"] == (4, 0, 0) and stats["scripted:broken"] == (0, 4, 0)


def test_a_taken_provider_name_is_refused(scripted):
    with pytest.raises(ValueError, match="already registered"):
        registry.register(ProviderInfo(name="scripted", target="x:Y"))
    registry.register(SCRIPTED)  # the same declaration again is harmless
    with pytest.raises(ValueError, match="lower-case"):
        ProviderInfo(name="Bad:name", target="x:Y")


@pytest.mark.parametrize(
    ("provider", "module", "extra"),
    [("openai", "openai", "api"), ("anthropic", "anthropic", "api"), ("hf", "torch", "local")],
)
def test_missing_sdk_names_the_pip_extra(monkeypatch, provider, module, extra):
    monkeypatch.setitem(sys.modules, module, None)  # import fails as if not installed
    monkeypatch.delitem(sys.modules, f"sidebyside.judge.providers.{provider}", raising=False)
    with pytest.raises(ConfigError) as info:
        provider_class(provider)
    message = str(info.value)
    assert f"pip install 'sidebyside[{extra}]'" in message and "\n" not in message


@pytest.mark.parametrize(
    ("spec", "env"),
    [("openai:gpt-4o-mini", "OPENAI_API_KEY"), ("anthropic:claude-3-5-haiku", "ANTHROPIC_API_KEY")],
)
def test_missing_key_names_the_variable(monkeypatch, spec, env):
    for var in ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "OPENAI_BASE_URL", "ANTHROPIC_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=f"set {env}"):
        load_judge(parse_spec(spec))


def test_local_servers_need_no_key_and_env_base_urls_are_honoured(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1/")
    spec = parse_spec("openai:llama3")
    assert resolve_base_url(spec) == "http://127.0.0.1:9/v1"
    judge = load_judge(spec)
    assert judge.base_url == "http://127.0.0.1:9/v1"
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert resolve_base_url(spec) == "https://api.openai.com/v1"
    assert resolve_base_url(parse_spec("baseline:longest")) is None


def test_sdk_clients_never_retry_themselves(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-test")
    for spec in ("openai:gpt-4o-mini", "anthropic:claude-3-5-haiku"):
        judge = load_judge(parse_spec(spec), timeout=7)
        assert judge.client.max_retries == 0
        assert judge.client.timeout == 7


def test_openai_request_parameters(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    request = JudgeRequest(messages=({"role": "user", "content": "x"},), max_tokens=100)
    official = load_judge(parse_spec("openai:gpt-4o-mini")).request_kwargs(request)
    assert official["max_completion_tokens"] == 100 and official["temperature"] == 0.0
    assert official["response_format"] == {"type": "json_object"}
    reasoning = load_judge(parse_spec("openai:o3-mini")).request_kwargs(request)
    assert "temperature" not in reasoning  # reasoning models take only the default
    local = load_judge(parse_spec("openai:llama@http://127.0.0.1:9/v1")).request_kwargs(request)
    assert local["max_tokens"] == 100 and "max_completion_tokens" not in local


def _pair(a: str, b: str, key: str = "k") -> JudgeRequest:
    return JudgeRequest(messages=(), responses=(a, b), key=key)


async def test_baselines():
    longest = load_judge(parse_spec("baseline:longest"))
    shortest = load_judge(parse_spec("baseline:shortest"))
    rand = load_judge(parse_spec("baseline:random"))

    async def winner(judge, request):
        return json.loads((await judge.complete(request)).text)["winner"]

    assert await winner(longest, _pair("short", "much longer")) == "B"
    assert await winner(longest, _pair("much longer", "short")) == "A"
    assert await winner(longest, _pair("  same ", "same")) == "tie"  # whitespace ignored
    assert await winner(shortest, _pair("short", "much longer")) == "A"
    flips = [await winner(rand, _pair("x", "y", key=str(i))) for i in range(200)]
    assert set(flips) == {"A", "B"} and 70 < flips.count("A") < 130
    assert flips == [await winner(rand, _pair("x", "y", key=str(i))) for i in range(200)]
    with pytest.raises(ProviderError, match="pairwise"):
        await longest.complete(JudgeRequest(messages=(), mode="single", responses=("x",)))


def test_retry_after_http_date():
    header = {"Retry-After": "Wed, 21 Oct 2015 07:28:10 GMT"}
    import email.utils

    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:00 GMT").timestamp()
    assert retry_after_seconds(header, now=now) == 10
    assert retry_after_seconds({"Retry-After": "soon"}) is None
    assert retry_after_seconds({"retry-after": "-3"}) == 0


@pytest.mark.parametrize(
    ("status", "retryable", "fatal"),
    [
        (429, True, False),
        (500, True, False),
        (503, True, False),
        (529, True, False),
        (408, True, False),
        (400, False, False),
        (401, False, True),
        (404, False, True),
    ],
)
def test_http_error_classification(status, retryable, fatal):
    error = http_error(status, "boom", {"retry-after": "1"})
    assert (error.retryable, error.fatal, error.status) == (retryable, fatal, status)
    if retryable:
        assert error.retry_after == 1
