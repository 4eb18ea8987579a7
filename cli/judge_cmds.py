"""``sidebyside judge`` and ``sidebyside import-judgments``. SDKs and torch are imported only
when a judge that needs them is built. What each judge provider accepts is read from the
provider registry, so the help lists every provider, a plugin's included."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperCommand, TyperOption

from sidebyside.cli.tracking import mlflow_option
from sidebyside.foundation.enums import RUN_MODES
from sidebyside.foundation.errors import InputError
from sidebyside.judge.pricing import format_usd
from sidebyside.judge.providers import registry

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from sidebyside.judge.providers.base import Judge
    from sidebyside.judge.service import JudgeRunConfig
    from sidebyside.judge.specs import JudgeSpec


def judges_help() -> str:
    """``--judge``: every provider's spec forms and what it is."""
    lines = registry.spec_help()
    return "Judge spec (repeatable). " + "; ".join(lines) + "."


def base_url_help() -> str:
    from sidebyside.judge.specs import base_url_prefixes

    return f"Server for {base_url_prefixes()} judges given without @URL (e.g. vLLM, Ollama)."


def batch_help() -> str:
    takers = registry.prefixes([i for i in registry.providers() if i.batch_client])
    return (
        f"Send {takers} judges through the provider's batch API: the batch price, results "
        "within 24 h; other judges run live. Run again to resume: submitted batches are "
        "polled, never resent."
    )


#: Option help read from the registry each time the help is shown (see :class:`ProviderHelp`).
LIVE_HELP: dict[str, Callable[[], str]] = {
    "judges": judges_help,
    "base_url": base_url_help,
    "batch": batch_help,
}


class ProviderHelp(TyperCommand):
    """A command whose option help comes from the provider registry when it is shown, not
    when the CLI is imported: a provider registered later (a plugin, a test's fake) is listed,
    and ``sidebyside`` starts without scanning the providers."""

    def format_help(self, *args: Any, **kwargs: Any) -> None:
        for param in self.params:
            if param.name in LIVE_HELP and isinstance(param, TyperOption):
                param.help = LIVE_HELP[param.name]()
        super().format_help(*args, **kwargs)


StudyArg = Annotated[str, typer.Argument(help="Study name or id.")]
JudgesOpt = Annotated[list[str], typer.Option("--judge", "-j", help="Judge spec (repeatable).")]
ModeOpt = Annotated[str, typer.Option(help="pairwise (both orders) or single (scores).")]
ReferenceOpt = Annotated[
    bool,
    typer.Option(
        "--reference/--no-reference", help="Show prompts' reference answers to the judge."
    ),
]
ConcurrencyOpt = Annotated[int, typer.Option(min=1, help="Requests in flight per provider.")]
MaxCostOpt = Annotated[
    float | None,
    typer.Option("--max-cost", min=0, help="USD budget: no request starts that could exceed it."),
]
DryRunOpt = Annotated[
    bool, typer.Option("--dry-run", help="Estimate calls and cost; send nothing.")
]
BaseUrlOpt = Annotated[
    str | None, typer.Option("--base-url", help="Server for judges without @URL.")
]
TimeoutOpt = Annotated[float, typer.Option(min=0.1, help="Seconds before a request times out.")]
MaxRetriesOpt = Annotated[int, typer.Option(min=0, help="Retries on 429, 5xx and timeouts.")]
MaxTokensOpt = Annotated[int, typer.Option(min=16, help="Longest judge answer, in tokens.")]
TemperatureOpt = Annotated[float, typer.Option(min=0, max=2, help="Sampling temperature.")]
SamplesOpt = Annotated[
    int,
    typer.Option(
        help="Answers per order (K): P(A), P(B), P(tie) as vote fractions give any judge a "
        "confidence (ECE, reliability); stored as JUDGE#kK-tT; cost counts all K."
    ),
]
PricesOpt = Annotated[Path | None, typer.Option(help="JSON price table overriding the defaults.")]
# "\\[" keeps rich from reading the section names as markup tags (it drops those).
TemplateOpt = Annotated[
    str | None,
    typer.Option(
        help="Prompt template: a bundled name (judge/prompts/) or your own .txt file with "
        "\\[system], \\[user] and \\[reference] sections. Judges asked with it are stored as "
        "JUDGE#LABEL, next to their verdicts under the default prompt."
    ),
]
BatchOpt = Annotated[bool, typer.Option("--batch", help="Send judges through batch APIs.")]
PollOpt = Annotated[float, typer.Option(min=0.01, help="--batch: seconds between polls.")]
WaitOpt = Annotated[
    bool,
    typer.Option("--wait/--no-wait", help="--batch: wait for the batches to end, or poll once."),
]
BatchMaxRequestsOpt = Annotated[
    int | None,
    typer.Option(
        min=1, help="--batch: split at this many requests (default: the provider's limit)."
    ),
]


