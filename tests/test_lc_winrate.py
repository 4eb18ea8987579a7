"""AlpacaEval 2's LC win rate: our fit against the alpaca-eval library's on planted hub files,
end to end through the CLI on AlpacaEval's own annotations, and the reasons it is absent."""

from __future__ import annotations

import json
import shutil
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from sidebyside.analysis import lc_winrate as lcw
from sidebyside.cli.main import app
from sidebyside.foundation.errors import InputError

REF = Path(__file__).resolve().parent.parent.parent / "shared" / "reference" / "alpaca_eval"
N = 805


def plant_glm_dir(folder: Path, n: int = N, seed: int = 0) -> np.ndarray:
    """AlpacaEval's two hub files, planted: a difficulty per position 0..n-1 and the rows of
    two gamed baselines (concise, verbose) in df_gamed.csv's columns. Returns the difficulty."""
    rng = np.random.default_rng(seed)
    difficulty = rng.normal(0, 1, n)
    parts = []
    for name, centre in (("gpt4_gamed_concise", 1.0), ("gpt4_gamed_verbose", -1.0)):
        std_delta = rng.normal(centre, 1, n)
        p = 1 / (1 + np.exp(-(0.4 * np.tanh(std_delta) - 0.8 * difficulty)))
        parts.append(
            pd.DataFrame(
                {
                    "model": name,
                    "index": np.arange(n),
                    "instruction_difficulty": difficulty,
                    "preference": p,
                    "std_delta_len": std_delta,
                    "not_gamed_baseline": False,
                }
            )  # fmt: skip
        )
    folder.mkdir(parents=True, exist_ok=True)
    pd.concat(parts, ignore_index=True).to_csv(folder / lcw.GAMED_FILE, index=False)
    index = pd.Index(range(n), name="index")
    pd.Series(difficulty, index=index, name="instruction_difficulty").to_csv(
        folder / lcw.DIFFICULTY_FILE
    )
    return difficulty


def library_lc(annotations: pd.DataFrame, folder: Path, monkeypatch) -> tuple[float, float]:
    """The alpaca-eval library's LC win rate (as fractions), its hub download pointed at
    ``folder``."""
    glm = pytest.importorskip(
        "alpaca_eval.metrics.glm_winrate",
        reason="the alpaca-eval library is not installed (pip install 'sidebyside[alpaca]')",
    )
    monkeypatch.setattr(glm, "hf_hub_download", lambda repo_id, filename, **kw: folder / filename)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = glm.get_length_controlled_winrate(
            annotations.reset_index(drop=True), save_weights_dir=None, is_warn_extreme_changes=False
        )
    return out["length_controlled_winrate"] / 100, out["lc_standard_error"] / 100


@pytest.fixture(autouse=True)
def _restore_sklearn_config():
    """The library switches sklearn's metadata routing on for the whole process."""
    yield
    if "sklearn" in sys.modules:
        sys.modules["sklearn"].set_config(enable_metadata_routing=False)


@pytest.mark.parametrize("seed", [0, 1])
def test_agrees_with_the_alpaca_eval_library(tmp_path, monkeypatch, seed):
    difficulty = plant_glm_dir(tmp_path, seed=seed)
    rng = np.random.default_rng(10 + seed)
    len_1, len_2 = rng.integers(300, 3000, N), rng.integers(50, 5000, N)
    x = -0.7 * np.tanh((len_1 - len_2) / 1500) - 0.3 - 0.5 * difficulty
    preference = np.clip(1 + 1 / (1 + np.exp(-x)) + rng.normal(0, 0.1, N), 1, 2)
    preference[:20] = np.round(preference[:20])  # some discrete verdicts among them
    gamed = pd.read_csv(tmp_path / lcw.GAMED_FILE).drop(columns="model")
    ours = lcw.fit_lc_win_rate(preference, len_1, len_2, difficulty, gamed)
    annotations = pd.DataFrame(
        {"preference": preference, "output_1": ["r" * int(k) for k in len_1],
         "output_2": ["m" * int(k) for k in len_2], "generator_1": lcw.REFERENCE,
         "generator_2": "model"}
    )  # fmt: skip
    theirs = library_lc(annotations, tmp_path, monkeypatch)
    assert ours[0] == pytest.approx(theirs[0], abs=1e-6)
    assert ours[1] == pytest.approx(theirs[1], abs=1e-6)
    raw = float(np.mean(preference - 1))
    assert abs(ours[0] - raw) > 0.01  # the planted length effect moves it


