"""``sidebyside judge-probe`` and ``sidebyside judge-align``: calibrating a judge against
controlled perturbations of the study's own pairs and against the humans."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sidebyside.cli.judge_cmds import (
    BaseUrlOpt,
    BatchOpt,
    ConcurrencyOpt,
    JudgesOpt,
    MaxCostOpt,
    MaxTokensOpt,
    PricesOpt,
    ProviderHelp,
    StudyArg,
    TemplateOpt,
    TimeoutOpt,
)
from sidebyside.foundation.errors import InputError

ProbesOpt = Annotated[
    str,
    typer.Option(
        "--probes",
        help="Comma-separated probes: bundled names (pad, markdown, authority, injection; "
        "judge/probes/*.toml) or paths of your own .toml probe files.",
    ),
]
SeedOpt = Annotated[int, typer.Option(help="Seed of the pair sample and the perturbations.")]


def _config(**fields: object):
    from pydantic import ValidationError

    from sidebyside.judge.service import JudgeRunConfig

    try:
        return JudgeRunConfig(**fields)
    except ValidationError as exc:
        raise InputError("; ".join(e["msg"] for e in exc.errors())) from None


def judge_probe_command(
    study: StudyArg,
    judges: JudgesOpt,
    probes: ProbesOpt = "pad,markdown,authority,injection",
    n: Annotated[int, typer.Option("--n", help="Decided pairs probed per judge (a sample).")] = 200,
    seed: SeedOpt = 0,
    template: TemplateOpt = None,
    concurrency: ConcurrencyOpt = 16,
    max_cost: MaxCostOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = 120.0,
    max_tokens: MaxTokensOpt = 512,
    prices: PricesOpt = None,
    batch: BatchOpt = False,
) -> None:
    """What flips a judge: perturb the losing response of pairs it decided (and, as a
    control, the winning one), judge them again in both orders, count the flips."""
    import asyncio

    from sqlmodel import Session

    from sidebyside.analysis.probes import load_probe_rows, probe_results
    from sidebyside.foundation.db import init_db
    from sidebyside.foundation.lookup import get_study
    from sidebyside.judge.probe_run import run_probes_async
    from sidebyside.judge.probing import load_probes

    load_probes(probes)  # an unknown probe is refused before the database is opened
    config = _config(
        judges=judges,
        template=template,
        concurrency=concurrency,
        max_cost=max_cost,
        base_url=base_url,
        timeout=timeout,
        max_tokens=max_tokens,
        prices_file=str(prices) if prices else None,
        batch=batch,
    )
    engine = init_db()
    plan, result = asyncio.run(run_probes_async(engine, study, config, probes, n=n, seed=seed))
    with Session(engine) as session:
        study_id = get_study(session, study).id
        rows = load_probe_rows(session, study_id)
    wanted = set(plan.pairs)
    results = [r for r in probe_results(rows) if r["judge"] in wanted]
    typer.echo(
        f"probed {', '.join(f'{j} ({len(p)} pairs)' for j, p in plan.pairs.items())}: "
        f"{result.sent} call(s) sent, cost ${result.cost:.4f}"
    )
    typer.echo(f"{'judge':40} {'probe':12} {'flip rate':>24} {'control':>24}")
    for r in results:
        flip = _rate(r["flips"], r["n"], r["ci_low"], r["ci_high"])
        control = _rate(
            r["control_flips"], r["control_n"], r["control_ci_low"], r["control_ci_high"]
        )
        typer.echo(f"{r['judge']:40} {r['probe']:12} {flip:>24} {control:>24}")
    if result.budget_stopped:
        typer.echo("budget reached: rerun with a larger --max-cost to finish the probes")
    typer.echo("the report and the Judges page show the figures with examples")


def _rate(k: int, n: int, lo: float | None, hi: float | None) -> str:
    if not n:
        return "—"
    return f"{k}/{n} {k / n:.2f} [{lo:.2f}, {hi:.2f}]"


def judge_align_command(
    study: StudyArg,
    judges: JudgesOpt,
    shots: Annotated[int, typer.Option(help="Few-shot examples in the new version.")] = 5,
    folds: Annotated[int, typer.Option(help="Cross-fitting folds (no pair judges itself).")] = 5,
    seed: SeedOpt = 0,
    template: TemplateOpt = None,
    out_dir: Annotated[
        Path | None,
        typer.Option(
            help="Where the new version of a bundled template goes (default: here); a "
            "template file's next version goes beside it."
        ),
    ] = None,
    concurrency: ConcurrencyOpt = 16,
    max_cost: MaxCostOpt = None,
    base_url: BaseUrlOpt = None,
    timeout: TimeoutOpt = 120.0,
    max_tokens: MaxTokensOpt = 512,
    prices: PricesOpt = None,
    batch: BatchOpt = False,
) -> None:
    """Write the next version of a judge's prompt with few-shot examples from the pairs where
    it and the human majority disagree; judge the study with it in cross-fitted folds; report
    agreement before and after (paired bootstrap interval, McNemar's test)."""
    import asyncio

    from sidebyside.foundation.db import init_db
    from sidebyside.judge.align import align_async

    config = _config(
        judges=judges,
        template=template,
        concurrency=concurrency,
        max_cost=max_cost,
        base_url=base_url,
        timeout=timeout,
        max_tokens=max_tokens,
        prices_file=str(prices) if prices else None,
        batch=batch,
    )
    r = asyncio.run(
        align_async(init_db(), study, config, shots=shots, folds=folds, seed=seed, out_dir=out_dir)
    )
    cats = sorted({c or "(none)" for _, c in r.examples})
    typer.echo(
        f"wrote {r.template} (version {r.version}): {len(r.examples)} examples "
        f"from categories {', '.join(cats)}"
    )
    ci = "—" if r.ci_low is None else f"[{r.ci_low:+.3f}, {r.ci_high:+.3f}]"
    typer.echo(
        f"agreement with the human majority on {r.n} pairs, {folds} cross-fitted folds: "
        f"before {r.before:.3f}, after {r.after:.3f} ({r.aligned_judge}); difference "
        f"{r.difference:+.3f} {ci}; McNemar p = {r.p_value:.4g} ({r.only_after} pairs only "
        f"after agrees, {r.only_before} only before); cost ${r.cost:.4f}"
    )
    typer.echo(
        f"use it: sidebyside judge {study} -j {r.judge.split('#')[0]} --template {r.template}"
    )


def register(app: typer.Typer) -> None:
    app.command("judge-probe", cls=ProviderHelp)(judge_probe_command)
    app.command("judge-align", cls=ProviderHelp)(judge_align_command)
