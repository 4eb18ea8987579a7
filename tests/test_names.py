"""Clean names and rubrics (issue 22): every user-given name is NFC-normalised and refused with
its location when it holds ESC, BEL, RLO, ZWSP or NUL, is blank, or differs from an existing
name only by case; rubric files go through the one reader (BOM, depth, duplicate keys, also in
JSONL); a rubric needs a criterion or says it is preference-only; criteria named ``system``,
``len`` or ``winner`` work end to end."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.cli.main import app as cli
from sidebyside.foundation.errors import FileInputError, InputError
from sidebyside.foundation.models import System
from sidebyside.foundation.names import clean_name
from sidebyside.foundation.readers import jsonl_records
from sidebyside.foundation.rubric import Rubric

BAD = {
    "ESC": "base\x1b[31m",
    "BEL": "base\x07",
    "RLO": "base\u202egnp",
    "ZWSP": "base\u200b",
    "NUL": "base\x00",
}


@pytest.mark.parametrize("kind", list(BAD))
def test_bad_names_are_refused_everywhere_with_their_place(session, kind):
    bad = BAD[kind]
    with pytest.raises(InputError, match="invisible or control character"):
        create_study(session, name=bad)
    study = create_study(session, name=f"s-{kind}")
    rows = "prompt_id,prompt,system,output\np1,Q?,base,x\n" + f'p1,Q?,"{bad}",y\n'
    if kind != "NUL":  # NUL is refused by the reader itself, also with its place
        with pytest.raises(FileInputError, match=r"o\.csv, line 3, column system: system name"):
            import_sources(session, study=study, sources=[("o.csv", rows.encode())])
    with pytest.raises(ValueError, match="invisible or control character|NUL"):
        Rubric.model_validate({"criteria": [{"name": bad}]})
    category = f'prompt_id,prompt,system,output,category\np1,Q?,base,x,"{bad}"\n'
    if kind != "NUL":
        with pytest.raises(FileInputError, match="column category: category"):
            import_sources(session, study=study, sources=[("c.csv", category.encode())])


def test_names_are_nfc_and_case_twins_are_refused(session):
    study = create_study(session, name="Cafe\u0301")
    assert study.name == "Café"
    with pytest.raises(InputError, match="differs from the existing study 'Café' only by case"):
        create_study(session, name="CAFÉ")
    rows = "prompt_id,prompt,system,output\np1,Q?,base,x\np1,Q?,Base,y\n"
    with pytest.raises(FileInputError, match="line 3, column system: system 'Base' differs"):
        import_sources(session, study=study, sources=[("o.csv", rows.encode())])
    create_user(session, username="ann", password=None)
    with pytest.raises(InputError, match="'Ann' differs from the existing user 'ann'"):
        create_user(session, username="Ann", password=None)
    with pytest.raises(InputError, match="blank"):
        clean_name("   ", "study name")


def test_rubric_files_share_the_import_reader(tmp_path):
    bom = tmp_path / "bom.json"
    bom.write_bytes(b"\xef\xbb\xbf" + json.dumps({"criteria": [{"name": "Accuracy"}]}).encode())
    assert Rubric.from_file(bom).names == ["Accuracy"]
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(FileInputError, match="deep.json: malformed JSON: arrays/objects nested"):
        Rubric.from_file(deep)
    twice = tmp_path / "twice.json"
    twice.write_text('{"criteria": [{"name": "A"}],\n "criteria": []}')
    with pytest.raises(FileInputError, match="twice.json: the key 'criteria' appears twice"):
        Rubric.from_file(twice)
    blank = tmp_path / "blank.json"
    blank.write_text('{"criteria": [{"name": "   "}]}')
    with pytest.raises(
        InputError, match=r"blank.json: not a valid rubric: criteria.0.name: .* blank"
    ):
        Rubric.from_file(blank)
    with pytest.raises(ValueError, match='at least one criterion, or "preference_only"'):
        Rubric.model_validate({"criteria": []})
    assert Rubric.model_validate({"criteria": [], "preference_only": True}).names == []


def test_duplicate_keys_are_refused_in_jsonl_with_their_line():
    with pytest.raises(FileInputError, match=r"o.jsonl, line 2: the key 'output' appears twice"):
        jsonl_records("o.jsonl", '{"a": 1}\n{"output": "x", "output": "y"}\n')


@pytest.mark.parametrize("criterion", ["system", "len", "winner"])
def test_a_criterion_named_like_a_column_works_end_to_end(session, db_url, tmp_path, criterion):
    rubric = Rubric.model_validate({"criteria": [{"name": criterion}, {"name": "Other"}]})
    study = create_study(session, name="cols", rubric=rubric, k=1, seed=1)
    rows = "prompt_id,prompt,system,output\n"
    rows += "".join(f"p{i},Q{i}?,base,short\np{i},Q{i}?,tuned,a longer answer\n" for i in range(3))
    import_sources(session, study=study, sources=[("o.csv", rows.encode())])
    user = create_user(session, username="ann", password=None)
    for _ in range(3):
        a = next_assignment(session, study=study, user=user)
        scores = {criterion: {"A": 4, "B": 2}, "Other": {"A": 3, "B": 3}}
        submit_rating(session, assignment_id=a.id, user_id=user.id, preference="A", scores=scores)
    session.commit()
    assert {s.name for s in session.exec(select(System))} == {"base", "tuned"}
    runner = CliRunner()
    report = runner.invoke(cli, ["report", "cols", "--format", "json", "--n-boot", "50"])
    assert report.exit_code == 0, report.output
    assert criterion in report.output
    out = tmp_path / "r.csv"
    export = runner.invoke(cli, ["export", "cols", "--what", "ratings", "--out", str(out)])
    assert export.exit_code == 0, export.output
    assert out.read_text().count("\n") >= 4