def votes_frame(n: int = 40, reference: str = lcw.REFERENCE) -> pd.DataFrame:
    """A judge that likes the model's answers when they are longer."""
    rng = np.random.default_rng(3)
    len_a, len_b = rng.integers(10, 900, n), rng.integers(10, 900, n)
    p_a = 1 / (1 + np.exp(-(3 * np.tanh((len_a - len_b) / 300) + 0.5)))
    return pd.DataFrame(
        {"pair_id": range(n), "prompt_id": range(n), "system_a": "model",
         "system_b": reference, "preference": np.where(p_a > 0.5, "a", "b"),
         "preference_score": 2 - p_a, "len_a": len_a, "len_b": len_b}
    )  # fmt: skip


ROW = {"system_a": "model", "system_b": lcw.REFERENCE}


def test_reasons_when_lc_is_absent(tmp_path):
    votes = votes_frame()
    (row,) = lcw.add_lc_win_rates(votes, [ROW], None)
    assert row["lc_win_rate"] is None and row["lc_reason"] == lcw.NO_DIR
    plant_glm_dir(tmp_path, n=40)
    difficulty = pd.read_csv(tmp_path / lcw.DIFFICULTY_FILE, index_col=0).squeeze("columns")
    glm = lcw.GlmFiles(
        pd.Series(difficulty.to_numpy(), index=[f"instruction {i}" for i in range(40)]),
        pd.read_csv(tmp_path / lcw.GAMED_FILE).drop(columns="model"),
    )
    texts = {i: f"instruction {i}" for i in range(40)}
    inputs = lcw.match_prompts(texts, glm)
    (row,) = lcw.add_lc_win_rates(votes, [ROW], inputs)
    assert row["lc_reason"] is None and 0.5 < row["lc_win_rate"] < 1 and row["lc_se"] > 0
    other = votes_frame(reference="someone")
    (row,) = lcw.add_lc_win_rates(other, [dict(ROW, system_b="someone")], inputs)
    assert row["lc_win_rate"] is None and "not AlpacaEval 2's reference" in row["lc_reason"]
    texts[7] = "a prompt of our own"
    (row,) = lcw.add_lc_win_rates(votes, [ROW], lcw.match_prompts(texts, glm))
    assert row["lc_win_rate"] is None
    assert row["lc_reason"].startswith("1 of 40 prompts are not AlpacaEval instructions")


def test_the_orientation_of_stored_pairs_does_not_matter(tmp_path):
    plant_glm_dir(tmp_path, n=40)
    difficulty = pd.read_csv(tmp_path / lcw.DIFFICULTY_FILE, index_col=0).squeeze("columns")
    glm = lcw.GlmFiles(
        pd.Series(difficulty.to_numpy(), index=[f"i{i}" for i in range(40)]),
        pd.read_csv(tmp_path / lcw.GAMED_FILE).drop(columns="model"),
    )
    inputs = lcw.match_prompts({i: f"i{i}" for i in range(40)}, glm)
    votes = votes_frame()
    flipped = votes.copy()
    flip = flipped.index % 2 == 0
    flipped.loc[flip, ["system_a", "system_b"]] = [lcw.REFERENCE, "model"]
    flipped.loc[flip, ["len_a", "len_b"]] = votes.loc[flip, ["len_b", "len_a"]].to_numpy()
    flipped.loc[flip, "preference_score"] = 3 - votes.loc[flip, "preference_score"]
    (a,) = lcw.add_lc_win_rates(votes, [ROW], inputs)
    (b,) = lcw.add_lc_win_rates(flipped, [ROW], inputs)
    assert a["lc_win_rate"] == pytest.approx(b["lc_win_rate"], abs=1e-12)