def judge_command(
    study: StudyArg,
    judges: JudgesOpt,
    mode: ModeOpt = "pairwise",
    reference: ReferenceOpt = False,
    concurrency: ConcurrencyOpt = 16,
    max_cost: MaxCostOpt = None,
    dry_run: DryRunOpt = False,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = 120.0,
    max_retries: MaxRetriesOpt = 6,
    max_tokens: MaxTokensOpt = 512,
    temperature: TemperatureOpt = 0.0,
    samples: SamplesOpt = 1,
    prices: PricesOpt = None,
    template: TemplateOpt = None,
    batch: BatchOpt = False,
    poll: PollOpt = 60.0,
    wait: WaitOpt = True,
    batch_max_requests: BatchMaxRequestsOpt = None,
    mlflow: bool = mlflow_option(),
) -> None:
    """Run LLM judges (and baselines) on every pair of a study, in both orders."""
    config, specs = _run_config(
        judges=judges,
        mode=mode,
        reference=reference,
        concurrency=concurrency,
        max_cost=max_cost,
        base_url=base_url,
        timeout=timeout,
        max_retries=max_retries,
        max_tokens=max_tokens,
        temperature=temperature,
        samples=samples,
        prices_file=str(prices) if prices else None,
        template=template,
        batch=batch,
        poll_s=poll,
        wait=wait,
        batch_max_requests=batch_max_requests,
    )
    engine, judge_objects = _prepare(study, config, specs, dry_run=dry_run)
    if judge_objects is None:  # a dry run: the estimate is printed, nothing is sent
        return
    summary = _run_with_progress(engine, study, config, judge_objects)
    _print_summary(summary)
    if config.reference and not summary.reference_used:
        typer.echo("note: --reference given, but no prompt of this study has a reference answer")
    if mlflow:
        from sidebyside.cli.tracking import track

        params = {"judges": judges, "mode": mode, "template": template, "temperature": temperature}
        track("judge", study=study, params=params)
    if any(j.stopped for j in summary.judges):
        raise typer.Exit(code=1)


def _run_config(**fields: object) -> tuple[JudgeRunConfig, list[JudgeSpec]]:
    """The run's settings and its parsed judge specs; ``InputError`` (or ``SpecError``) saying
    what is wrong."""
    from pydantic import ValidationError

    from sidebyside.judge.service import JudgeRunConfig

    if fields["mode"] not in RUN_MODES:
        raise InputError(f"--mode must be {' or '.join(RUN_MODES)}, got {fields['mode']!r}")
    try:
        config = JudgeRunConfig(**fields)
    except ValidationError as exc:  # one line per bad option instead of pydantic's report
        raise InputError("; ".join(e["msg"] for e in exc.errors())) from None
    return config, config.specs()


def _prepare(
    study: str, config: JudgeRunConfig, specs: list[JudgeSpec], *, dry_run: bool
) -> tuple[Engine, dict[str, Judge] | None]:
    """The database and the built judges, failing fast (unknown study, missing SDK or key, a
    local model that does not load) before anything is sent. A dry run prints its estimate
    and builds no judge (None)."""
    from sidebyside.foundation.db import init_db
    from sidebyside.judge.service import build_judges, estimate

    engine = init_db()
    _check_study(engine, study)
    if dry_run:
        _print_estimate(estimate(engine, study, config), config)
        return engine, None
    return engine, build_judges(specs, config)


def _check_study(engine: Engine, study: str) -> None:
    from sqlmodel import Session

    from sidebyside.foundation.lookup import get_study

    with Session(engine) as session:
        get_study(session, study)


