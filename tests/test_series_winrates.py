"""``sidebyside series --study``: where the study's systems are the checkpoints, each step's
human and judge win rates against the base are the report's pairwise win rates, read when
the report is built (new ratings show without rerunning the series); a checkpoint with no
pairs against the base says so."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from typer.testing import CliRunner  # noqa: E402

from sidebyside.cli.main import app  # noqa: E402
from tests.tiny_lm import SENTENCES, build_tiny_gpt2  # noqa: E402

runner = CliRunner()
BASE, CKPTS = "step-0", ("step-100", "step-1000")
LONELY = "step-2000"  # answers other prompts: paired with step-1000 only, never the base
JUDGE = "judge baseline:longest"


def invoke(*args: str):
    res = runner.invoke(app, list(args))
    assert res.exit_code == 0, res.output
    return res


def outputs_file(path: Path) -> Path:
    """p0..p9 answered by the base and two checkpoints (every pair), q0..q4 by step-1000 and
    step-2000 only. Lengths vary so the longest-answer judge decides both ways."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "prompt", "system", "output"])
        for i in range(10):
            for k, system in enumerate((BASE, *CKPTS)):
                w.writerow([f"p{i}", f"Question {i}?", system, "word " * (1 + (i * (k + 2)) % 7)])
        for i in range(5):
            for k, system in enumerate(("step-1000", LONELY)):
                w.writerow([f"q{i}", f"Other {i}?", system, "word " * (1 + (i + k) % 4)])
    return path


def ratings_file(path: Path) -> Path:
    """Three raters on every base-vs-checkpoint pair; step-1000 wins more often."""
    with path.open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "system_a", "system_b", "annotator", "winner"])
        for c, system in enumerate(CKPTS):
            for i in range(10):
                for j, rater in enumerate(("r1", "r2", "r3")):
                    roll = (i + j + c) % (3 + 2 * c)
                    winner = BASE if roll == 0 else "tie" if roll == 1 else system
                    w.writerow([f"p{i}", BASE, system, rater, winner])
    return path


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    return build_tiny_gpt2(tmp_path_factory.mktemp("ckpt") / "m", n_positions=64)


def series_args(tmp_path: Path, model: Path, *extra: str) -> list[str]:
    held, train = tmp_path / "held.txt", tmp_path / "train.txt"
    held.write_text("\n".join(SENTENCES[3:]) + "\n")
    train.write_text("\n".join(SENTENCES[:3]) + "\n")
    steps = [f"--checkpoint={s}={model}" for s in (BASE, *CKPTS, LONELY)]
    return ["series", "--held-out", str(held), "--train", str(train), "--device", "cpu",
            "--n-boot", "200", *steps, *extra]  # fmt: skip


def report_rate(rows: list[dict], system: str) -> tuple[float, float, float]:
    """The report's win rate of ``system`` over the base with its bootstrap interval."""
    (r,) = [r for r in rows if {r["system_a"], r["system_b"]} == {BASE, system}]
    if r["system_a"] == BASE:
        return 1 - r["win_rate_a"], 1 - r["boot_ci_high"], 1 - r["boot_ci_low"]
    return r["win_rate_a"], r["boot_ci_low"], r["boot_ci_high"]


def by_source(point: dict) -> dict[str, dict]:
    return {w["source"]: w for w in point["win_rates"]}


@pytest.mark.slow  # scores four tiny checkpoints, builds reports
def test_checkpoint_win_rates_are_the_reports(db_url, tmp_path, model):
    invoke("study", "create", "ckpt", "--k", "3")
    invoke("import", "ckpt", str(outputs_file(tmp_path / "outputs.csv")))
    invoke("judge", "ckpt", "--judge", "baseline:longest")
    svg = tmp_path / "series.svg"
    data = json.loads(
        invoke(*series_args(tmp_path, model, "--study", "ckpt", "--json", "--svg", str(svg))).stdout
    )
    # Only the judge so far: no human column yet.
    assert data["base"] == BASE
    assert all(set(by_source(p)) == {JUDGE} for p in data["points"])
    assert "Win rate vs step-0" in svg.read_text()

    # Ratings arrive after the series ran: the report shows them without rerunning it.
    invoke("import-ratings", "ckpt", str(ratings_file(tmp_path / "ratings.csv")))
    report = json.loads(invoke("report", "ckpt", "--n-boot", "200").stdout)
    series = report["compared"]["series"]
    assert series["base"] == BASE
    steps = {s["step"]: by_source(s) for s in series["steps"]}
    human_rows, judge_rows = (
        report["human"]["win_rates"],
        report["judges"]["baseline:longest"]["win_rates"],
    )
    for system in CKPTS:
        for source, rows in (("human", human_rows), (JUDGE, judge_rows)):
            w = steps[system][source]
            assert (w["win_rate"], w["ci_low"], w["ci_high"]) == pytest.approx(
                report_rate(rows, system)
            )
            assert w["interval"] == "paired bootstrap over prompts" and w["note"] is None
    assert steps["step-100"]["human"]["win_rate"] != steps["step-1000"]["human"]["win_rate"]
    # The base itself, and a checkpoint never paired with it: said so, not zero.
    assert {w["note"] for w in steps[BASE].values()} == {"base"}
    for w in steps[LONELY].values():
        assert w["win_rate"] is None and w["note"] == "no pairs against base"

    # The series rerun now carries both sources, the same figures as the report.
    rerun = json.loads(invoke(*series_args(tmp_path, model, "--study", "ckpt", "--json")).stdout)
    for p in rerun["points"]:
        assert by_source(p) == steps[p["step"]]
    table = invoke(*series_args(tmp_path, model, "--study", "ckpt")).stdout
    assert "human win rate vs step-0 [CI]" in table.splitlines()[0]
    lonely = next(line for line in table.splitlines() if line.startswith(LONELY))
    assert lonely.count("no pairs against base") == 2

    # The card shows the columns too (the card's own win-rate rows say the same).
    card = invoke("card", "ckpt", "--n-boot", "200").stdout
    header = next(line for line in card.splitlines() if line.startswith("| checkpoint"))
    assert "human win rate vs step-0 [CI]" in header and JUDGE in header
    row = next(line for line in card.splitlines() if line.startswith(f"| {LONELY}"))
    assert row.count("no pairs against base") == 2
    h = steps["step-1000"]["human"]
    row = next(line for line in card.splitlines() if line.startswith("| step-1000"))
    assert f"{h['win_rate']:.0%} [{h['ci_low']:.0%}, {h['ci_high']:.0%}]" in row
    html = invoke("report", "ckpt", "--n-boot", "200", "--format", "html").stdout
    assert "<th>human win rate vs step-0 [CI]</th>" in html and "no pairs against base" in html