def test_the_folder_is_checked(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        lcw.read_glm_dir(tmp_path / "missing")
    plant_glm_dir(tmp_path, n=10)
    (tmp_path / lcw.GAMED_FILE).unlink()
    with pytest.raises(InputError, match="lacks df_gamed.csv"):
        lcw.read_glm_dir(tmp_path)
    plant_glm_dir(tmp_path, n=10)
    with pytest.raises(InputError, match="indexed by position"):
        lcw.read_glm_dir(tmp_path)  # positions need the eval set to match instructions
    records = [{"instruction": f"  task {i} "} for i in range(10)]
    (tmp_path / lcw.EVAL_SET_FILES[0]).write_text(json.dumps(records))
    files = lcw.read_glm_dir(tmp_path)
    assert list(files.difficulty.index[:2]) == ["task 0", "task 1"]


runner = CliRunner()


def invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res


@pytest.mark.slow  # 805 prompts through the CLI
@pytest.mark.skipif(
    not (REF / "claude-2.1.annotations.json").exists(), reason=f"no AlpacaEval files at {REF}"
)
def test_report_gives_the_library_lc_on_alpaca_evals_annotations(db_url, tmp_path, monkeypatch):
    """AlpacaEval's claude-2.1 annotations imported as they are, with planted hub files (the
    real ones are not shipped; the published LC needs them): the report's LC equals the
    library's on the same annotations file."""
    glm_dir = tmp_path / "glm"
    plant_glm_dir(glm_dir)
    # AlpacaEval 2's reference outputs are its eval set, in order.
    shutil.copy(REF / "gpt4_1106_preview.model_outputs.json", glm_dir / lcw.EVAL_SET_FILES[0])
    ann_path = REF / "claude-2.1.annotations.json"
    invoke("study", "create", "alpaca")
    invoke("import", "alpaca", str(ann_path))
    invoke("import-judgments", "alpaca", str(ann_path))
    out = tmp_path / "report.json"
    invoke("report", "alpaca", "--n-boot", "0", "--out", str(out))
    (row,) = next(iter(json.loads(out.read_text())["judges"].values()))["win_rates"]
    assert row["lc_win_rate"] is None and row["lc_reason"] == lcw.NO_DIR
    monkeypatch.setenv("SIDEBYSIDE_ALPACA_EVAL_GLM_DIR", str(glm_dir))
    from sidebyside.foundation.settings import get_settings

    get_settings.cache_clear()
    try:
        invoke("report", "alpaca", "--n-boot", "0", "--out", str(out))
    finally:
        get_settings.cache_clear()
    (row,) = next(iter(json.loads(out.read_text())["judges"].values()))["win_rates"]
    annotations = pd.DataFrame(json.loads(ann_path.read_text()))
    lc, se = library_lc(annotations, glm_dir, monkeypatch)
    assert row["system_a"] == "claude-2.1" and row["system_b"] == lcw.REFERENCE
    assert row["lc_reason"] is None
    assert row["lc_win_rate"] == pytest.approx(lc, abs=1e-6)
    assert row["lc_se"] == pytest.approx(se, abs=1e-6)
    for fmt in ("md", "html"):  # shown beside the equal-length figure
        args = ("report", "alpaca", "-f", fmt, "--n-boot", "0", "--alpaca-eval-glm", str(glm_dir))
        text = invoke(*args).stdout
        assert "AlpacaEval LC ± SE" in text and f"{row['lc_win_rate']:.3f} ± " in text
