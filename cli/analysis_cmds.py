"""Commands of the analysis side: report, power, agreement, import-ratings, export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from sidebyside.cli.common import open_session
from sidebyside.cli.tracking import mlflow_option
from sidebyside.foundation.errors import FileInputError, InputError

REPORT_FORMATS = ("json", "md", "html")
LEVELS = ("nominal", "ordinal", "interval", "ratio")
LONG_COLUMNS = ("item", "annotator", "value")
ITEM_NAMES = ("item", "unit", "id", "item_id")


def _emit(data: bytes | str, out: Path | None) -> None:
    if isinstance(data, str):
        data = data.encode()
    if out is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
        return
    from sidebyside.foundation.atomic import write_atomic

    try:
        write_atomic(out, data)  # all or nothing: a crash midway keeps the previous file
    except OSError as exc:
        raise InputError(
            f"cannot write {out}: {exc.strerror or exc}; the file was not changed"
        ) from None
    typer.echo(f"wrote {out}", err=True)


def report(
    study: str = typer.Argument(..., help="Study name or id."),
    fmt: str = typer.Option("json", "--format", "-f", help="json | md | html"),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default stdout)."),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples (0 = none)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    alpaca_eval_glm: Path | None = typer.Option(
        None,
        "--alpaca-eval-glm",
        help="Folder with AlpacaEval's instruction_difficulty.csv and df_gamed.csv, for its LC "
        "win rate (default: SIDEBYSIDE_ALPACA_EVAL_GLM_DIR).",
    ),
    mlflow: bool = mlflow_option(),
    strong_weight: float = typer.Option(
        3.0,
        "--strong-weight",
        help="Weight of a strong graded verdict (A>>B) in the strong-weighted win rate and "
        "Bradley-Terry (arena-hard's default: 3).",
    ),
    exclude_failed_gold: bool = typer.Option(
        False,
        "--exclude-failed-gold",
        help="Recompute every figure without the raters below the study's gold threshold "
        "(the report says who and how many ratings were left out).",
    ),
    labels: str = typer.Option(
        "majority",
        "--labels",
        help="'adjudicated': each pair a reviewer settled counts as the verdict, in place of "
        "its ratings (the report says how many).",
    ),
) -> None:
    """Agreement, win rates, Bradley–Terry and judge calibration of a study."""
    from sidebyside.analysis.report import render, report_for_study
    from sidebyside.foundation.lookup import get_study
    from sidebyside.foundation.settings import get_settings
    from sidebyside.metrics.card_scoring import TEXT_SCORER

    glm_dir = alpaca_eval_glm or get_settings().alpaca_eval_glm_dir

    if fmt not in REPORT_FORMATS:
        raise InputError(f"--format must be one of {', '.join(REPORT_FORMATS)}, got {fmt!r}")
    if not strong_weight > 0:
        raise InputError(f"--strong-weight must be a positive number, got {strong_weight}")
    with open_session() as session:
        st = get_study(session, study)
        data = report_for_study(
            session,
            st,
            n_boot=n_boot,
            seed=seed,
            alpaca_eval_glm=glm_dir,
            scorer=TEXT_SCORER,
            strong_weight=strong_weight,
            exclude_failed_gold=exclude_failed_gold,
            labels=labels,
        )
    _emit(render(data, fmt), out)
    if mlflow:
        from sidebyside.cli.tracking import track

        track("report", study=data.study.name, n_boot=n_boot, seed=seed)


def read_agreement_table(path: Path, level: str) -> Any:
    """A long (item, annotator, value) or wide (one row per item, one column per annotator)
    CSV/TSV, or a JSONL of {item, annotator, value}, as a long DataFrame. Empty cells are
    missing; non-numeric values at numeric levels raise ``FileInputError`` with line and
    column."""
    import pandas as pd

    name = str(path)
    try:
        raw = path.read_bytes().decode("utf-8-sig")
    except OSError as exc:
        raise FileInputError(name, f"cannot read the file: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise FileInputError(name, "the file is not valid UTF-8") from None
    if path.suffix.lower() == ".jsonl":
        rows = []
        for lineno, line in enumerate(raw.splitlines(), start=1):
            if line.strip():
                try:
                    obj = json.loads(line)
                except json.JSONDecodeError as exc:
                    raise FileInputError(name, f"malformed JSON: {exc.msg}", lineno) from None
                rows.append({**obj, "_line": lineno})
        df = pd.DataFrame(rows).astype({"_line": int}) if rows else pd.DataFrame()
    else:
        import io

        sep = "\t" if path.suffix.lower() == ".tsv" else ","
        try:
            df = pd.read_csv(io.StringIO(raw), sep=sep, dtype=str, keep_default_na=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise FileInputError(name, f"not a readable table: {exc}") from None
        df["_line"] = range(2, len(df) + 2)
    if df.empty:
        raise FileInputError(name, "the file has no rows")
    lower = {c.lower().strip(): c for c in df.columns}
    if all(c in lower for c in LONG_COLUMNS):
        long = df[[lower[c] for c in LONG_COLUMNS] + ["_line"]]
        long.columns = [*LONG_COLUMNS, "_line"]
        cells = [(r["_line"], lower["value"], r["value"]) for r in long.to_dict("records")]
    else:
        cols = [c for c in df.columns if c != "_line"]
        item_col = cols[0] if cols[0].lower().strip() in ITEM_NAMES else None
        annotators = [c for c in cols if c != item_col]
        if not annotators:
            raise FileInputError(
                name, "no annotator columns (long format needs item,annotator,value)"
            )
        items = df[item_col] if item_col else df["_line"].astype(str)
        recs = []
        for item, line, row in zip(
            items, df["_line"], df[annotators].to_dict("records"), strict=True
        ):
            for ann, v in row.items():
                recs.append(
                    {"item": item, "annotator": ann, "value": v, "_line": line, "_col": ann}
                )
        long = pd.DataFrame(recs)
        cells = [(r["_line"], r["_col"], r["value"]) for r in recs]
    values = []
    for line, col, v in cells:
        if v is None or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
            values.append(None)
            continue
        if level == "nominal":
            values.append(str(v).strip() if isinstance(v, str) else v)
            continue
        try:
            values.append(float(v))
        except (TypeError, ValueError):
            raise FileInputError(
                name,
                f"{v!r} is not a number (level {level} needs numbers; use --level nominal "
                "for labels)",
                line,
                repr(col),
            ) from None
    long = long.assign(value=values)[["item", "annotator", "value"]]
    return long[long["value"].notna()].reset_index(drop=True)


def agreement(
    file: Path = typer.Argument(..., help="Long (item,annotator,value) or wide CSV/TSV/JSONL."),
    level: str = typer.Option("nominal", help="nominal | ordinal | interval | ratio"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON for machines."),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples (0 = none)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
) -> None:
    """Inter-annotator agreement of any table of ratings.

    Krippendorff's alpha with a bootstrap CI, Fleiss' and Cohen's kappa, percent and
    leave-one-out agreement. FILE is long (item, annotator, value) or wide (one row per item,
    one column per annotator, empty = missing)."""
    from sidebyside.analysis.agreement import agreement_summary
    from sidebyside.analysis.report import clean, to_json
    from sidebyside.analysis.report_md import ci, fmt

    if level not in LEVELS:
        raise InputError(f"--level must be one of {', '.join(LEVELS)}, got {level!r}")
    long = read_agreement_table(file, level)
    summary = clean(agreement_summary(long, level, n_boot=n_boot, seed=seed))
    if as_json:
        typer.echo(to_json(summary), nl=False)
        return
    a = summary["krippendorff_alpha"]
    lines = [
        f"{summary['n_items']} items, {summary['n_annotators']} annotators, "
        f"{summary['n_ratings']} ratings ({level})",
        f"Krippendorff's alpha: {fmt(a['alpha'])}  95% CI {ci(a['ci_low'], a['ci_high'])}  "
        f"({a['n_units']} items rated at least twice)",
        f"  reading: {a['reading']}",
        f"Fleiss' kappa: {fmt(summary['fleiss_kappa'])}"
        + (
            ""
            if summary["fleiss_kappa"] is not None
            else " (needs the same number of raters on every item)"
        ),
        f"Percent agreement: {fmt(summary['percent_agreement'])}",
    ]
    weights = summary["cohen_kappa_weights"]
    if summary["pairwise_cohen_kappa"]:
        lines.append(f"Pairwise Cohen's kappa{' (' + weights + ' weights)' if weights else ''}:")
        for r in summary["pairwise_cohen_kappa"]:
            lines.append(
                f"  {r['annotator_1']} / {r['annotator_2']}: {fmt(r['kappa'])} (n={r['n']})"
            )
    if summary["loo_agreement"]:
        lines.append("Each annotator vs the majority of the others:")
        for r in summary["loo_agreement"]:
            lines.append(f"  {r['annotator']}: {fmt(r['agreement'])} (n={r['n']})")
    typer.echo("\n".join(lines))


def import_ratings(
    study: str = typer.Argument(..., help="Study name or id."),
    file: Path = typer.Argument(..., help="CSV or JSONL of ratings."),
    map_grades: bool = typer.Option(
        False,
        "--map-grades",
        help="In a three-level study, keep only the direction of graded values (A>>B ─► a) "
        "instead of refusing the file.",
    ),
) -> None:
    """Import human ratings made elsewhere (all or nothing).

    Columns: prompt_id, system_a, system_b, annotator, winner (a, b, tie, a system name, or
    a graded A>>B, A>B, A=B, B>A, B>>A);
    optional <criterion>_a / <criterion>_b scores, comment, time_spent_s, created_at.
    Unknown annotators become accounts that cannot log in."""
    from sidebyside.annotate.rating_import import import_ratings_path
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        st = get_study(session, study)
        try:
            rep = import_ratings_path(session, study=st, path=file, map_grades=map_grades)
        except FileInputError as exc:  # adds what it means: the study is unchanged
            raise InputError(f"{exc}\nnothing was imported") from exc
    typer.echo(rep.summary())


def export(
    study: str = typer.Argument(..., help="Study name or id."),
    what: str = typer.Option(
        "ratings", help="ratings | judgments | verdicts | dpo | generations (with provenance)"
    ),
    fmt: str = typer.Option("csv", "--format", "-f", help="csv | jsonl | parquet"),
    out: Path | None = typer.Option(None, "--out", "-o", help="File to write (default stdout)."),
    source: str | None = typer.Option(
        None, help="human or judge:SPEC (verdicts, judgments, dpo; dpo defaults to human)."
    ),
    formula_guard: bool = typer.Option(
        True,
        "--formula-guard/--no-formula-guard",
        help="CSV: prefix ' to cells starting with = + - @ tab or CR so spreadsheets show them "
        "as text (on by default); --no-formula-guard for programs that read the CSV.",
    ),
    labels: str = typer.Option(
        "majority",
        "--labels",
        help="dpo: 'majority' (the human majority) or 'adjudicated' (a reviewer's verdict "
        "where one exists, else the majority).",
    ),
    participant_ids: bool = typer.Option(
        False,
        "--participant-ids",
        help="Name crowd participants by their Prolific/MTurk id (kept out unless asked).",
    ),
) -> None:
    """Export ratings, judgments, verdicts or DPO preference pairs. --out is written
    atomically: an interrupted export leaves the previous file untouched."""
    from sidebyside.annotate.export import FORMATS, TEXT_FORMATS, WHATS, export_frame, write_export
    from sidebyside.foundation.lookup import get_study

    if what not in WHATS:
        raise InputError(f"--what must be one of {', '.join(WHATS)}, got {what!r}")
    if fmt not in FORMATS:
        raise InputError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    if out is None and fmt not in TEXT_FORMATS:
        raise InputError(f"--format {fmt} is binary; give a file with --out")
    with open_session() as session:
        st = get_study(session, study)
        df = export_frame(session, st, what, source, labels=labels)
        if participant_ids and "annotator" in df.columns:
            from sidebyside.annotate.crowd import participant_ids as ids_of

            ids = ids_of(session, st.id)
            df["annotator"] = df["annotator"].map(lambda name: ids.get(name, name))
    _emit(write_export(df, fmt, formula_guard=formula_guard), out)
    if "adjudicated" in df.attrs:
        typer.echo(
            f"{df.attrs['adjudicated']} pair(s) labelled by an adjudicated verdict, the "
            "others by the human majority",
            err=True,
        )
    if out is not None:
        typer.echo(f"{len(df)} rows", err=True)


def power(
    win_rate: float | None = typer.Option(
        None, "--win-rate", help="Expected win rate of A (ties = ½): how many prompts to find it?"
    ),
    prompts: int | None = typer.Option(
        None, "--prompts", min=1, help="Prompts you have: what win rate can they find?"
    ),
    tie_rate: float = typer.Option(
        0.0, "--tie-rate", min=0.0, max=0.99, help="Share of prompts whose votes tie."
    ),
    alpha: float = typer.Option(0.05, help="Two-sided significance level."),
    target: float = typer.Option(0.8, "--power", help="Power: the chance to find a real win."),
) -> None:
    """Plan a study: prompts needed for a win rate, or the win rate a number of prompts can
    find (two-sided sign test over prompts)."""
    from sidebyside.analysis.power import detectable_win_rate, prompts_needed

    if (win_rate is None) == (prompts is None):
        raise InputError("give exactly one of --win-rate and --prompts")
    try:  # analysis.power is pure: a ValueError is its check of these very options
        if win_rate is not None:
            n = prompts_needed(win_rate, tie_rate=tie_rate, alpha=alpha, power=target)
        else:
            rate = detectable_win_rate(prompts, tie_rate=tie_rate, alpha=alpha, power=target)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    if win_rate is not None:
        if n is None:
            raise InputError("a win rate of 0.5 is no difference: there is nothing to find")
        typer.echo(
            f"{n} prompts find a win rate of {win_rate:g} ({tie_rate:.0%} tied prompts) "
            f"with {target:.0%} power at alpha {alpha:g}, two-sided"
        )
        return
    if rate is None:
        raise InputError(
            f"{prompts} prompts are too few to find any win rate with {target:.0%} power"
        )
    typer.echo(
        f"{prompts} prompts ({tie_rate:.0%} tied) find a win rate of {rate:.3f} or more (or "
        f"{1 - rate:.3f} or less) with {target:.0%} power at alpha {alpha:g}, two-sided"
    )


def register(app: typer.Typer) -> None:
    app.command("report")(report)
    app.command("power")(power)
    app.command("agreement")(agreement)
    app.command("import-ratings")(import_ratings)
    app.command("export")(export)