def _run_with_progress(engine, study, config, judge_objects):
    import asyncio

    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from sidebyside.judge.service import run_judges_async

    console = Console(stderr=True)
    columns = (
        TextColumn("[bold]judging"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn(
            "failures {task.fields[failures]}  not sent {task.fields[skipped]}  "
            "cost ${task.fields[cost]:.4f}"
        ),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console, transient=False) as bar:
        task_id = bar.add_task("judging", total=None, failures=0, cost=0.0, skipped=0)

        def on_progress(p) -> None:
            bar.update(
                task_id,
                total=p.total,
                completed=p.done,
                failures=p.failures,
                cost=p.cost,
                skipped=p.skipped,
            )

        return asyncio.run(
            run_judges_async(engine, study, config, on_progress=on_progress, judges=judge_objects)
        )


def _table(headers: list[str], rows: list[list[str]]) -> str:
    """A plain aligned text table (first column left, the rest right); never wraps."""
    widths = [max(len(str(r[i])) for r in [headers, *rows]) for i in range(len(headers))]

    def line(cells: list[str]) -> str:
        return "  ".join(
            str(c).ljust(w) if i == 0 else str(c).rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        )

    return "\n".join([line(headers), line(["-" * w for w in widths])] + [line(r) for r in rows])


def _print_estimate(rows, config) -> None:
    from sidebyside.judge.service import EXPECTED_OUTPUT_TOKENS

    typer.echo(f"dry run ({config.mode}): nothing is sent")
    typer.echo(
        _table(
            ["judge", "calls", "cached", "to send", "prompt tokens", "cost (est.)", "at most"],
            [
                [
                    r.judge,
                    str(r.calls),
                    str(r.cached),
                    str(r.to_send),
                    f"{r.input_tokens:,}",
                    format_usd(r.cost),
                    format_usd(r.worst_cost),
                ]
                for r in rows
            ],
        )
    )
    known = [r.cost for r in rows]
    total = None if any(c is None for c in known) else sum(known)
    typer.echo(
        f"estimated total {format_usd(total)} (prompt tokens estimated at 3 characters each, "
        f"{EXPECTED_OUTPUT_TOKENS} answer tokens per call; 'at most' assumes {config.max_tokens})"
    )


def _print_summary(summary) -> None:
    rows = []
    for j in summary.judges:
        rate = j.inconsistent_rate
        rows.append(
            [
                j.judge,
                f"{j.verdicts['a']}/{j.verdicts['b']}/{j.verdicts['tie']}",
                "-" if rate is None else f"{j.inconsistent} ({rate:.0%})",
                str(j.unparsed),
                str(j.errors),
                str(j.sent),
                str(j.cached),
                f"{j.input_tokens:,}/{j.output_tokens:,}",
                format_usd(j.cost),
                f"{j.wall_s:.1f}",
            ]
        )
    typer.echo(f"study {summary.study!r}, {summary.mode}: verdicts are a = output_a wins")
    typer.echo(
        _table(
            [
                "judge",
                "a/b/tie",
                "inconsistent",
                "unparsed",
                "failed",
                "sent",
                "cached",
                "tokens in/out",
                "cost",
                "wall s",
            ],
            rows,
        )
    )
    for j in summary.judges:
        if j.stopped:
            typer.echo(f"{j.judge} stopped: {j.stopped}")
        for message in j.error_messages:
            typer.echo(f"{j.judge} failed: {message}")
        if j.skipped and not j.stopped:
            typer.echo(f"{j.judge}: {j.skipped} call(s) not sent (budget)")
    if summary.budget_stopped:
        typer.echo(
            "budget reached: rerun with a larger --max-cost (or none) to finish; "
            "nothing already judged is sent again"
        )
    typer.echo(f"total cost this run ${summary.cost:.4f}, wall {summary.wall_s:.1f} s")


def import_judgments_command(
    study: str = typer.Argument(..., help="Study name or id."),
    file: Path = typer.Argument(
        ...,
        help=".csv/.tsv/.jsonl/.json with prompt_id, system_a, "
        "system_b, judge, winner[, reasoning, raw, preference]; or AlpacaEval's "
        "annotations.json; or arena-hard's model_judgment JSONL.",
    ),
    baseline: str | None = typer.Option(
        None,
        "--baseline",
        help="Arena-hard v0.1 judgment files: the baseline model (v2 files name it).",
    ),
) -> None:
    """Import judge verdicts produced elsewhere (all or nothing)."""
    from sidebyside.foundation.db import init_db
    from sidebyside.judge.service import import_judgments

    summary = import_judgments(init_db(), study, file, baseline=baseline)
    judges = ", ".join(f"{name} ({n})" for name, n in sorted(summary.judges.items()))
    typer.echo(
        f"imported {summary.rows} verdict(s) into {study!r}: {summary.inserted} new, "
        f"{summary.replaced} replaced, {summary.unparsed} unparsed (kept, never a vote); "
        f"judges: {judges}"
    )


def judge_batches_command(
    study: str = typer.Argument(..., help="Study name or id."),
    cancel: bool = typer.Option(
        False, "--cancel", help="Cancel the study's running batches (what finished is kept)."
    ),
) -> None:
    """List a study's judge batches (provider batch APIs) with status and counts."""
    import asyncio

    from sqlmodel import Session

    from sidebyside.foundation.db import init_db
    from sidebyside.foundation.lookup import get_study
    from sidebyside.judge.batch import batch_client, cancel_batches, list_batches
    from sidebyside.judge.providers.batching import RUNNING

    engine = init_db()
    with Session(engine) as session:
        study_row = get_study(session, study)
        rows = list_batches(session, study_row.id)
    if cancel:
        running = sorted({r.judge for r in rows if r.status == RUNNING})
        clients = {name: batch_client(_built(name)) for name in running}
        n = asyncio.run(cancel_batches(engine, clients, study_row.id))
        typer.echo(
            f"asked to cancel {n} running batch(es); run `sidebyside judge ... --batch` "
            "again to store what they finished"
        )
        with Session(engine) as session:
            rows = list_batches(session, study_row.id)
    if not rows:
        typer.echo(f"study {study_row.name!r} has no judge batches")
        return
    typer.echo(
        _table(
            ["batch", "judge", "status", "requests", "counts", "ingested", "cost", "created"],
            [
                [
                    r.batch_id,
                    r.judge,
                    f"{r.status} ({r.provider_status})" if r.provider_status else r.status,
                    str(r.n_requests),
                    " ".join(f"{k}={v}" for k, v in sorted(r.counts.items())) or "-",
                    "yes" if r.ingested else "no",
                    format_usd(r.cost_usd) if r.ingested else "-",
                    r.created_at.strftime("%Y-%m-%d %H:%M"),
                ]
                for r in rows
            ],
        )
    )


def _built(name: str):
    from sidebyside.foundation.errors import ConfigError, UserError
    from sidebyside.judge.providers import load_judge
    from sidebyside.judge.specs import parse_spec

    try:
        return load_judge(parse_spec(name.split("#", 1)[0]))
    except UserError as exc:  # adds which stored judge it was
        raise ConfigError(f"cannot reach the provider of {name}: {exc}") from exc


def _assignments(values: list[str], option: str) -> dict[str, str]:
    out = {}
    for value in values:
        name, sep, family = value.rpartition("=")
        if not sep or not name or not family:
            raise InputError(f"{option} takes NAME=FAMILY, got {value!r}")
        out[name] = family
    return out


def families_command(
    study: str = typer.Argument(..., help="Study name or id."),
    system: list[str] = typer.Option(
        [], "--system", help="SYSTEM=FAMILY (repeatable), e.g. --system tuned=llama."
    ),
    judge: list[str] = typer.Option(
        [], "--judge", "-j", help="JUDGE=FAMILY (repeatable), e.g. -j openai:gpt-4o=gpt."
    ),
) -> None:
    """Declare (or list) the model families of a study's systems and judges: the report then
    gives each judge's win rate for its own family against the humans' (self-preference)."""
    from sidebyside.foundation.db import init_db, unit_of_work
    from sidebyside.foundation.lookup import get_study
    from sidebyside.judge.families import set_families

    systems, judges = _assignments(system, "--system"), _assignments(judge, "--judge")
    with unit_of_work(init_db()) as session:
        found = get_study(session, study)
        families = set_families(session, study_id=found.id, systems=systems, judges=judges)
    for kind in ("system", "judge"):
        for name, family in sorted(families[kind].items()):
            typer.echo(f"{kind:6}  {name}  {family}")
    if not any(families.values()):
        typer.echo("no families declared yet: --system NAME=FAMILY, --judge SPEC=FAMILY")


def register(app: typer.Typer) -> None:
    app.command("judge", cls=ProviderHelp)(judge_command)
    app.command("judge-batches")(judge_batches_command)
    app.command("families")(families_command)
    app.command("import-judgments")(import_judgments_command)
