"""``sidebyside card STUDY``: the evaluation card (every layer, base against each system)."""

from __future__ import annotations

import json

import typer

from sidebyside.cli.common import open_session
from sidebyside.cli.tracking import mlflow_option
from sidebyside.foundation.errors import InputError

CARD_FORMATS = ("md", "html", "json")


def card(
    study: str = typer.Argument(..., help="Study name or id."),
    fmt: str = typer.Option("md", "--format", "-f", help="md | html | json"),
    n_boot: int = typer.Option(1000, "--n-boot", min=0, help="Bootstrap resamples (0 = none)."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
    base: str | None = typer.Option(
        None, "--base", help="The system the others are compared with (default: the study's)."
    ),
    mlflow: bool = mlflow_option(),
) -> None:
    """Text metrics, perplexity, benchmarks, judges and humans in one table: each row's
    difference with its paired bootstrap interval, and the verdict it gives."""
    from sidebyside.analysis.card_render import card_md, card_page
    from sidebyside.analysis.provenance import compared_html, compared_md
    from sidebyside.analysis.report import report_for_study
    from sidebyside.foundation.lookup import get_study
    from sidebyside.metrics.card_scoring import TEXT_SCORER

    if fmt not in CARD_FORMATS:
        raise InputError(f"--format must be one of {', '.join(CARD_FORMATS)}, got {fmt!r}")
    with open_session() as session:
        report = report_for_study(
            session,
            get_study(session, study),
            n_boot=n_boot,
            seed=seed,
            scorer=TEXT_SCORER,
            base=base,
        )
    assert report.card is not None  # report_for_study always builds it
    if fmt == "json":
        compared = report.compared.model_dump(mode="json") if report.compared else None
        payload = {
            "study": report.study.name,
            "compared": compared,
            **report.card.model_dump(mode="json"),
        }
        typer.echo(json.dumps(payload, indent=2, ensure_ascii=False, allow_nan=False))
    elif fmt == "html":
        preface = compared_html(report.compared)
        typer.echo(card_page(report.card, report.study.name, preface=preface), nl=False)
    else:
        typer.echo("\n".join([*compared_md(report.compared), *card_md(report.card)]).rstrip())
    if mlflow:
        from sidebyside.cli.tracking import track

        track("card", study=report.study.name, n_boot=n_boot, seed=seed)


def register(app: typer.Typer) -> None:
    app.command("card")(card)
