"""The demo study and its accounts, shipped inside the package so ``sidebyside init --demo``
works from any install."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sqlmodel import Session

from sidebyside.annotate.auth import create_user, get_user
from sidebyside.annotate.importing import import_paths
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.studies import create_study
from sidebyside.annotate.synthetic import simulate_sample_ratings
from sidebyside.foundation.enums import Role
from sidebyside.foundation.lookup import list_studies

DEMO_STUDY = "demo"
#: A second, clearly labelled study with simulated ratings, so a first start shows every
#: Results panel; never mixed into the demo study (its raters cannot log in).
SAMPLE_STUDY = "sample (simulated ratings)"
SAMPLE_RATERS = ("sample-rater1", "sample-rater2", "sample-rater3")
SAMPLE_JUDGE = "baseline:longest"
DEMO_DIR = Path(str(files("sidebyside.annotate") / "demo_data"))
DEMO_OUTPUTS = DEMO_DIR / "demo_outputs.csv"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    password: str
    role: str


def demo_accounts() -> list[DemoAccount]:
    """The demo logins (admin/admin and annotator1..3/demo)."""
    rows = json.loads((DEMO_DIR / "demo_accounts.json").read_text(encoding="utf-8"))
    return [DemoAccount(**row) for row in rows]


def load_demo(session: Session) -> str | None:
    """Create the demo study and accounts where missing; the import summary, or None when the
    study already existed. The caller commits."""
    summary = None
    study = next((s for s in list_studies(session) if s.name == DEMO_STUDY), None)
    if study is None:
        study = create_study(session, name=DEMO_STUDY, k=3, seed=2026)
        summary = import_paths(session, study=study, paths=[DEMO_OUTPUTS]).summary()
    for account in demo_accounts():
        if get_user(session, account.username) is None:
            # Published demo logins: the rules would refuse them, so the demo admin must
            # choose a real password at first login (annotate.auth.log_in).
            create_user(
                session,
                username=account.username,
                password=account.password,
                role=account.role,
                enforce_rules=False,
            )
        if account.role == Role.ANNOTATOR:  # the demo's annotators rate the demo study only
            add_member(session, study=study, username=account.username, actor="demo")
    load_sample(session)
    return summary


def load_sample(session: Session) -> str | None:
    """The sample study: the demo's outputs again, rated by three simulated sample raters
    and judged by a longest-answer baseline. None when it already existed."""
    if any(s.name == SAMPLE_STUDY for s in list_studies(session)):
        return None
    study = create_study(
        session,
        name=SAMPLE_STUDY,
        k=len(SAMPLE_RATERS),
        seed=7,
        description="Simulated ratings and judge verdicts, to show every Results panel. "
        "Not real data.",
    )
    import_paths(session, study=study, paths=[DEMO_OUTPUTS])
    raters = [
        get_user(session, name) or create_user(session, username=name, password=None)
        for name in SAMPLE_RATERS
    ]
    n_ratings, n_verdicts = simulate_sample_ratings(
        session, study=study, raters=raters, judge=SAMPLE_JUDGE, seed=7
    )
    return f"{n_ratings} simulated ratings, {n_verdicts} simulated {SAMPLE_JUDGE} verdicts"
