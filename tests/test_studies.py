"""Studies: creation, lookup, rubric rules, schema version."""

from __future__ import annotations

import pytest

from annotate.assignment import next_assignment, submit_rating
from annotate.auth import create_user
from annotate.db import SCHEMA_VERSION, init_db, schema_version
from annotate.rubric import Criterion, Rubric, default_rubric
from annotate.studies import create_study, get_study, study_rubric, update_study


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
    with pytest.raises(ValueError, match="r.json: not a valid rubric"):
        Rubric.from_file(bad)


def test_lookup_by_name_or_id_and_clear_error(session):
    study = create_study(session, name="alpha")
    assert get_study(session, "alpha").id == study.id
    assert get_study(session, str(study.id)).id == study.id
    with pytest.raises(LookupError, match="no study 'beta' \\(known studies: 'alpha'\\)"):
        get_study(session, "beta")
    with pytest.raises(ValueError, match="already exists"):
        create_study(session, name="alpha")


def test_rubric_is_editable_until_the_first_rating(session, study_with_pairs):
    study = study_with_pairs
    custom = Rubric(criteria=[Criterion(name="Helpfulness")], scale_max=7, allow_ties=False)
    update_study(session, study=study, rubric=custom, k=3)
    assert study_rubric(get_study(session, study.id)) == custom
    user = create_user(session, username="u", password="pass1234")
    a = next_assignment(session, study=study, user=user)
    submit_rating(
        session,
        assignment_id=a.id,
        user_id=user.id,
        preference="A",
        scores={"Helpfulness": {"A": 7, "B": 2}},
    )
    with pytest.raises(ValueError, match="already has ratings"):
        update_study(session, study=study, rubric=default_rubric())
    update_study(session, study=study, k=4)  # k may still change


def test_schema_version_recorded_and_init_is_idempotent(session, engine):
    assert schema_version(session) == SCHEMA_VERSION
    init_db(engine)
    assert schema_version(session) == SCHEMA_VERSION


def test_sqlite_pragmas(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() > 0
