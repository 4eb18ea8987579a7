"""sidebyside report / agreement / import-ratings / export, end to end through the CLI."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from sidebyside.cli.main import app
from tests.analysis_helpers import build_study, pair_of, rate, verdict

runner = CliRunner()


def invoke(*args: str):
    return runner.invoke(app, list(args))


@pytest.fixture
def study(session):
    b = build_study(session, name="exp", systems=("base", "tuned", "big"), n_prompts=5)
    for i in range(5):
        for x, y in (("base", "tuned"), ("base", "big"), ("tuned", "big")):
            pid, _ = pair_of(b, i, x, y)
            for ann, pref in (("u1", "b"), ("u2", "b"), ("u3", "a" if i == 0 else "b")):
                rate(session, b, ann, pid, pref, scores={"Accuracy": {"a": 2, "b": 4}})
            verdict(session, b, "openai:gpt", pid, "b", "b" if i % 2 else "a")
    return b


def test_report_formats(study, tmp_path):
    res = invoke("report", "exp", "--format", "json", "--n-boot", "50")
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["study"]["name"] == "exp"
    assert report["judges"]["openai:gpt"]["calibration"]["position_consistency"] == 0.4
    assert len(report["human"]["bradley_terry"]) == 3
    for fmt in ("md", "html"):
        out = tmp_path / f"r.{fmt}"
        res = invoke("report", "exp", "-f", fmt, "--out", str(out), "--n-boot", "20")
        assert res.exit_code == 0, res.output
        assert "exp" in out.read_text()


def test_report_errors(study):
    res = invoke("report", "nope")
    assert res.exit_code == 2 and "no study 'nope'" in res.stderr and "exp" in res.stderr
    res = invoke("report", "exp", "--format", "pdf")
    assert res.exit_code == 2 and "--format must be one of json, md, html" in res.stderr


def test_agreement_long_and_wide(tmp_path, db_url):
    wide = tmp_path / "wide.csv"
    wide.write_text(
        "item,A,B,C,D\n1,1,1,,1\n2,2,2,3,2\n3,3,3,3,3\n4,3,3,3,3\n5,2,2,2,2\n6,1,2,3,4\n"
        "7,4,4,4,4\n8,1,1,2,1\n9,2,2,2,2\n10,,5,5,5\n11,,,1,1\n12,,3,,\n"
    )
    for level, alpha in (
        ("nominal", 0.743),
        ("ordinal", 0.815),
        ("interval", 0.849),
        ("ratio", 0.797),
    ):
        res = invoke("agreement", str(wide), "--level", level, "--json", "--n-boot", "0")
        assert res.exit_code == 0, res.output
        assert json.loads(res.stdout)["krippendorff_alpha"]["alpha"] == pytest.approx(
            alpha, abs=5e-4
        )
    long = tmp_path / "long.csv"
    rows = pd.read_csv(wide).melt(id_vars="item", var_name="annotator").dropna()
    rows.to_csv(long, index=False)
    res = invoke("agreement", str(long), "--level", "interval", "--n-boot", "100")
    assert res.exit_code == 0, res.output
    # 11 overlapping items: below the minimum of 20, so no "reliable" label (issue 22).
    assert "Krippendorff's alpha: 0.849" in res.stdout and "too few to say" in res.stdout
    assert "quadratic weights" in res.stdout


def test_agreement_jsonl_labels(tmp_path, db_url):
    path = tmp_path / "labels.jsonl"
    recs = [
        {"item": i, "annotator": a, "value": v}
        for i, vals in enumerate([("x", "x"), ("y", "y"), ("x", "y"), ("y", "y")])
        for a, v in zip(("p", "q"), vals, strict=True)
    ]
    path.write_text("\n".join(json.dumps(r) for r in recs))
    res = invoke("agreement", str(path), "--json", "--n-boot", "0")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["n_items"] == 4 and out["pairwise_cohen_kappa"][0]["kappa"] == pytest.approx(0.5)


def test_agreement_errors(tmp_path, db_url):
    bad = tmp_path / "bad.csv"
    bad.write_text("item,annotator,value\n1,a,3\n1,b,high\n")
    res = invoke("agreement", str(bad), "--level", "interval")
    assert res.exit_code == 2
    assert "bad.csv, line 3, column 'value': 'high' is not a number" in res.stderr
    res = invoke("agreement", str(tmp_path / "missing.csv"))
    assert res.exit_code == 2 and "cannot read" in res.stderr
    res = invoke("agreement", str(bad), "--level", "fuzzy")
    assert res.exit_code == 2 and "--level must be one of" in res.stderr


def test_export_stdout_and_files(study, tmp_path):
    res = invoke("export", "exp", "--what", "ratings")
    assert res.exit_code == 0, res.output
    df = pd.read_csv(io.StringIO(res.stdout))
    assert len(df) == 45 and {"winner", "Accuracy_a", "shown_left"} <= set(df.columns)
    res = invoke("export", "exp", "--what", "dpo", "--format", "jsonl")
    lines = [json.loads(x) for x in res.stdout.splitlines()]
    assert len(lines) == 15 and set(lines[0]) == {"prompt", "chosen", "rejected"}
    out = tmp_path / "v.parquet"
    res = invoke(
        "export",
        "exp",
        "--what",
        "verdicts",
        "--format",
        "parquet",
        "--out",
        str(out),
        "--source",
        "judge:openai:gpt",
    )
    assert res.exit_code == 0, res.output
    assert len(pd.read_parquet(out)) == 15


def test_export_errors(study):
    res = invoke("export", "exp", "--format", "parquet")
    assert res.exit_code == 2 and "give a file with --out" in res.stderr
    res = invoke("export", "exp", "--what", "dpo", "--source", "judge:nobody")
    assert res.exit_code == 2 and "no verdicts from judge 'nobody'" in res.stderr
    res = invoke("export", "exp", "--what", "everything")
    assert res.exit_code == 2 and "--what must be one of" in res.stderr


def test_import_ratings_command(study, tmp_path):
    good = tmp_path / "r.csv"
    good.write_text("prompt_id,system_a,system_b,annotator,winner\np0,base,tuned,zed,tuned\n")
    res = invoke("import-ratings", "exp", str(good))
    assert res.exit_code == 0, res.output
    assert "1 ratings imported" in res.stdout and "zed" in res.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("prompt_id,system_a,system_b,annotator,winner\np0,base,tuned,zed2,nobody\n")
    res = invoke("import-ratings", "exp", str(bad))
    assert res.exit_code == 2
    assert "bad.csv, line 2, column winner" in res.stderr and "nothing was imported" in res.stderr
