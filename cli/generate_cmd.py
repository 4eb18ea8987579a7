"""``sidebyside generate``: run two or more models on one prompt set into a study, with
provenance, a cache that makes reruns and resumes free, and a dry run."""

from __future__ import annotations

from pathlib import Path

import typer

from sidebyside.cli.common import EXIT_FAILURE, open_session, show_error
from sidebyside.cli.options import parse_batch_size


def generate(
    study: str = typer.Argument(..., help="Study name or id (created when it does not exist)."),
    prompts: Path = typer.Option(
        ...,
        "--prompts",
        help="JSONL/CSV/JSON with prompt_id, prompt [, category, reference], or conversations: "
        "MT-Bench's question.jsonl or 'messages' records (turn t after the model's own t-1).",
    ),
    model: list[str] = typer.Option(
        ...,
        "--model",
        help="NAME=SOURCE: a model folder or hub id, PATH+ADAPTER for a PEFT LoRA adapter, or "
        "openai:MODEL@URL for an OpenAI-compatible server. Repeat for each system.",
    ),
    engine: str = typer.Option(
        "transformers", help="transformers | openai | vllm (for sources without a prefix)."
    ),
    max_new_tokens: int = typer.Option(512, min=1, help="Most tokens per answer."),
    temperature: float = typer.Option(0.0, min=0.0, help="0: greedy (deterministic)."),
    top_p: float = typer.Option(1.0, min=0.0, max=1.0, help="Nucleus sampling mass."),
    seed: int = typer.Option(0, help="Sampling seed (recorded, and part of the cache key)."),
    batch_size: str = typer.Option("auto", help="transformers/vllm: prompts per batch."),
    concurrency: int = typer.Option(8, min=1, help="openai: requests in flight at once."),
    system_prompt: Path | None = typer.Option(
        None, "--system-prompt", help="A text file: the system message of every prompt."
    ),
    stop: list[str] = typer.Option([], "--stop", help="A string that ends an answer (repeat)."),
    no_chat_template: bool = typer.Option(
        False, "--no-chat-template", help="Plain text prompts (base models without a template)."
    ),
    device: str = typer.Option("auto", help="transformers: auto | cpu | cuda."),
    dtype: str = typer.Option("auto", help="transformers: auto (bf16 on a GPU) | float32 | ..."),
    pairing: str = typer.Option("all", help="'all' pairs of systems, or 'baseline' pairs only."),
    baseline: str | None = typer.Option(None, help="Baseline system for --pairing baseline."),
    new_version: bool = typer.Option(
        False, "--new-version", help="The prompt set changed: start STUDY-vN, its next version."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Print generations, tokens and cost; generate nothing."
    ),
) -> None:
    """Generate every model's answers to the prompts and import them into the study."""
    from pydantic import ValidationError

    from sidebyside.cli.generate_flow import (
        ProgressBar,
        dry_run_lines,
        import_generated,
        read_prompt_file,
        target_study,
    )
    from sidebyside.foundation.db import get_engine
    from sidebyside.foundation.errors import InputError
    from sidebyside.foundation.prompt_sets import check_prompt_set, record_prompt_set
    from sidebyside.foundation.readers import read_utf8
    from sidebyside.generate.engines import make_engine
    from sidebyside.generate.params import DecodingParams
    from sidebyside.generate.runner import plan_models, run_plans
    from sidebyside.generate.specs import parse_model_specs

    specs = parse_model_specs(model, engine=engine)
    if pairing not in ("all", "baseline"):
        raise InputError(f"--pairing must be 'all' or 'baseline', got {pairing!r}")
    names = [s.name for s in specs]
    if pairing == "baseline" and baseline not in names:  # checked before hours of generation
        raise InputError(
            "--pairing baseline needs --baseline NAME, one of the --model names: "
            + ", ".join(names)
        )
    try:
        params = DecodingParams(
            max_new_tokens=max_new_tokens,
            temperature=temperature,
            top_p=top_p,
            seed=seed,
            stop=tuple(stop),
            chat_template=not no_chat_template,
        )
    except ValidationError as exc:
        raise InputError(f"decoding parameters: {exc.errors()[0]['msg']}") from None
    system = read_utf8(system_prompt) if system_prompt else None
    prompt_file = read_prompt_file(prompts, system_prompt=system)
    options = {
        "device": device,
        "dtype": dtype,
        "batch_size": parse_batch_size(batch_size),
        "concurrency": concurrency,
    }
    texts = prompt_file.texts
    with open_session() as session:
        target, version = target_study(session, study, new_version=new_version)
        check_prompt_set(session, study=target, texts=texts)
        plans = plan_models(
            session,
            study=target,
            specs=specs,
            items=prompt_file.items,
            params=params,
            make_engine=lambda spec: make_engine(spec, params, **options),
            system_prompt=system,
            conversations=prompt_file.conversations,
        )
        if dry_run:
            for line in dry_run_lines(plans, params.max_new_tokens):
                typer.echo(line)
            session.rollback()  # a dry run stores nothing, not even the study
            return
        record_prompt_set(session, study=target, texts=texts, **version)
        study_id, study_name = target.id, target.name
    total = sum(p.to_generate for p in plans)
    with ProgressBar(total) as bar:
        report = run_plans(get_engine(), study_id=study_id, plans=plans, on_result=bar.update)
    with open_session() as session:
        from sidebyside.foundation.lookup import get_study

        imported = import_generated(
            session,
            study=get_study(session, study_id),
            plans=plans,
            prompts=prompt_file,
            pairing=pairing,
            baseline=baseline,
        )
    typer.echo(f"study {study_name!r}: {report.summary()}")
    if imported is not None:
        typer.echo(imported.summary())
    if report.failures:
        for f in report.failures[:20]:
            show_error(f"model {f.system!r}, prompt {f.prompt_id!r}: {f.error}")
        more = len(report.failures) - 20
        hidden = f" ({more} more not shown)" if more > 0 else ""
        show_error(
            f"{len(report.failures)} generation(s) failed{hidden}; what was generated is "
            "stored: run the same command again to retry the rest"
        )
        raise typer.Exit(code=EXIT_FAILURE)


def register(app: typer.Typer) -> None:
    app.command("generate")(generate)
