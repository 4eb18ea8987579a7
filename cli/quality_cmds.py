"""``sidebyside gold``: known-answer pairs, their serving and the raters' accuracy on them
(annotate/gold.py, analysis/gold.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from sidebyside.cli.common import open_session

gold_app = typer.Typer(help="Gold pairs: known answers served blind to test raters.")


@gold_app.command("add")
def gold_add(
    study: str = typer.Argument(..., help="Study name or id."),
    file: Path = typer.Argument(
        ...,
        help="CSV/JSONL with prompt_id, system_a, system_b, expected (a, b, tie, a system "
        "name, or A>>B..B>>A on a five-level study) and optional tolerance ('not B') and note.",
    ),
) -> None:
    """Mark pairs of a study as gold (all or nothing)."""
    from sidebyside.annotate.gold import add_gold
    from sidebyside.foundation.errors import FileInputError
    from sidebyside.foundation.lookup import get_study

    try:
        data = file.read_bytes()
    except OSError as exc:
        raise FileInputError(str(file), f"cannot read the file: {exc.strerror}") from None
    with open_session() as session:
        report = add_gold(session, study=get_study(session, study), name=str(file), data=data)
    typer.echo(report.summary())


@gold_app.command("settings")
def gold_settings(
    study: str = typer.Argument(..., help="Study name or id."),
    rate: float | None = typer.Option(
        None, "--rate", help="Share of the pairs a rater is shown that are gold (0-1)."
    ),
    qualify: int | None = typer.Option(
        None, "--qualify", help="The first N pairs of every rater are gold (0: no qualification)."
    ),
    qualify_min: float | None = typer.Option(
        None,
        "--qualify-min",
        help="Accuracy a rater needs on them (0-1) to get further pairs; also the threshold "
        "of report --exclude-failed-gold.",
    ),
) -> None:
    """Show or change how a study serves its gold pairs."""
    from sidebyside.annotate.gold import set_gold_settings
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        row = set_gold_settings(
            session,
            study=get_study(session, study),
            rate=rate,
            qualify_n=qualify,
            qualify_min=qualify_min,
        )
        line = f"gold rate {row.rate:g}; qualification: " + (
            f"first {row.qualify_n} pairs, {row.qualify_min:.0%} needed" if row.qualify_n else "off"
        )
    typer.echo(line)


@gold_app.command("accuracy")
def gold_accuracy_command(study: str = typer.Argument(..., help="Study name or id.")) -> None:
    """Each rater's accuracy on the gold pairs, with its Wilson interval."""
    from sidebyside.analysis.gold import gold_accuracy
    from sidebyside.analysis.gold_reading import gold_threshold, load_gold_answers
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        st = get_study(session, study)
        rows = gold_accuracy(
            load_gold_answers(session, st.id), threshold=gold_threshold(session, st.id)
        )
    if not rows:
        typer.echo("no answers on gold pairs yet")
    for r in rows:
        typer.echo(
            f"{r['annotator']:<20} {r['right']}/{r['n']}  accuracy {r['accuracy']:.3f}  "
            f"[{r['ci_low']:.3f}, {r['ci_high']:.3f}]  {'passed' if r['passed'] else 'BELOW'}"
        )


review_app = typer.Typer(help="Adjudication: disputed pairs and the reviewers' verdicts.")


@review_app.command("list")
def review_list(
    study: str = typer.Argument(..., help="Study name or id."),
    judge: str | None = typer.Option(
        None, help="Judge whose disagreement with the humans to list."
    ),
) -> None:
    """The pairs where the humans split, or the human majority and the judge disagree."""
    from sidebyside.annotate.adjudication import disputed_pairs
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        rows = disputed_pairs(session, study=get_study(session, study), judge=judge)
    if not rows:
        typer.echo("no disputed pairs")
    for r in rows:
        votes = " ".join(f"{k}={v}" for k, v in r["votes"].items())
        typer.echo(
            f"pair {r['pair_id']:>6}  prompt {r['prompt']:<20} {votes}  "
            f"judge {r['judge_winner'] or '-'}  {', '.join(r['reasons'])}"
            + (f"  adjudicated {r['adjudicated']}" if r["adjudicated"] else "")
        )


@review_app.command("settings")
def review_settings_command(
    study: str = typer.Argument(..., help="Study name or id."),
    blinded: bool | None = typer.Option(
        None, "--blinded/--unblinded", help="Show reviewers the outputs blinded or by system."
    ),
    judge: str | None = typer.Option(None, help="The judge the Review page compares with."),
    min_agreement: float | None = typer.Option(
        None, help="A pair is split when its most frequent answer has a smaller share."
    ),
) -> None:
    """Show or change how the Review page lists and shows disputed pairs."""
    from sidebyside.annotate.adjudication import set_review_settings
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        row = set_review_settings(
            session,
            study=get_study(session, study),
            blinded=blinded,
            judge=judge,
            min_agreement=min_agreement,
        )
        typer.echo(
            f"review: {'blinded' if row.blinded else 'unblinded'}; judge {row.judge or '-'}; "
            f"split below {row.min_agreement if row.min_agreement else 'a strict majority'}"
        )


crowd_app = typer.Typer(help="Crowd participants: join links for Prolific, MTurk and the like.")


@crowd_app.command("open")
def crowd_open(
    study: str = typer.Argument(..., help="Study name or id."),
    quota: int = typer.Option(..., "--quota", help="Pairs each participant rates."),
    completion_code: str = typer.Option("", "--completion-code", help="Shown when done."),
    redirect_url: str = typer.Option("", "--redirect-url", help="Where 'done' sends them."),
    id_param: str = typer.Option(
        "PROLIFIC_PID",
        "--id-param",
        help="Query parameter of the id (MTurk: workerId).",
    ),
    param: list[str] = typer.Option(
        ["STUDY_ID", "SESSION_ID"],
        "--param",
        help="Other query parameters to keep (MTurk: assignmentId, hitId).",
    ),
) -> None:
    """Open a join link; its address is printed once."""
    from sidebyside.annotate.crowd import open_link
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        link, token = open_link(
            session,
            study=get_study(session, study),
            quota=quota,
            completion_code=completion_code,
            redirect_url=redirect_url,
            id_param=id_param,
            extra_params=tuple(param),
        )
        link_id = link.id
    query = "&".join(f"{p}={{{{%{p}%}}}}" for p in (id_param, *param))
    typer.echo(f"link {link_id}: /join/{token}?{query}")
    typer.echo("(the token is shown once; append the path to the app's address)")


@crowd_app.command("close")
def crowd_close(link: int = typer.Argument(..., help="The link's number.")) -> None:
    """Close a join link: nobody new joins through it."""
    from sidebyside.annotate.crowd import close_link

    with open_session() as session:
        close_link(session, link_id=link)
    typer.echo(f"link {link} closed")


@crowd_app.command("list")
def crowd_list(study: str = typer.Argument(..., help="Study name or id.")) -> None:
    """A study's join links, with participants and completions."""
    from sidebyside.annotate.crowd import links
    from sidebyside.foundation.lookup import get_study

    with open_session() as session:
        rows = links(session, get_study(session, study).id)
    for r in rows:
        typer.echo(
            f"link {r['link']}: quota {r['quota']}, {r['participants']} participants, "
            f"{r['completed']} completed, id {r['id_param']}{', closed' if r['closed'] else ''}"
        )


def register(app: typer.Typer) -> None:
    app.add_typer(gold_app, name="gold")
    app.add_typer(review_app, name="review")
    app.add_typer(crowd_app, name="crowd")
