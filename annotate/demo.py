"""The demo study and its accounts, shipped inside the package so ``sidebyside init --demo``
works from any install."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from sqlmodel import Session

from annotate.auth import create_user, get_user
from annotate.importing import import_paths
from annotate.studies import create_study, list_studies

DEMO_STUDY = "demo"
DEMO_DIR = Path(str(files("annotate") / "demo_data"))
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
    if not any(s.name == DEMO_STUDY for s in list_studies(session)):
        study = create_study(session, name=DEMO_STUDY, k=3, seed=2026)
        summary = import_paths(session, study=study, paths=[DEMO_OUTPUTS]).summary()
    for account in demo_accounts():
        if get_user(session, account.username) is None:
            create_user(
                session, username=account.username, password=account.password, role=account.role
            )
    return summary
