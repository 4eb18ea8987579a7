"""The core commands: init, study, import, annotators."""

from __future__ import annotations

import json

from sqlmodel import Session, func, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.db import get_engine
from sidebyside.foundation.models import Pair, User

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


def test_init_demo_creates_study_and_logins_once(db_url):
    first = invoke("init", "--demo")
    assert first.exit_code == 0, first.output
    assert "demo study 'demo'" in first.output and "annotator1" in first.output
    second = invoke("init", "--demo")
    assert second.exit_code == 0 and "demo study" not in second.output
    with Session(get_engine(db_url)) as s:
        # The demo's 30 pairs, and the same 30 again in the separate sample study.
        assert s.exec(select(func.count()).select_from(Pair)).one() == 60
        roles = {u.username: u.role for u in s.exec(select(User)) if u.password_hash}
    assert roles == {
        "admin": "admin",
        "annotator1": "annotator",
        "annotator2": "annotator",
        "annotator3": "annotator",
    }


def test_study_create_import_and_errors(db_url, tmp_path):
    assert invoke("study", "create", "exp", "--k", "2").exit_code == 0
    good = tmp_path / "o.jsonl"
    good.write_text(
        "\n".join(
            json.dumps({"prompt_id": i, "prompt": f"Q{i}", "system": s, "output": f"{s}{i}"})
            for i in range(3)
            for s in ("base", "ft")
        )
    )
    res = invoke("import", "exp", str(good))
    assert res.exit_code == 0 and "3 pairs added" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt_id,prompt,system\n1,Q,s\n")
    res = invoke("import", "exp", str(bad))
    assert res.exit_code == 2
    assert "bad.csv, line 1: missing column(s) output" in res.stderr
    res = invoke("import", "nope", str(good))
    assert res.exit_code == 2 and "no study 'nope'" in res.stderr
    listing = invoke("study", "list")
    assert "exp" in listing.output and "pairs      3" in listing.output


def test_annotators_add_list_invite(db_url):
    added = invoke("annotators", "add", "boss", "--admin", "--password", "pass1234-xyz")
    assert added.exit_code == 0
    res = invoke("annotators", "add", "boss", "--password", "pass1234-xyz")
    assert res.exit_code == 2 and "already exists" in res.stderr
    listing = invoke("annotators", "list").output
    assert "boss" in listing and "admin" in listing and "pass1234-xyz" not in listing
    assert invoke("annotators", "add", "ann", "--password", "pass1234-xyz").exit_code == 0
    assert invoke("annotators", "role", "ann", "admin").exit_code == 0
    res = invoke("annotators", "role", "ghost", "admin")
    assert res.exit_code == 2 and "no user 'ghost'" in res.stderr
    token = invoke("annotators", "invite").output.strip()
    assert len(token) >= 30


def test_every_command_has_help(db_url):
    for args in (
        ["--help"],
        ["init", "--help"],
        ["study", "create", "--help"],
        ["import", "--help"],
        ["annotators", "add", "--help"],
    ):
        res = invoke(*args)
        assert res.exit_code == 0 and "Usage" in res.output
