"""``sidebyside series``: which checkpoint, and when did it start to overfit? Held-out and
training perplexity over an ordered list of checkpoints, with intervals, the best checkpoint
and the overfitting step flagged, a table, an SVG plot, JSON and MLflow."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from sidebyside.cli.common import open_session
from sidebyside.cli.options import echo_err, parse_batch_size, resolve_study_id
from sidebyside.cli.tracking import mlflow_option

if TYPE_CHECKING:  # the command imports the heavy modules only when it runs
    from sqlmodel import Session

    from sidebyside.analysis.series_winrates import SeriesWinRate
    from sidebyside.metrics.series import Series


def series(
    checkpoint: list[str] = typer.Option(
        ...,
        "--checkpoint",
        help="STEP=PATH or STEP=PATH+ADAPTER, in training order (repeat, at least two).",
    ),
    held_out: Path = typer.Option(..., "--held-out", help="Held-out texts (.txt or .jsonl)."),
    train: Path = typer.Option(..., "--train", help="Training texts (.txt or .jsonl)."),
    train_sample: int = typer.Option(
        200, min=1, help="Score a seeded sample of this many training texts."
    ),
    field_name: str = typer.Option("text", "--field", help="The text field of .jsonl files."),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples."),
    seed: int = typer.Option(0, help="Seed of the sample and the bootstrap."),
    device: str = typer.Option("auto", help="auto | cpu | cuda."),
    dtype: str = typer.Option("auto", help="auto (bf16 on a GPU) | float32 | bfloat16."),
    batch_size: str = typer.Option("auto", help="Texts per batch, or auto (token budget)."),
    study: str | None = typer.Option(
        None, "--study", help="Keep the series with this study (its card and report show it)."
    ),
    base: str | None = typer.Option(
        None,
        "--base",
        help="With --study: the system the checkpoints' win rates are against (default: the "
        "study's first system, the card's base).",
    ),
    svg: Path | None = typer.Option(None, "--svg", help="Write the plot to this SVG file."),
    as_json: bool = typer.Option(False, "--json", help="Print the series as JSON."),
    mlflow: bool = mlflow_option(),
) -> None:
    """Perplexity on held-out and training texts for each checkpoint; flags the best one and
    the step from which held-out perplexity rises while training perplexity falls."""
    from sidebyside.analysis.series_plot import series_chart
    from sidebyside.analysis.series_winrates import NO_PAIRS, step_metrics, win_rate_cell
    from sidebyside.metrics.ppl_stats import read_texts
    from sidebyside.metrics.series import parse_checkpoint, run_series, store_series

    checkpoints = [parse_checkpoint(c) for c in checkpoint]
    study_id = resolve_study_id(study) if study is not None else None
    if base is not None:
        check_base(study_id, base)
    held = read_texts(held_out, field_name=field_name)
    trained = read_texts(train, field_name=field_name)
    if len(trained) > train_sample:
        trained = random.Random(seed).sample(trained, train_sample)
    result = run_series(
        checkpoints,
        held,
        trained,
        device=device,
        dtype=dtype,
        batch_size=parse_batch_size(batch_size),
        n_boot=n_boot,
        seed=seed,
        progress=lambda step: echo_err(f"scoring {step} ..."),
    )

    win_rates: dict[str, list[SeriesWinRate]] = {}
    if study_id is not None:
        with open_session() as session:
            store_series(
                session, study_id=study_id, series=result, held_out=held, train=trained, base=base
            )
            win_rates, base = series_win_rates(session, study_id, n_boot=n_boot, seed=seed)

    def line(part: str) -> list:
        return [
            (
                getattr(p, part)["perplexity"],
                getattr(p, part)["ci_low"],
                getattr(p, part)["ci_high"],
            )
            for p in result.points
        ]

    chart = series_chart(
        [p.step for p in result.points],
        line("held_out"),
        line("train"),
        best=result.best,
        overfit=result.overfit_from,
        win_rates=win_rate_lines(result, win_rates),
        base=base,
    )
    if svg is not None:
        svg.write_text(chart, encoding="utf-8")
        echo_err(f"plot written to {svg}")
    # NaN (an interval bootstrap could not draw) becomes null: the JSON stays strict.
    payload = json.loads(json.dumps(result.as_dict()), parse_constant=lambda _: None)
    sources = list(dict.fromkeys(w.source for ws in win_rates.values() for w in ws))
    if sources:  # the study's systems are the checkpoints: their win rates vs the base
        payload["base"] = base
        for p in payload["points"]:
            p["win_rates"] = [w.model_dump(mode="json") for w in win_rates.get(p["step"], [])]
    if as_json:
        typer.echo(json.dumps(payload, indent=2, allow_nan=False))
    else:
        head = f"{'step':<16} {'held-out ppl':>14} {'95% CI':>21} {'train ppl':>12}  flag"
        typer.echo(head + "".join(f" | {src} win rate vs {base} [CI]" for src in sources))
        for p in result.points:
            h, t = p.held_out, p.train
            flags = []
            if p.step == result.best:
                flags.append("best")
            if p.step == result.overfit_from:
                flags.append("overfitting from here")
            ci = f"[{h['ci_low']:>9.3f}, {h['ci_high']:>9.3f}]"
            cells = {w.source: win_rate_cell(w) for w in win_rates.get(p.step, [])}
            typer.echo(
                f"{p.step:<16} {h['perplexity']:>14.3f} {ci} {t['perplexity']:>12.3f}  "
                f"{', '.join(flags)}" + "".join(f" | {cells.get(src, NO_PAIRS)}" for src in sources)
            )
        for note in result.notes:
            typer.echo(f"note: {note}")
    if mlflow:
        from sidebyside.cli.tracking import log_run, tracking_uri

        steps = [
            {"held_out_perplexity": p.held_out["perplexity"], "train_perplexity": p.train[
                "perplexity"], **step_metrics(win_rates.get(p.step, []))}
            for p in result.points
        ]  # fmt: skip
        run_id = log_run(
            "series",
            study=study,
            params={
                "checkpoints": checkpoint,
                "study": study,
                "base": base if sources else None,
                "best": result.best,
                "overfit_from": result.overfit_from,
            },
            metrics={},
            artifacts={"series.json": json.dumps(payload, indent=2), "series.svg": chart},
            steps=steps,
        )
        echo_err(f"MLflow run {run_id} logged to {tracking_uri()[0]}")


def check_base(study_id: int | None, base: str) -> None:
    """``--base`` names a system of the study (checked before any checkpoint is scored)."""
    from sqlmodel import select

    from sidebyside.foundation.errors import InputError
    from sidebyside.foundation.models import System

    if study_id is None:
        raise InputError("--base needs --study: the win rates come from the study's verdicts")
    with open_session() as session:
        names = session.exec(select(System.name).where(System.study_id == study_id)).all()
    if base not in names:
        raise InputError(
            f"--base {base!r} is not a system of the study; it has {', '.join(names) or 'none'}"
        )


def series_win_rates(
    session: Session, study_id: int, *, n_boot: int, seed: int
) -> tuple[dict[str, list[SeriesWinRate]], str | None]:
    """(step ─► its win rates vs the base, the base) from the study's report, built over the
    series just kept: the same figures the report and the card show."""
    from sidebyside.analysis.report import report_for_study

    report = report_for_study(session, study_id, n_boot=n_boot, seed=seed)
    summary = report.compared.series if report.compared else None
    if summary is None:
        return {}, None
    return {st.step: st.win_rates for st in summary.steps if st.win_rates}, summary.base


def win_rate_lines(result: Series, win_rates: dict[str, list[SeriesWinRate]]) -> dict[str, list]:
    """source ─► (win rate, low, high) per step (None: no figure) for the plot."""
    sources = dict.fromkeys(w.source for ws in win_rates.values() for w in ws)
    out: dict[str, list] = {}
    for src in sources:
        line = []
        for p in result.points:
            w = next((w for w in win_rates.get(p.step, []) if w.source == src), None)
            line.append(None if w is None or w.win_rate is None else (w.win_rate, w.ci_low,
                        w.ci_high))  # fmt: skip
        out[src] = line
    return out


def register(app: typer.Typer) -> None:
    app.command("series")(series)
