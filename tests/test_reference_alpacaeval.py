"""AlpacaEval 2.0's own files through the CLI: model outputs imported with the reference as
baseline, the judge's annotations.json imported as it is, and the report's win rates equal
AlpacaEval's definitions computed here, independently, from the annotation files:
win_rate = mean(preference − 1) × 100 with its standard error, discrete_win_rate counting
preference > 1.5 as a win and = 1.5 as half."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from sidebyside.cli.main import app

REF = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "alpaca_eval"
pytestmark = pytest.mark.skipif(
    not (REF / "gpt4_1106_preview.model_outputs.json").exists(),
    reason=f"AlpacaEval reference files not found at {REF}",
)
MODELS = ("claude-2.1", "alpaca-7b", "Qwen-14B-Chat")
BASELINE = "gpt4_1106_preview"
runner = CliRunner()


def invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res


def alpaca_eval_definitions(path: Path) -> dict[str, float]:
    """AlpacaEval's leaderboard figures of the model (generator_2) against the reference."""
    pref = pd.Series([a["preference"] for a in json.loads(path.read_text())], dtype=float)
    pref = pref.dropna()
    return {
        "win_rate": float((pref - 1).mean() * 100),
        "standard_error": float((pref - 1).sem() * 100),
        "discrete_win_rate": float(((pref > 1.5).sum() + 0.5 * (pref == 1.5).sum()) / len(pref))
        * 100,
        "n": len(pref),
    }


@pytest.mark.slow  # 805 prompts of four models through the CLI
@pytest.mark.parametrize("source", ["model_outputs", "annotations"])
def test_win_rates_follow_alpaca_eval_definitions(db_url, tmp_path, source):
    """The outputs come from AlpacaEval's model_outputs.json files (paired with the
    reference by --pairing baseline) or straight from its annotations.json files."""
    invoke("study", "create", "alpaca")
    if source == "model_outputs":
        files = [str(REF / f"{m}.model_outputs.json") for m in (BASELINE, *MODELS)]
        invoke("import", "alpaca", *files, "--pairing", "baseline", "--baseline", BASELINE)
    else:
        invoke("import", "alpaca", *(str(REF / f"{m}.annotations.json") for m in MODELS))
    for m in MODELS:
        res = invoke("import-judgments", "alpaca", str(REF / f"{m}.annotations.json"))
        assert "imported 805 verdict(s)" in res.stdout
    out = tmp_path / "report.json"
    invoke("report", "alpaca", "--format", "json", "--n-boot", "0", "--out", str(out))
    report = json.loads(out.read_text())
    (judge,) = report["judges"]
    rows = {r["system_a"]: r for r in report["judges"][judge]["win_rates"]}
    for m in MODELS:
        expected = alpaca_eval_definitions(REF / f"{m}.annotations.json")
        row = rows[m]  # "SYSTEM vs BASELINE": the model is system_a, never 1 − x
        assert row["system_b"] == BASELINE
        assert row["n"] == row["n_preference"] == expected["n"] == 805
        assert row["preference_win_rate_a"] * 100 == pytest.approx(expected["win_rate"], abs=1e-9)
        assert row["preference_se"] * 100 == pytest.approx(expected["standard_error"], abs=1e-9)
        assert row["win_rate_a"] * 100 == pytest.approx(expected["discrete_win_rate"], abs=1e-9)
    # the headline reads the same way round
    entries = {(e["system_a"], e["system_b"]) for e in report["headline"]}
    assert {(m, BASELINE) for m in MODELS} <= entries
