"""Core commands: init, study, import, annotators."""

from __future__ import annotations

from pathlib import Path

import typer

from sidebyside.cli.common import open_session

study_app = typer.Typer(help="Create and inspect studies.", no_args_is_help=True)
annotators_app = typer.Typer(help="Manage annotator and admin accounts.", no_args_is_help=True)


def init(
    demo: bool = typer.Option(False, "--demo", help="Also load the demo study and accounts."),
) -> None:
    """Create the database (and, with --demo, the demo study and accounts) if missing."""
    from sidebyside.annotate.demo import DEMO_STUDY, demo_accounts, load_demo
    from sidebyside.foundation.lookup import list_studies
    from sidebyside.foundation.settings import get_settings

    with open_session() as session:
        typer.echo(f"database ready: {get_settings().database_url}")
        if not demo:
            return
        before = {s.name for s in list_studies(session)}
        summary = load_demo(session)
        made = [s.name for s in list_studies(session) if s.name not in before]
        typer.echo(
            "studies made: " + ", ".join(repr(n) for n in made)
            if made
            else "studies made: none (the demo's studies were there already)"
        )
        if summary is not None:
            typer.echo(f"demo study {DEMO_STUDY!r}: {summary}")
        typer.echo("demo logins (public: each must choose a new password at its first login):")
        for a in demo_accounts():
            typer.echo(f"  {a.username:<12} password {a.password!r:<8} ({a.role})")


@study_app.command("create")
def study_create(
    name: str = typer.Argument(..., help="Unique study name."),
    rubric: Path | None = typer.Option(None, help="Rubric JSON file (default rubric if omitted)."),
    k: int = typer.Option(3, "--k", min=1, help="Distinct annotators each pair needs."),
    seed: int | None = typer.Option(None, help="Seed of shuffles and side assignment."),
    allocation: str = typer.Option(
        "uniform",
        help="Order claims take the pairs in: 'uniform' (each annotator's shuffle) or "
        "'adaptive' (first the system pairs whose next vote narrows the widest Bradley-Terry "
        "intervals most; with two systems it is uniform).",
    ),
    preference_levels: int = typer.Option(
        3,
        "--preference-levels",
        help="3: A / tie / B; 5: A much better, A better, tie, B better, B much better.",
    ),
    base: str | None = typer.Option(
        None,
        "--base",
        help="The system the evaluation card compares every other with (default: the first).",
    ),
) -> None:
    """Create a study."""
    from sidebyside.annotate.studies import allocation_note, create_study
    from sidebyside.foundation.rubric import Rubric

    parsed = Rubric.from_file(rubric) if rubric else None
    with open_session() as session:
        study = create_study(
            session,
            name=name,
            rubric=parsed,
            k=k,
            seed=seed,
            allocation=allocation,
            preference_levels=preference_levels,
            base=base,
        )
        note = allocation_note(session, study)
    typer.echo(
        f"created study {study.name!r} (id {study.id}, k={study.k}, allocation {study.allocation})"
    )
    if note:
        typer.echo(f"note: {note}")


@study_app.command("close")
def study_close(
    name: str = typer.Argument(..., help="Study name or id."),
    reopen: bool = typer.Option(False, "--reopen", help="Open a closed study again."),
) -> None:
    """Close a study: it hands out no more pairs, takes no invites, and annotators no longer
    see it (admins still do; its ratings and results stay)."""
    from sidebyside.annotate.membership import set_closed
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        study = get_study(session, name)
        released = set_closed(session, study=study, closed=not reopen)
    if reopen:
        typer.echo(f"study {study.name!r} is open again")
    else:
        typer.echo(f"closed study {study.name!r} ({released} open pair(s) released)")


@study_app.command("members")
def study_members(name: str = typer.Argument(..., help="Study name or id.")) -> None:
    """List the annotators who are members of a study."""
    from sidebyside.annotate.membership import members
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        study = get_study(session, name)
        names = [u.username for u in members(session, study.id)]
    typer.echo("\n".join(names) if names else f"study {study.name!r} has no members yet")


@study_app.command("list")
def study_list() -> None:
    """List studies with their pair and rating counts."""
    from sidebyside.annotate.progress import study_progress
    from sidebyside.annotate.studies import allocation_note
    from sidebyside.foundation.lookup import list_studies

    with open_session() as session:
        for study in list_studies(session):
            p = study_progress(session, study=study)
            typer.echo(
                f"{study.id:>4}  {study.name:<30} pairs {p['pairs']:>6}  k={study.k}  "
                f"ratings {p['ratings']}/{p['ratings_needed']}  {study.allocation}"
            )
            if note := allocation_note(session, study):
                typer.echo(f"      note: {note}")


