"""The JSON report against its committed schema (docs/report.schema.json), and the schema
against the models it is generated from."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from sidebyside.analysis.report import render, report_for_study
from sidebyside.analysis.report_models import StudyReport, report_schema, schema_text
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study
from tests.analysis_helpers import build_study, pair_of, rate, single_scores, verdict

jsonschema = pytest.importorskip("jsonschema")

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "docs" / "report.schema.json"


@pytest.fixture(scope="module")
def validator():
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def check(validator, report: StudyReport) -> dict:
    """The report's JSON text is valid against the schema and reads back to the same model."""
    data = json.loads(render(report, "json"))
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert not errors, errors[:5]
    assert StudyReport.model_validate(data) == report
    return data


def test_committed_schema_is_current():
    assert SCHEMA_PATH.read_text(encoding="utf-8") == schema_text(), (
        "docs/report.schema.json is stale: run "
        "`python -m sidebyside.analysis.report_models > docs/report.schema.json`"
    )
    assert json.loads(schema_text()) == report_schema()


def test_synthetic_report_matches_the_schema(engine, validator):
    spec = SyntheticSpec(
        strengths=[0.0, 0.5, 1.0],
        n_prompts=30,
        n_annotators=5,
        per_pair=3,
        careless=0.9,
        n_categories=3,
        judges={"judge:fair": 0.0, "judge:biased": 0.5},
    )
    sid = build_synthetic_study(engine, spec)
    report = report_for_study(engine, sid, n_boot=50)
    data = check(validator, report)
    # every section is filled in, so the check covered the non-null branches too
    human = data["human"]
    assert human["by_category"] and human["bradley_terry"] and human["annotators"]
    assert data["judge_comparison"]["pairwise"] and data["headline"]
    alphas = human["agreement"]["krippendorff_alpha"]
    assert set(alphas) == {"preference", *data["study"]["criteria"]}


def test_sparse_reports_match_the_schema(session, validator):
    """No humans at all; then a single-mode judge with scores (score correlations)."""
    b = build_study(session, name="sparse", systems=("base", "tuned"), n_prompts=4)
    for i in range(4):
        pid, _ = pair_of(b, i, "base", "tuned")
        verdict(session, b, "file", pid, "b", None, mode="imported")
    check(validator, report_for_study(session, b.study, n_boot=0))

    b = build_study(session, name="scored", systems=("base", "tuned"), n_prompts=6)
    for i in range(6):
        pid, _ = pair_of(b, i, "base", "tuned")
        for ann in ("u1", "u2"):
            scores = {"Accuracy": {"a": 1 + i % 5, "b": 1 + (i + len(ann)) % 5}}
            rate(session, b, ann, pid, "b" if i % 2 else "a", scores=scores)
        single_scores(session, b, "openai:x", pid, "a", {"Accuracy": 1 + i % 5}, 1 + i)
        single_scores(session, b, "openai:x", pid, "b", {"Accuracy": 5 - i % 5}, 9 - i)
        verdict(session, b, "openai:x", pid, "b", None, mode="single")
    data = check(validator, report_for_study(session, b.study, n_boot=20))
    assert data["judges"]["openai:x"]["calibration"]["score_correlation"]
    assert data["human"]["agreement"]["krippendorff_alpha"]["Fluency"] is None


def test_the_schema_rejects_unknown_and_missing_keys(engine, validator):
    sid = build_synthetic_study(engine, SyntheticSpec(n_prompts=4, judges={"judge:a": 0.0}))
    good = json.loads(render(report_for_study(engine, sid, n_boot=0), "json"))
    assert validator.is_valid(good)
    extra = copy.deepcopy(good)
    extra["human"]["surprise"] = 1
    assert not validator.is_valid(extra)
    missing = copy.deepcopy(good)
    del missing["settings"]["seed"]
    assert not validator.is_valid(missing)
    wrong = copy.deepcopy(good)
    wrong["judges"]["judge:a"]["calibration"]["n"] = "many"
    assert not validator.is_valid(wrong)
