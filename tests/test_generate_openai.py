"""``sidebyside generate`` against OpenAI-compatible servers (a loopback server speaking the
wire format, so the SDK path runs for real), and the vLLM engine's guard and mapping."""

from __future__ import annotations

import json
import re
import socket
from pathlib import Path

import pytest

pytest.importorskip("openai")

from sqlmodel import Session, func, select  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from sidebyside.cli.main import app  # noqa: E402
from sidebyside.foundation.db import get_engine  # noqa: E402
from sidebyside.foundation.models import Generation, GenerationSource, Output  # noqa: E402
from tests.judge_server import LoopbackServer, server_error  # noqa: E402

runner = CliRunner()


def echo(model: str):
    """A scripted model: answers with its name and the user's prompt."""

    def answer(messages, body=None) -> str:
        return f"{model} says: {messages[-1]['content']}"

    return answer


def write_prompts(path: Path, n: int = 6) -> Path:
    rows = [{"prompt_id": f"p{i}", "prompt": f"Question {i}?"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def count(db_url: str, table) -> int:
    with Session(get_engine(db_url)) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def test_two_servers_concurrently_then_a_free_rerun(db_url, tmp_path):
    prompts = write_prompts(tmp_path / "eval.jsonl", 12)
    with (
        LoopbackServer(judge=echo("A"), latency=0.05) as a,
        LoopbackServer(judge=echo("B"), latency=0.05) as b,
    ):
        args = [
            "generate", "exp", "--prompts", str(prompts), "--concurrency", "4",
            "--model", f"base=openai:llama-base@{a.openai_url}",
            "--model", f"tuned=openai:llama-tuned@{b.openai_url}",
            "--max-new-tokens", "32", "--stop", "##",
        ]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert a.count == b.count == 12
        assert a.max_in_flight > 1  # requests really ran concurrently
        body = a.requests[0]["body"]
        assert body["model"] == "llama-base" and body["max_tokens"] == 32
        assert body["temperature"] == 0 and body["stop"] == ["##"] and body["seed"] == 0
        assert body["messages"][-1]["role"] == "user"
        with Session(get_engine(db_url)) as s:
            texts = set(s.exec(select(Output.text)).all())
            src = {r.system: r for r in s.exec(select(GenerationSource))}
            gens = s.exec(select(Generation)).all()
        assert "A says: Question 3?" in texts and "B says: Question 3?" in texts
        assert src["base"].model_hash == "llama-base"  # the id the server reported
        assert src["base"].source == f"openai:llama-base@{a.openai_url}"
        assert all(g.tokens_in and g.latency_s for g in gens)
        again = runner.invoke(app, args)
        assert again.exit_code == 0 and "base: 0 generated, 12 already stored" in again.output
        assert a.count == b.count == 12  # nothing re-sent


def test_server_errors_for_some_prompts_keep_the_rest(db_url, tmp_path):
    prompts = write_prompts(tmp_path / "eval.jsonl", 4)
    with LoopbackServer(judge=echo("A")) as server:
        # One prompt's request and both SDK retries fail; the others answer.
        server.faults.extend([server_error(), server_error(), server_error()])
        args = [
            "generate", "exp", "--prompts", str(prompts), "--concurrency", "1",
            "--model", f"m=openai:x@{server.openai_url}",
        ]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 1
        assert re.search(
            r"model 'm', prompt 'p\d': openai:x@\S+: the server answered HTTP 500", res.stderr
        )
        assert "run the same command again" in res.stderr
        assert count(db_url, Generation) == 3 and count(db_url, Output) == 3
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "m: 1 generated, 3 already stored" in res.output
        assert count(db_url, Output) == 4


def test_unreachable_server_is_named(db_url, tmp_path):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    prompts = write_prompts(tmp_path / "eval.jsonl", 3)
    url = f"http://127.0.0.1:{port}/v1"
    res = runner.invoke(
        app, ["generate", "exp", "--prompts", str(prompts), "--model", f"m=openai:x@{url}"]
    )
    assert res.exit_code == 1
    assert f"cannot reach the server at {url}" in res.stderr and "model 'm'" in res.stderr
    assert count(db_url, Generation) == 0


def test_dry_run_prices_a_priced_api(db_url, tmp_path):
    prompts = write_prompts(tmp_path / "eval.jsonl", 10)
    res = runner.invoke(
        app,
        [
            "generate", "exp", "--prompts", str(prompts), "--dry-run", "--max-new-tokens", "100",
            "--model", "m=openai:gpt-4o-mini@https://api.openai.com/v1",
        ],
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    assert "m: 10 to generate" in res.output and "at most 1000 tokens out" in res.output
    assert "at most $" in res.output
    assert count(db_url, Generation) == 0


def test_vllm_engine_without_vllm_says_which_extra(db_url, tmp_path):
    pytest.importorskip("torch")
    try:
        import vllm  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("vLLM is installed here")
    prompts = write_prompts(tmp_path / "eval.jsonl", 2)
    res = runner.invoke(
        app,
        [
            "generate", "exp", "--prompts", str(prompts), "--engine", "vllm",
            "--model", f"m={tmp_path}",
        ],
    )  # fmt: skip
    assert res.exit_code == 2
    assert "--engine vllm needs vLLM" in res.stderr and "sidebyside[gpu]" in res.stderr
