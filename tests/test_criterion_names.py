"""Criterion names: any valid name goes end to end, even one spelled like a fixed column of the
verdict frame (``system``, ``len``, ``preference``, ``annotator``, ``score_a``) or a style
feature merged onto it (``length``); a name that cannot work is refused where the rubric is
made, with a message naming it."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from pydantic import ValidationError
from sqlalchemy.engine import Engine

from sidebyside.analysis import columns as col
from sidebyside.analysis.report import render, report_for_study
from sidebyside.analysis.report_models import StudyReport
from sidebyside.analysis.verdicts import load_verdicts
from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.export import export_frame, write_export
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.rating_import import import_ratings
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.rubric import Criterion, Rubric
from sidebyside.judge.service import JudgeRunConfig, run_judges
from tests.conftest import make_long_csv

CRITERIA = ["system", "len", "preference", "annotator", "score_a", "length"]
#: The score every annotator gives canonical side a on each criterion (side b: 6 - it), so
#: a score landing in the wrong column shows.
SCORE_A = {"system": 1, "len": 2, "preference": 3, "annotator": 4, "score_a": 5, "length": 2}
SYSTEMS = ("base", "tuned", "big")
USERS = ("ann0", "ann1", "ann2")


def _make_study(engine: Engine, name: str):
    rubric = Rubric(criteria=[Criterion(name=c) for c in CRITERIA])
    with unit_of_work(engine) as s:
        study = create_study(s, name=name, rubric=rubric, k=3, seed=1)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(4, SYSTEMS))])
    return study


@pytest.fixture
def rated(engine: Engine):
    """Every pair of a study with the clashing criteria rated by three annotators (two always
    prefer side a, one prefers b on every other pair), and judged by a baseline judge."""
    study = _make_study(engine, "clash")
    with unit_of_work(engine) as s:
        users = [create_user(s, username=u, password="pass1234-xyz") for u in USERS]
    for i, user in enumerate(users):
        n = 0
        while True:
            with unit_of_work(engine) as s:
                a = next_assignment(s, study=study, user=user)
                if a is None:
                    break
                canonical = "b" if i == 2 and n % 2 else "a"
                shown = {"a": "B" if a.swapped else "A", "b": "A" if a.swapped else "B"}
                scores = {
                    c: {shown["a"]: v, shown["b"]: 6 - v} for c, v in SCORE_A.items()
                }  # shown terms: A = left
                submit_rating(
                    s,
                    assignment_id=a.id,
                    user_id=user.id,
                    preference=shown[canonical],
                    scores=scores,
                )
            n += 1
    run_judges(engine, study.name, JudgeRunConfig(judges=["baseline:longest"], backoff_base=0))
    return study


def test_the_verdict_frame_keeps_fixed_columns_and_scores_apart(engine, rated):
    df = load_verdicts(engine, rated.name)
    human = df[df[col.SOURCE] == "human"]
    assert len(human) == 12 * 3 and len(df) == 12 * 4  # 12 pairs; 3 humans, 1 judge
    assert list(df.columns) == col.verdict_columns(CRITERIA)
    assert set(human[col.SYSTEM_A]) | set(human[col.SYSTEM_B]) == set(SYSTEMS)
    assert set(human[col.PREFERENCE]) == {"a", "b"} and set(human[col.ANNOTATOR]) == set(USERS)
    assert (human[col.LEN_A] > 0).all()  # lengths, not "len" scores
    for c, v in SCORE_A.items():
        assert set(human[col.score_column(c, "a")]) == {v}
        assert set(human[col.score_column(c, "b")]) == {6 - v}
    judge = df[df[col.SOURCE] == "judge"]
    assert set(judge[col.JUDGE]) == {"baseline:longest"}
    assert judge[col.score_column("system", "a")].isna().all()


def test_report_in_every_format(engine, rated):
    report = report_for_study(engine, rated.name, n_boot=20)
    data = json.loads(render(report, "json"))
    assert data["study"]["criteria"] == CRITERIA
    alphas = data["human"]["agreement"]["krippendorff_alpha"]
    # the fixed "preference" key is the overall preference; the criterion of that name is
    # keyed crit:preference (the one change to the JSON, only for that name)
    assert set(alphas) == {"preference", "crit:preference", *(set(CRITERIA) - {"preference"})}
    assert "ordinal" not in alphas["preference"]
    assert set(alphas["crit:preference"]) == {"ordinal", "interval"}
    typed = StudyReport.model_validate(data)
    assert list(typed.human.agreement.krippendorff_alpha.criteria) == CRITERIA
    means = {(r["system"], r["criterion"]): r for r in data["human"]["criteria"]}
    assert {c for _, c in means} == set(CRITERIA)
    for c in CRITERIA:  # each rating scored both sides of its pair on every criterion
        assert sum(r["n"] for (_, name), r in means.items() if name == c) == 2 * 36
    assert set(data["human"]["agreement"]["pairwise_weighted_kappa"]) == set(CRITERIA)
    # three systems: the style-controlled ratings merge style features onto the verdicts
    assert data["human"]["style_control"]["n"] == 36
    md, html = render(report, "md"), render(report, "html")
    for c in CRITERIA:
        assert f"| {c} |" in md or f"| {c} " in md, c
        assert f">{c}<" in html, c


def test_exports_keep_names_readable_and_reimport(engine, rated):
    ratings = export_frame(engine, rated.name, "ratings")
    # <criterion>_a where that is free; crit:<criterion>:a where it is a fixed column
    flat = ["crit:system:a", "crit:len:a", "preference_a", "annotator_a", "score_a_a", "length_a"]
    assert [col.flat_score_column(c, "a") for c in CRITERIA] == flat
    assert set(flat) <= set(ratings.columns) and "len_a" not in ratings.columns
    assert set(ratings["system_a"]) <= set(SYSTEMS)
    assert set(ratings["crit:system:a"]) == {1} and set(ratings["score_a_b"]) == {1}
    verdicts = export_frame(engine, rated.name, "verdicts")
    assert set(flat) <= set(verdicts.columns)
    assert (verdicts["len_a"] > 0).all() and set(verdicts["annotator"]) >= set(USERS)
    for fmt in ("csv", "jsonl", "parquet"):
        data = write_export(verdicts, fmt)
        back = {
            "csv": lambda b: pd.read_csv(io.BytesIO(b)),
            "jsonl": lambda b: pd.read_json(io.BytesIO(b), lines=True),
            "parquet": lambda b: pd.read_parquet(io.BytesIO(b)),
        }[fmt](data)
        assert list(back.columns) == list(verdicts.columns), fmt
    assert len(export_frame(engine, rated.name, "dpo")) == 12  # a clear majority everywhere
    assert len(export_frame(engine, rated.name, "dpo", "judge:baseline:longest")) > 0

    # The ratings file re-imports into a study with the same rubric, scores in place.
    copy = _make_study(engine, "clash-copy")
    with unit_of_work(engine) as s:
        csv = write_export(ratings, "csv")
        assert import_ratings(s, study=copy, name="r.csv", data=csv).ratings_added == 36
    again = load_verdicts(engine, copy.name)
    for c, v in SCORE_A.items():
        assert set(again[col.score_column(c, "a")]) == {v}


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("", "criterion name '' is blank"),
        ("   ", "criterion name '   ' is blank"),
        ("x" * 101, "is 101 characters long; at most 100"),
        (
            "Tone\nand style",
            r"'Tone\\nand style' holds an invisible or control character \(U\+000A\)",
        ),
        ("Beep\x07", r"'Beep\\x07' holds an invisible or control character \(U\+0007\)"),
        ("Line\u2028break", r"holds an invisible or control character \(U\+2028"),
    ],
)
def test_bad_names_are_refused_with_the_name(name, message):
    with pytest.raises(ValidationError, match=message):
        Rubric(criteria=[Criterion(name="Accuracy"), {"name": name}])


def test_good_names_and_duplicates(tmp_path):
    ok = Rubric(criteria=[{"name": n} for n in ["x" * 100, "système", "a:b", "crit:x:a"]])
    assert len(ok.names) == 4
    with pytest.raises(ValidationError, match="duplicate criterion names: accuracy"):
        Rubric(criteria=[{"name": "Accuracy"}, {"name": "ACCURACY "}])
    path = tmp_path / "rubric.json"
    path.write_text(json.dumps({"criteria": [{"name": "ok"}, {"name": "tab\there"}]}))
    message = "not a valid rubric: criteria.1.name: criterion name 'tab\\\\there' holds"
    with pytest.raises(InputError, match=message):
        Rubric.from_file(path)


def test_fixed_columns_are_outside_every_namespace():
    assert not any(":" in c for c in col.FIXED)
    assert len(set(col.verdict_columns(CRITERIA))) == len(col.FIXED) + 2 * len(CRITERIA)


@pytest.mark.parametrize("name", [*CRITERIA, "Accuracy", "a:b", "crit:x", "x_a", "System", "LEN"])
def test_file_column_names_round_trip(name):
    for side in col.SIDES:
        flat = col.flat_score_column(name, side)
        assert flat.lower() not in {c.lower() for c in col.FIXED}
        assert col.parse_score_column(flat, [name, "other"]) == (name, side)
        assert col.parse_score_column(col.score_column(name, side), [name]) == (name, side)


def test_study_create_refuses_a_bad_name_and_takes_a_clashing_one(db_url, tmp_path):
    from typer.testing import CliRunner

    from sidebyside.cli.main import app

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"criteria": [{"name": "ok"}, {"name": "x" * 101}]}))
    res = CliRunner().invoke(app, ["study", "create", "s1", "--rubric", str(bad)])
    assert res.exit_code == 2
    assert "criteria.1.name: criterion name 'xxxx" in res.output
    assert "is 101 characters long" in res.output
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"criteria": [{"name": c} for c in CRITERIA]}))
    res = CliRunner().invoke(app, ["study", "create", "s2", "--rubric", str(good)])
    assert res.exit_code == 0, res.output
