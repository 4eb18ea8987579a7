"""A provider is one declaration: a fake registered through ``registry.register`` with its help,
spec rules and batch client is listed by ``sidebyside judge --help`` and the Judges page,
parsed by the rules it declares and sent through its own batch client, with no other file of
the project touched."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest
from typer.testing import CliRunner

from sidebyside.annotate.auth import create_user
from sidebyside.cli.main import app
from sidebyside.foundation.errors import SpecError
from sidebyside.foundation.models import JudgeBatch, Judgment
from sidebyside.judge.batch import batch_client, supports_batch
from sidebyside.judge.providers import load_judge, registry
from sidebyside.judge.providers.base import Completion, JudgeRequest
from sidebyside.judge.providers.batching import ENDED, BatchItem, BatchState
from sidebyside.judge.providers.registry import ProviderInfo
from sidebyside.judge.service import JudgeRunConfig, run_judges
from sidebyside.judge.specs import parse_spec, parse_specs
from sidebyside.ui.common import USER_KEY
from tests.judge_helpers import ScriptedJudge, make_study
from tests.judge_server import longest_judge

FAKE = ProviderInfo(
    name="fakejudge",
    target="tests.judge_helpers:ScriptedJudge",
    help="an in-memory judge declared by this test",
    forms=("fakejudge:MODEL", "fakejudge:MODEL@URL"),
    example="fakejudge:tiny",
    takes_url=True,
    shared_base_url=True,
    batch_client=f"{__name__}:FakeBatchClient",
    rank=5,
)


class FakeBatchClient:
    """A batch API in memory: every batch has ended by its first poll."""

    provider = "fakejudge"
    max_requests = 3
    max_bytes = 10**6

    def __init__(self, judge: ScriptedJudge):
        self.judge = judge
        self.base_url = judge.base_url
        self.batches: dict[str, list[dict[str, Any]]] = {}

    def line(self, request: JudgeRequest, custom_id: str) -> dict[str, Any]:
        return {"custom_id": custom_id, "messages": list(request.messages)}

    async def submit(self, lines: list[dict[str, Any]]) -> str:
        batch_id = f"fake-{len(self.batches)}"
        self.batches[batch_id] = lines
        return batch_id

    async def poll(self, batch_id: str) -> BatchState:
        return BatchState(ENDED, "done", {"total": len(self.batches[batch_id])})

    async def results(self, batch_id: str) -> list[BatchItem]:
        return [
            BatchItem(line["custom_id"], Completion(longest_judge(line["messages"]), 10, 5))
            for line in self.batches[batch_id]
        ]

    async def cancel(self, batch_id: str) -> None:
        return None


@pytest.fixture
def fake():
    registry.register(FAKE)
    yield FAKE
    registry.unregister(FAKE.name)


def _judge_help() -> str:
    result = CliRunner().invoke(app, ["judge", "--help"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    return re.sub(r"[│\s]+", " ", result.output)  # rich's box and line wraps


def test_the_cli_help_is_read_from_the_registry(fake):
    text = _judge_help()
    assert "fakejudge:MODEL or fakejudge:MODEL@URL: an in-memory judge declared by this test" in (
        text
    )
    assert "baseline:longest|shortest|random" in text  # the real ones stay listed
    assert "Server for fakejudge: and openai: judges given without @URL" in text
    assert "Send fakejudge:, openai: and anthropic: judges through the provider's batch" in text
    registry.unregister(FAKE.name)
    assert "fakejudge" not in _judge_help()


def test_specs_follow_the_declared_rules(fake):
    spec = parse_spec("FakeJudge:tiny@http://127.0.0.1:9/v1/")
    assert (spec.provider, spec.model, spec.base_url) == (
        "fakejudge",
        "tiny",
        "http://127.0.0.1:9/v1",
    )
    shared = parse_specs(["fakejudge:tiny", "baseline:longest"], base_url="http://127.0.0.1:8")
    assert [s.base_url for s in shared] == ["http://127.0.0.1:8", None]
    with pytest.raises(SpecError, match=r"e\.g\. fakejudge:tiny, openai:gpt-4o-mini"):
        parse_spec("fakejudge")
    with pytest.raises(SpecError, match="only fakejudge:, openai: and anthropic: judges take"):
        parse_spec("hf:model@http://127.0.0.1:9")
    assert not spec.is_baseline and parse_spec("baseline:random").is_baseline


def test_batch_mode_uses_the_declared_client(engine, session: Session, fake):
    assert supports_batch("fakejudge") and not supports_batch("hf")
    assert isinstance(batch_client(load_judge(parse_spec("fakejudge:tiny"))), FakeBatchClient)
    study = make_study(session, n_prompts=4)  # 8 calls: split into batches of 3
    config = JudgeRunConfig(judges=["fakejudge:tiny"], batch=True, poll_s=0.01)
    summary = run_judges(engine, study.name, config)
    batches = session.exec(select(JudgeBatch).order_by(JudgeBatch.id)).all()
    assert [(b.provider, b.n_requests, b.ingested) for b in batches] == [
        ("fakejudge", 3, True),
        ("fakejudge", 3, True),
        ("fakejudge", 2, True),
    ]
    rows = session.exec(select(Judgment).where(Judgment.judge == "fakejudge:tiny")).all()
    assert len(rows) == 8 and {(r.status, r.winner) for r in rows} == {("ok", "b")}
    assert summary.judges[0].sent == 8


def test_the_judges_page_lists_the_provider(session: Session, fake):
    admin = create_user(session, username="boss", password="pw-123456-xyz", role="admin")
    make_study(session)  # commits the user too
    page = Path(__file__).resolve().parent.parent / "pages" / "judges.py"
    at = AppTest.from_file(str(page), default_timeout=60)
    at.session_state[USER_KEY] = admin.id
    at.run()
    assert not at.exception, at.exception
    assert not at.error, [e.value for e in at.error]
    assert "- `fakejudge:MODEL` or `fakejudge:MODEL@URL`: an in-memory judge" in (
        at.text_area(key="judge_specs").help
    )
    assert at.text_input(key="judge_base_url").label == (
        "Base URL for fakejudge: and openai: judges (optional)"
    )
