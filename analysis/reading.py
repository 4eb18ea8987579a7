"""What the frame loaders share: a session from a Session or an Engine, a study from a row,
id or name, and a Core select run straight into a DataFrame."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd
from sqlalchemy import Select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import Study


@contextmanager
def as_session(source: Session | Engine) -> Iterator[Session]:
    """Use a given session, or open (and close) one on an engine."""
    if isinstance(source, Session):
        yield source
    else:
        with Session(source) as session:
            yield session


def resolve_study(session: Session, study: Study | int | str) -> Study:
    """A Study row from a row, an id or a name (``NotFound`` listing the known names)."""
    if isinstance(study, Study):
        return study
    return get_study(session, study)


def select_frame(session: Session, stmt: Select, columns: Sequence[str]) -> pd.DataFrame:
    """Run a Core select (no ORM row building) into a DataFrame with these column names."""
    rows = session.connection().execute(stmt).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=list(columns))


def utc_timestamps(values: pd.Series) -> pd.Series:
    """Stored timestamps (text on SQLite, datetimes elsewhere) as UTC datetimes, vectorised."""
    return pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")