def import_(
    study: str = typer.Argument(..., help="Study name or id."),
    files: list[Path] = typer.Argument(
        ...,
        help="CSV, JSONL or alpaca_eval JSON files, or conversation answers (MT-Bench's "
        "model_answer/<model>.jsonl, chat 'messages' records).",
    ),
    pairing: str = typer.Option(
        "all", help="Long/alpaca files: 'all' pairs of systems, or 'baseline' pairs only."
    ),
    baseline: str | None = typer.Option(None, help="Baseline system for --pairing baseline."),
    prompts: list[Path] = typer.Option(
        [],
        "--prompts",
        help="Conversation prompts (MT-Bench's question.jsonl, or 'messages' records) that "
        "the answer files answer, turn by turn. Repeatable.",
    ),
    references: list[Path] = typer.Option(
        [],
        "--references",
        help="Reference answers in MT-Bench's answer format (reference_answer/gpt-4.jsonl): "
        "each turn's answer is that turn's reference. Repeatable.",
    ),
) -> None:
    """Import model outputs into a study (all or nothing); conversations pair turn by turn."""
    from sidebyside.annotate.importing import import_paths
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        target = get_study(session, study)
        report = import_paths(
            session,
            study=target,
            paths=files,
            pairing=pairing,
            baseline=baseline,
            prompts=prompts,
            references=references,
        )
    for name, fmt in report.files:
        typer.echo(f"{name}: {fmt} format")
    typer.echo(report.summary())


@annotators_app.command("add")
def annotators_add(
    username: str = typer.Argument(...),
    admin: bool = typer.Option(False, "--admin", help="Give the account the admin role."),
    password: str | None = typer.Option(
        None, help="Password (prompted, hidden, when omitted).", show_default=False
    ),
    study: list[str] = typer.Option(
        [],
        "--study",
        help="Make the annotator a member of this study (repeatable); an existing account "
        "just joins it. Annotators see and rate only their studies.",
    ),
) -> None:
    """Create an account, and/or add an annotator to studies."""
    from sidebyside.annotate.auth import create_user, get_user
    from sidebyside.annotate.membership import add_member
    from sidebyside.foundation.enums import Role
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        targets = [get_study(session, ref) for ref in study]  # unknown studies: nothing made
        user = get_user(session, username) if study else None
        if user is None:
            if password is None:
                password = typer.prompt("password", hide_input=True, confirmation_prompt=True)
            user = create_user(
                session,
                username=username,
                password=password,
                role=Role.ADMIN if admin else Role.ANNOTATOR,
            )
            typer.echo(f"created {user.role} {user.username!r}")
        for target in targets:
            added = add_member(session, study=target, username=user.username, actor="cli")
            word = "is now a member" if added else "was already a member"
            typer.echo(f"{user.username!r} {word} of study {target.name!r}")


@annotators_app.command("remove")
def annotators_remove(
    username: str = typer.Argument(...),
    study: str = typer.Option(..., "--study", help="The study to take the annotator off."),
) -> None:
    """Take an annotator off a study (their ratings stay; an open pair is released)."""
    from sidebyside.annotate.membership import remove_member
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        target = get_study(session, study)
        removed = remove_member(session, study=target, username=username)
    word = "is no longer a member" if removed else "was not a member"
    typer.echo(f"{username!r} {word} of study {target.name!r}")


@annotators_app.command("list")
def annotators_list() -> None:
    """List accounts."""
    from sidebyside.annotate.auth import list_users

    with open_session() as session:
        for user in list_users(session):
            login = "can log in" if user.password_hash and user.active else "no login"
            typer.echo(f"{user.username:<24} {user.role:<10} {login}")


@annotators_app.command("role")
def annotators_role(
    username: str = typer.Argument(...),
    role: str = typer.Argument(..., help="admin or annotator"),
) -> None:
    """Change an account's role."""
    from sidebyside.annotate.auth import get_user, set_role
    from sidebyside.foundation.errors import NotFound

    with open_session() as session:
        user = get_user(session, username)
        if user is None:
            raise NotFound(f"no user {username!r}")
        set_role(session, user=user, role=role, actor="cli")
    typer.echo(f"{username!r} is now {role}")


@annotators_app.command("invite")
def annotators_invite(
    admin: bool = typer.Option(False, "--admin", help="Invite an admin."),
    hours: float = typer.Option(72, help="Hours until the link expires."),
    study: str | None = typer.Option(
        None, "--study", help="The new annotator joins this study (not a closed one)."
    ),
) -> None:
    """Print a one-time invite token (open the app at /?invite=TOKEN to use it)."""
    from sidebyside.annotate.auth import create_invite
    from sidebyside.foundation.enums import Role
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        target = get_study(session, study) if study is not None else None
        token = create_invite(
            session, role=Role.ADMIN if admin else Role.ANNOTATOR, hours=hours, study=target
        )
    typer.echo(token)


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.command("import")(import_)
    app.add_typer(study_app, name="study")
    app.add_typer(annotators_app, name="annotators")
