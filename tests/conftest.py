"""Shared fixtures: a fresh SQLite database per test, pointed to by SIDEBYSIDE_DATABASE_URL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.foundation.db import drop_schema, get_engine, init_db
from sidebyside.foundation.settings import get_settings

ROOT = Path(__file__).resolve().parent.parent


#: A PostgreSQL URL (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test; `.ci/run` starts a
#: throwaway cluster and sets it): every database test then runs twice, on a fresh SQLite file
#: and on PostgreSQL (its tables are dropped first).
PG_URL = os.environ.get("SIDEBYSIDE_TEST_POSTGRES_URL")


def _worker_database(url: str, worker: str) -> str:
    """A database of its own for one pytest-xdist worker (``sidebyside_test_gw1``), made on
    first use, so that two workers never empty each other's tables mid-test."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    name = f"{base.database}_{worker}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            found = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if found.first() is None:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


if PG_URL and (WORKER := os.environ.get("PYTEST_XDIST_WORKER")):
    PG_URL = _worker_database(PG_URL, WORKER)
    # test modules that read the variable themselves (the nginx and two-server tests) too
    os.environ["SIDEBYSIDE_TEST_POSTGRES_URL"] = PG_URL
BACKENDS = ["sqlite", "postgresql"] if PG_URL else ["sqlite"]


def _reset_postgres(url: str) -> None:
    eng = get_engine(url)
    drop_schema(eng)  # tables of a newer schema a previous test may have left
    eng.dispose()


@pytest.fixture(params=BACKENDS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The database URL of one test: a fresh SQLite file, or the scratch PostgreSQL database
    emptied for it."""
    url = PG_URL if request.param == "postgresql" else f"sqlite:///{tmp_path / 'test.db'}"
    get_engine.cache_clear()
    if request.param == "postgresql":
        _reset_postgres(url)
    monkeypatch.setenv("SIDEBYSIDE_DATABASE_URL", url)
    get_settings.cache_clear()
    get_engine.cache_clear()
    yield url
    get_engine(url).dispose()
    get_settings.cache_clear()
    get_engine.cache_clear()


@pytest.fixture
def engine(db_url: str) -> Engine:
    return init_db(get_engine(db_url))


@pytest.fixture
def session(engine: Engine) -> Iterator[Session]:
    with Session(engine, expire_on_commit=False) as s:
        yield s


def make_long_csv(n_prompts: int, systems: tuple[str, ...] = ("base", "tuned")) -> bytes:
    """A long-format file: every system answers every prompt."""
    import csv
    import io

    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["prompt_id", "prompt", "system", "output", "reference"])
    for i in range(n_prompts):
        for s in systems:
            w.writerow([f"p{i}", f"Question {i}?", s, f"{s} answer to {i}", f"ref {i}"])
    return buf.getvalue().encode()


@pytest.fixture
def study_with_pairs(session: Session):
    """A study with 20 prompts × (base, tuned) = 20 pairs, k=2."""
    from sidebyside.annotate.importing import import_sources
    from sidebyside.annotate.studies import create_study

    study = create_study(session, name="s", k=2, seed=1)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(20))])
    return study


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test`` runs ``-n auto --dist loadgroup``): a module's tests
    stay on one worker, so a module's server or model is built once; and every browser test
    shares one worker, so two headless Chromiums and their servers never compete for the
    cores and push each other past their waits."""
    for item in items:
        group = "browser" if item.get_closest_marker("browser") else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(group))
