"""import-ratings: all or nothing, located errors, imported annotators cannot log in."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select

from sidebyside.annotate.export import export_frame, write_export
from sidebyside.annotate.rating_import import import_ratings
from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.models import Rating, User
from tests.analysis_helpers import build_study, pair_of

HEADER = "prompt_id,system_a,system_b,annotator,winner,accuracy_a,accuracy_b,comment\n"


@pytest.fixture
def built(session):
    return build_study(session, flip={1})


def ratings(session):
    return list(session.exec(select(Rating).order_by(Rating.id)))


def test_csv_import_maps_to_canonical_order(session, built):
    data = (
        HEADER + "p0,base,tuned,alice,tuned,2,5,ok\n"
        "p1,base,tuned,alice,b,3,4,\n"  # pair 1 is stored tuned-vs-base
        "p1,tuned,base,bob,tie,,,\n"
        "p2,base,tuned,bob,base,1,1,\n"
    ).encode()
    rep = import_ratings(session, study=built.study, name="r.csv", data=data)
    assert rep.ratings_added == 4 and rep.annotators_created == ["alice", "bob"]
    rows = ratings(session)
    p1, base_first = pair_of(built, 1, "base", "tuned")
    assert not base_first
    r = next(x for x in rows if x.pair_id == p1 and x.preference != "tie")
    assert r.preference == "a"  # tuned won, tuned is canonical a
    assert r.scores == {"Accuracy": {"a": 4, "b": 3}}
    assert rows[0].preference == "b" and rows[0].comment == "ok" and rows[0].source == "import"
    assert rows[0].swapped is None
    users = {u.username: u for u in session.exec(select(User))}
    assert users["alice"].password_hash is None and users["alice"].role == "annotator"
    from sidebyside.annotate.auth import authenticate

    assert authenticate(session, username="alice", password="") is None


def test_jsonl_import(session, built):
    lines = [
        {
            "prompt_id": "p0",
            "system_a": "base",
            "system_b": "tuned",
            "annotator": "carol",
            "winner": "a",
            "Fluency_a": 5,
            "Fluency_b": 3,
            "time_spent_s": 4.5,
            "created_at": "2024-05-01T12:00:00+02:00",
        },
    ]
    data = "\n".join(json.dumps(x) for x in lines).encode()
    import_ratings(session, study=built.study, name="r.jsonl", data=data)
    (r,) = ratings(session)
    assert r.scores == {"Fluency": {"a": 5, "b": 3}} and r.time_spent_s == 4.5
    from datetime import UTC

    created = r.created_at if r.created_at.tzinfo else r.created_at.replace(tzinfo=UTC)
    assert created.astimezone(UTC).isoformat() == "2024-05-01T10:00:00+00:00"


@pytest.mark.parametrize(
    ("row", "line", "column", "message"),
    [
        ("p9,base,tuned,a1,a,,,", 3, "prompt_id", "unknown prompt_id 'p9'"),
        ("p0,base,gpt,a1,a,,,", 3, "system_b", "unknown system 'gpt'"),
        ("p0,base,base,a1,a,,,", 3, "system_b", "on both sides"),
        ("p0,base,tuned,a1,maybe,,,", 3, "winner", "winner 'maybe' is not a, b, tie"),
        ("p0,base,tuned,a1,a,6,,", 3, "accuracy_a", "whole number from 1 to 5"),
        ("p0,base,tuned,a1,a,x,,", 3, "accuracy_a", "'x' is not a number"),
        ("p0,base,tuned,,a,,,", 3, "annotator", "'annotator' is empty"),
        ("p0,base,tuned,bad name,a,,,", 3, "annotator", "invalid annotator name"),
        ("p1,base,tuned,u1,a,,,", 3, "annotator", "already rated this pair on line 2"),
    ],
)
def test_errors_are_located_and_nothing_is_written(session, built, row, line, column, message):
    data = (HEADER + "p1,tuned,base,u1,a,,,\n" + row + "\n").encode()
    with pytest.raises(FileInputError) as exc:
        import_ratings(session, study=built.study, name="r.csv", data=data)
    err = exc.value
    assert (err.file, err.line, err.column) == ("r.csv", line, column)
    assert message in str(err)
    assert ratings(session) == [] and session.exec(select(User)).first() is None


def test_header_problems(session, built):
    with pytest.raises(FileInputError, match="missing column.*winner"):
        import_ratings(
            session,
            study=built.study,
            name="r.csv",
            data=b"prompt_id,system_a,system_b,annotator\n",
        )
    with pytest.raises(FileInputError, match="unknown column 'speed_a'") as exc:
        import_ratings(
            session,
            study=built.study,
            name="r.csv",
            data=b"prompt_id,system_a,system_b,annotator,winner,speed_a\n",
        )
    assert exc.value.line == 1
    with pytest.raises(FileInputError, match="malformed JSON") as exc:
        import_ratings(session, study=built.study, name="r.jsonl", data=b'{"prompt_id": 1}\n{x')
    assert exc.value.line == 2


def test_existing_rating_is_an_error(session, built):
    data = (HEADER + "p0,base,tuned,alice,a,,,\n").encode()
    import_ratings(session, study=built.study, name="r.csv", data=data)
    with pytest.raises(FileInputError, match="already has a rating"):
        import_ratings(session, study=built.study, name="r.csv", data=data)
    assert len(ratings(session)) == 1


def test_export_reimports_into_another_study(session, built):
    data = (HEADER + "p0,base,tuned,alice,tuned,2,5,nice\np1,tuned,base,bob,tie,3,3,\n").encode()
    import_ratings(session, study=built.study, name="r.csv", data=data)
    exported = export_frame(session, built.study, "ratings")
    other = build_study(session, name="copy", flip={1})
    csv_bytes = write_export(exported, "csv")
    rep = import_ratings(session, study=other.study, name="export.csv", data=csv_bytes)
    assert rep.ratings_added == 2 and rep.annotators_created == []
    again = export_frame(session, other.study, "ratings")
    cols = [
        "prompt_id",
        "annotator",
        "system_a",
        "system_b",
        "winner",
        "Accuracy_a",
        "Accuracy_b",
        "comment",
    ]
    assert again[cols].to_dict("records") == exported[cols].to_dict("records")
