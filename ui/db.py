"""The app's database: one cached engine per process and the unit of work of a page or
callback."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import streamlit as st
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.foundation.settings import get_settings


@st.cache_resource(show_spinner=False, max_entries=8)
def _engine_for(url: str) -> Engine:
    return init_db(get_engine(url))


def get_engine_cached() -> Engine:
    """The process-wide engine for the configured database, tables created once."""
    return _engine_for(get_settings().database_url)


@contextmanager
def db_session() -> Iterator[Session]:
    """The page's (or callback's) unit of work on the cached engine: committed when the block
    ends, rolled back if it raises; objects stay readable afterwards. Keep it short, and keep
    ``st.rerun()``/``st.stop()`` outside it (they raise, so they would roll it back)."""
    with unit_of_work(get_engine_cached()) as session:
        yield session
