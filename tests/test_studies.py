"""Studies: creation, lookup, rubric rules, schema version."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study, update_study
from sidebyside.foundation.db import init_db, schema_version
from sidebyside.foundation.errors import ConfigError, InputError, NotFound
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.migrations.legacy import SCHEMA_VERSION
from sidebyside.foundation.models import Pair, Prompt, Rating
from sidebyside.foundation.rubric import Criterion, Rubric, default_rubric, rubric_of
from tests.conftest import make_long_csv


def test_default_rubric_has_the_four_criteria():
    rubric = default_rubric()
    assert rubric.names == ["Accuracy", "Relevance", "Format compliance", "Fluency"]
    assert (rubric.scale_min, rubric.scale_max, rubric.allow_ties) == (1, 5, True)
    assert all(c.description for c in rubric.criteria)


def test_rubric_validation(tmp_path):
    with pytest.raises(ValueError, match="duplicate criterion names: a"):
        Rubric(criteria=[Criterion(name="A"), Criterion(name="a")])
    with pytest.raises(ValueError, match="scale_max"):
        Rubric(criteria=[Criterion(name="x")], scale_min=3, scale_max=3)
    bad = tmp_path / "r.json"
    bad.write_text('{"criteria": [], "colour": "red"}')
    with pytest.raises(InputError, match="r.json: not a valid rubric"):
        Rubric.from_file(bad)


def test_lookup_by_name_or_id_and_clear_error(session):
    study = create_study(session, name="alpha")
    assert get_study(session, "alpha").id == study.id
    assert get_study(session, str(study.id)).id == study.id
    with pytest.raises(NotFound, match="no study 'beta' \\(known studies: 'alpha'\\)"):
        get_study(session, "beta")
    with pytest.raises(InputError, match="already exists"):
        create_study(session, name="alpha")


def test_rubric_is_editable_until_the_first_rating(session, study_with_pairs):
    study = study_with_pairs
    custom = Rubric(criteria=[Criterion(name="Helpfulness")], scale_max=7, allow_ties=False)
    update_study(session, study=study, rubric=custom, k=3)
    assert rubric_of(get_study(session, study.id)) == custom
    user = create_user(session, username="u", password="pass1234-xyz")
    a = next_assignment(session, study=study, user=user)
    submit_rating(
        session,
        assignment_id=a.id,
        user_id=user.id,
        preference="A",
        scores={"Helpfulness": {"A": 7, "B": 2}},
    )
    with pytest.raises(InputError, match="already has ratings"):
        update_study(session, study=study, rubric=default_rubric())
    update_study(session, study=study, k=4)  # k may still change


def test_schema_version_recorded_and_init_is_idempotent(session, engine):
    assert schema_version(session) == SCHEMA_VERSION
    init_db(engine)
    assert schema_version(session) == SCHEMA_VERSION


def test_a_version_1_database_is_migrated_without_losing_ratings(tmp_path):
    """A database made before prompts had a category gains the column; every row stays."""
    from sqlalchemy import inspect, text

    from sidebyside.foundation.db import get_engine

    engine = init_db(get_engine(f"sqlite:///{tmp_path / 'old.db'}"))
    with Session(engine) as s:
        study = create_study(s, name="old", k=1)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(3))])
        user = create_user(s, username="rater", password=None)
        pair = s.exec(select(Pair)).first()
        s.add(Rating(study_id=study.id, pair_id=pair.id, user_id=user.id, preference="a"))
        s.commit()
    with engine.begin() as conn:  # turn it into what version 1 wrote
        conn.execute(text("ALTER TABLE prompt DROP COLUMN category"))
        conn.execute(text("UPDATE meta SET value = '1' WHERE key = 'schema_version'"))
    assert "category" not in {c["name"] for c in inspect(engine).get_columns("prompt")}
    init_db(engine)
    assert "category" in {c["name"] for c in inspect(engine).get_columns("prompt")}
    with Session(engine) as s:
        assert schema_version(s) == SCHEMA_VERSION
        assert len(s.exec(select(Rating)).all()) == 1
        prompts = s.exec(select(Prompt)).all()
        assert len(prompts) == 3 and {p.category for p in prompts} == {None}
    engine.dispose()


def test_a_newer_database_is_refused(tmp_path):
    from sqlalchemy import text

    from sidebyside.foundation.db import get_engine

    engine = init_db(get_engine(f"sqlite:///{tmp_path / 'new.db'}"))
    with engine.begin() as conn:
        conn.execute(text("UPDATE meta SET value = '99' WHERE key = 'schema_version'"))
    with pytest.raises(ConfigError, match="schema version 99 is newer"):
        init_db(engine)
    engine.dispose()


def test_sqlite_pragmas(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0


def test_services_leave_the_commit_to_the_unit_of_work(engine):
    """A failing edge undoes every service write of its unit of work, savepoints included
    (on SQLite a savepoint opened first must not commit on its own)."""
    from sidebyside.annotate.auth import get_user
    from sidebyside.foundation.db import unit_of_work
    from sidebyside.foundation.models import Study, User

    with pytest.raises(RuntimeError), unit_of_work(engine) as s:
        create_user(s, username="first", password="pass1234-xyz")  # a savepoint is its first write
        study = create_study(s, name="gone")
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(2))])
        raise RuntimeError("the command failed")
    with Session(engine) as s:
        assert get_user(s, "first") is None
        assert not s.exec(select(Study)).all() and not s.exec(select(Prompt)).all()
    with unit_of_work(engine) as s:
        create_user(s, username="first", password="pass1234-xyz")
        create_study(s, name="kept")
    with Session(engine) as s:
        assert [u.username for u in s.exec(select(User))] == ["first"]
        assert [x.name for x in s.exec(select(Study))] == ["kept"]
