"""import-judgments: verdicts from elsewhere, validated, all or nothing."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from sidebyside.cli.main import app
from sidebyside.foundation.models import JudgeVerdict
from sidebyside.judge.importer import ImportJudgmentsError, import_judgments
from tests.judge_helpers import make_study


@pytest.fixture
def study(session: Session):
    return make_study(session, n_prompts=3, systems=("base", "tuned", "big"))


def _csv(*rows: str, header: str = "prompt_id,system_a,system_b,judge,winner,reasoning") -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _verdicts(session: Session) -> list[JudgeVerdict]:
    session.expire_all()
    return list(session.exec(select(JudgeVerdict).order_by(JudgeVerdict.id)))


def test_csv_import_maps_to_canonical_pairs(session, study):
    data = _csv(
        "p0,base,tuned,gpt4,a,base is right",
        "p0,tuned,base,gpt4-rev,tuned,",  # reversed systems: winner by name
        "p1,big,tuned,gpt4,a,",  # pair stored as (tuned, big): a -> b
        "p2,base,big,gpt4,TIE,",
    )
    summary = import_judgments(session, study=study, name="v.csv", data=data)
    session.commit()
    assert (
        summary.rows == 4 and summary.inserted == 4 and summary.judges == {"gpt4": 3, "gpt4-rev": 1}
    )
    got = {(v.judge, v.pair_id): v for v in _verdicts(session)}
    assert all(v.mode == "imported" for v in got.values())
    winners = sorted((v.judge, v.winner, v.reasoning) for v in got.values())
    assert winners == [
        ("gpt4", "a", "base is right"),
        ("gpt4", "b", ""),
        ("gpt4", "tie", ""),
        ("gpt4-rev", "b", ""),
    ]


def test_reimport_replaces(session, study):
    import_judgments(session, study=study, name="v.csv", data=_csv("p0,base,tuned,j,a,"))
    session.commit()
    summary = import_judgments(session, study=study, name="v.csv", data=_csv("p0,tuned,base,j,a,"))
    session.commit()
    assert (summary.inserted, summary.replaced) == (0, 1)
    assert [v.winner for v in _verdicts(session)] == ["b"]


def test_jsonl_and_json(session, study):
    rows = [
        {
            "prompt_id": "p1",
            "system_a": "base",
            "system_b": "big",
            "judge": "j",
            "winner": "big",
            "reasoning": "longer",
        }
    ]
    jsonl = "\n".join(json.dumps(r) for r in rows).encode() + b"\n\n"
    assert import_judgments(session, study=study, name="v.jsonl", data=jsonl).rows == 1
    rows[0]["judge"] = "k"
    assert (
        import_judgments(session, study=study, name="v.json", data=json.dumps(rows).encode()).rows
        == 1
    )
    session.commit()
    assert [v.winner for v in _verdicts(session)] == ["b", "b"]


def test_every_problem_is_reported_with_file_and_line_and_nothing_is_written(session, study):
    data = _csv(
        "p0,base,tuned,j,a,",
        "p9,base,tuned,j,a,",
        "p0,base,nobody,j,a,",
        "p0,base,tuned,j,maybe,",
        "p0,base,tuned,j,b,",
        "p1,base,tuned,,a,",
        "p1,base,tuned,ensemble,a,",
    )
    with pytest.raises(ImportJudgmentsError) as info:
        import_judgments(session, study=study, name="v.csv", data=data)
    problems = info.value.problems
    assert problems == [
        "v.csv:3: prompt_id 'p9' is not in study 'judged'",
        "v.csv:4: unknown system(s) 'nobody' (study has: base, big, tuned)",
        "v.csv:5: winner 'maybe' must be a, b, tie, 'base' or 'tuned' "
        "(or unparsed, for an answer that could not be read)",
        "v.csv:6: judge 'j' already has a verdict on this pair at line 2",
        "v.csv:7: empty or missing judge",
        "v.csv:8: judge name 'ensemble' is reserved; rename it",
    ]
    assert "6 problem(s), nothing imported" in str(info.value)
    session.rollback()
    assert _verdicts(session) == []


@pytest.mark.parametrize(
    ("name", "data", "problem"),
    [
        (
            "v.csv",
            b"prompt_id,judge\np0,j\n",
            "v.csv:1: missing column(s) system_a, system_b, winner",
        ),
        ("v.jsonl", b'{"prompt_id": "p0"}\n{bad\n', "v.jsonl:2: column 2: malformed JSON"),
        ("v.jsonl", b"[1]\n", "v.jsonl:1: column 1: expected a JSON object, got array"),
        ("v.json", b'{"a": 1}', "v.json:1: column 1: expected a JSON array of objects, got object"),
        ("v.json", b'[{"a": 1},\n 2]', "v.json:2: column 2: expected an object, got number"),
        ("v.xlsx", b"PK", "v.xlsx: unknown file type '.xlsx'"),
        ("v.csv", b"\xff\xfe\x00", "v.csv:1: column 1: bytes b'\\xff' are not valid UTF-8"),
        ("v.csv", b'prompt_id,system_a,system_b,judge,winner\np0,"a,b\n', "v.csv:2: malformed CSV"),
        ("v.csv", b"prompt_id,system_a,system_b,judge,winner\n", "no verdicts in the file"),
    ],
)
def test_unreadable_files(session, study, name, data, problem):
    with pytest.raises(ImportJudgmentsError) as info:
        import_judgments(session, study=study, name=name, data=data)
    assert problem in info.value.problems[0]


def test_multiline_csv_fields_keep_line_numbers(session, study):
    data = _csv('p0,base,tuned,j,a,"two\nlines"', "p0,base,tuned,j,x,")
    with pytest.raises(ImportJudgmentsError) as info:
        import_judgments(session, study=study, name="v.csv", data=data)
    assert info.value.problems[0].startswith("v.csv:4:")


def test_unparsed_is_kept_with_its_raw_text_and_never_a_vote(session, study):
    from sidebyside.foundation.models import Judgment

    data = _csv(
        "p0,base,tuned,j,a,,",
        "p1,base,tuned,j,unparsed,,garbage",
        header="prompt_id,system_a,system_b,judge,winner,reasoning,raw",
    )
    summary = import_judgments(session, study=study, name="v.csv", data=data)
    assert (summary.rows, summary.inserted, summary.unparsed) == (2, 2, 1)
    assert len(_verdicts(session)) == 1
    (row,) = session.exec(select(Judgment)).all()
    assert (row.status, row.raw, row.mode) == ("unparsed", "garbage", "imported")
    # re-importing a readable verdict for that pair replaces the unparsed answer
    import_judgments(session, study=study, name="v.csv", data=_csv("p1,base,tuned,j,b,"))
    assert session.exec(select(Judgment)).all() == []
    assert len(_verdicts(session)) == 2


def test_continuous_preference_follows_alpaca_eval(session, study):
    data = _csv(
        "p0,base,tuned,j,,1.8",
        "p1,tuned,base,j,,1.25",  # stored the other way round: 3 - 1.25
        "p2,base,tuned,j,,1.5",
        header="prompt_id,system_a,system_b,judge,winner,preference",
    )
    import_judgments(session, study=study, name="v.csv", data=data)
    got = sorted((v.winner, v.preference) for v in _verdicts(session))
    assert got == [("b", 1.75), ("b", 1.8), ("tie", 1.5)]  # tuned (side b) wins both
    with pytest.raises(ImportJudgmentsError, match=r"v.csv:2: preference 2.5 is outside \[1, 2\]"):
        import_judgments(
            session,
            study=study,
            name="v.csv",
            data=_csv(
                "p0,base,tuned,j,,2.5", header="prompt_id,system_a,system_b,judge,winner,preference"
            ),
        )


def test_a_version_4_database_gains_the_preference_columns(engine, session, study):
    """Version 5 added the continuous preference: an older database migrates in place and
    keeps its verdicts."""
    from sqlalchemy import inspect, text

    from sidebyside.foundation.db import init_db, schema_version
    from sidebyside.foundation.migrations.legacy import LEGACY_STEPS, SCHEMA_VERSION

    import_judgments(session, study=study, name="v.csv", data=_csv("p0,base,tuned,j,a,"))
    session.commit()
    with engine.begin() as conn:  # back to version 4: undo every later column
        for version, step in LEGACY_STEPS.items():
            for table, column in step.columns if version > 4 else []:
                conn.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))
        conn.execute(text("UPDATE meta SET value = '4' WHERE key = 'schema_version'"))
    init_db(engine)
    for table in ("judgment", "judgeverdict"):
        assert "preference" in {c["name"] for c in inspect(engine).get_columns(table)}
    session.expire_all()
    (kept,) = _verdicts(session)
    assert (kept.winner, kept.preference) == ("a", None)
    assert schema_version(session) == SCHEMA_VERSION


REF = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "alpaca_eval"


@pytest.mark.skipif(
    not (REF / "claude-2.1.annotations.json").exists(), reason=f"no AlpacaEval files at {REF}"
)
def test_annotations_of_other_outputs_are_refused(db_url, tmp_path):
    """AlpacaEval annotations whose output texts are not the study's outputs judged other
    answers: the whole file is refused, naming each differing record, and nothing is stored."""
    records = json.loads((REF / "claude-2.1.annotations.json").read_text())[:30]
    original = tmp_path / "claude.annotations.json"
    original.write_text(json.dumps(records))
    runner = CliRunner()
    for args in (["study", "create", "alpaca"], ["import", "alpaca", str(original)]):
        assert runner.invoke(app, args).exit_code == 0
    records[3]["output_2"] += " (edited)"
    records[17]["output_2"] = records[17]["output_2"][:40]
    records[20]["output_1"] = "Another reference answer."
    tampered = tmp_path / "tampered.annotations.json"
    tampered.write_text(json.dumps(records))  # one line: records are told by number
    res = runner.invoke(app, ["import-judgments", "alpaca", str(tampered)])
    assert res.exit_code != 0
    assert "3 problem(s), nothing imported" in res.output
    for number, key, system in ((4, "output_2", "claude-2.1"), (18, "output_2", "claude-2.1"),
                                (21, "output_1", "gpt4_1106_preview")):  # fmt: skip
        assert f"record {number}: {key} of {system!r} on instruction" in res.output
    assert "not the stored output" in res.output
    instruction = records[3]["instruction"][:30]
    assert instruction in res.output
    res = runner.invoke(app, ["import-judgments", "alpaca", str(original)])
    assert res.exit_code == 0 and "imported 30 verdict(s)" in res.output  # none from before
