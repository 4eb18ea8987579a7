"""Exports: unblinded ratings, judgments, verdicts and DPO pairs in every format."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from analysis_helpers import build_study, pair_of, rate, verdict

from annotate.export import export_frame, write_export


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
    with pytest.raises(LookupError, match="judges: openai:gpt"):
        export_frame(session, b.study, "verdicts", "judge:nope")
    with pytest.raises(ValueError, match="human or 'judge:SPEC'|'human' or 'judge:SPEC'"):
        export_frame(session, b.study, "verdicts", "robots")
    with pytest.raises(ValueError, match="unknown export"):
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
    with pytest.raises(ValueError, match="unknown format"):
        write_export(pd.DataFrame(), "xlsx")