@pytest.mark.slow
def test_base_choice_bad_base_and_mlflow(db_url, tmp_path, model, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'mlflow.db'}"
    monkeypatch.setenv("SIDEBYSIDE_MLFLOW_TRACKING_URI", uri)
    invoke("study", "create", "ckpt")
    invoke("import", "ckpt", str(outputs_file(tmp_path / "outputs.csv")))
    invoke("judge", "ckpt", "--judge", "baseline:longest")
    res = runner.invoke(app, series_args(tmp_path, model, "--study", "ckpt", "--base", "nope"))
    assert res.exit_code == 2 and "--base 'nope' is not a system of the study" in res.stderr
    res = runner.invoke(app, series_args(tmp_path, model, "--base", "step-100"))
    assert res.exit_code == 2 and "--base needs --study" in res.stderr
    args = series_args(tmp_path, model, "--study", "ckpt", "--base", "step-1000", "--json")
    data = json.loads(invoke(*args).stdout)
    assert data["base"] == "step-1000"
    points = {p["step"]: by_source(p)[JUDGE] for p in data["points"]}
    assert points["step-1000"]["note"] == "base"
    assert points[LONELY]["win_rate"] is not None  # paired with step-1000 on q0..q4
    report = json.loads(invoke("report", "ckpt", "--n-boot", "0").stdout)
    assert report["compared"]["series"]["base"] == "step-1000"  # kept with the series

    # --mlflow: a step per checkpoint, its win rates among the step's metrics.
    invoke(*args, "--mlflow")
    client = MlflowClient(tracking_uri=uri)
    (run,) = client.search_runs([client.get_experiment_by_name("sidebyside/ckpt").experiment_id])
    assert run.data.params["base"] == "step-1000"
    history = client.get_metric_history(run.info.run_id, "judge_baseline_longest_win_rate")
    steps = [p["step"] for p in data["points"]]
    assert {h.step: h.value for h in history} == pytest.approx(
        {i: points[s]["win_rate"] for i, s in enumerate(steps) if points[s]["win_rate"] is not None}
    )
    assert steps.index("step-1000") not in {h.step for h in history}  # the base: no figure


@pytest.mark.slow  # renders the Results page (AppTest), builds reports
def test_results_page_shows_the_series_win_rates(tmp_path, monkeypatch):
    """A series kept with a study whose systems are its steps: the Results page's series
    table has each step's win rates vs the base, the report's figures."""
    from sqlmodel import Session
    from streamlit.testing.v1 import AppTest

    from sidebyside.analysis.frames import data_fingerprint
    from sidebyside.analysis.report import report_for_study
    from sidebyside.analysis.series_winrates import win_rate_cell
    from sidebyside.annotate.auth import create_user
    from sidebyside.foundation.db import get_engine, init_db
    from sidebyside.foundation.settings import get_settings
    from sidebyside.metrics.series import Series, SeriesPoint, store_series
    from sidebyside.ui.common import USER_KEY
    from tests.analysis_helpers import build_study, pair_of, rate

    monkeypatch.setenv("SIDEBYSIDE_DATABASE_URL", f"sqlite:///{tmp_path / 'page.db'}")
    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = init_db(get_engine())
    ppl = {"perplexity": 9.0, "ci_low": 8.0, "ci_high": 10.0}
    with Session(engine, expire_on_commit=False) as s:
        b = build_study(s, name="pg", systems=(BASE, "step-100", "step-1000"), n_prompts=6)
        for i in range(6):
            pid, _ = pair_of(b, i, BASE, "step-100")
            for ann, pref in (("u1", "b"), ("u2", "b" if i % 3 else "a"), ("u3", "tie")):
                rate(s, b, ann, pid, pref)
        admin = create_user(s, username="boss", password="secret0-xyz-pw", role="admin")
        s.commit()
        before = data_fingerprint(s, b.study.id)
        steps = (BASE, "step-100", "step-1000")
        series = Series(points=[SeriesPoint(st, "m", None, ppl, ppl) for st in steps], best=BASE)
        store_series(s, study_id=b.study.id, series=series, held_out=["a"], train=["b"])
        s.commit()
        assert data_fingerprint(s, b.study.id) != before  # the page's cache sees the series
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "results.py"),
                           default_timeout=120)  # fmt: skip
    at.session_state[USER_KEY] = admin.id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    col = "human win rate vs step-0 [CI]"
    (shown,) = [d.value for d in at.dataframe if col in d.value.columns]
    summary = report_for_study(engine, b.study.id).compared.series  # the page's 1000 resamples
    (human,) = [w for w in summary.steps[1].win_rates if w.source == "human"]
    assert list(shown[col]) == ["base", win_rate_cell(human), "no pairs against base"]
    get_settings.cache_clear()
    get_engine.cache_clear()
