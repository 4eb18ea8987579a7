"""Issue 9 finding 2: 50 annotators as Streamlit runs them (threads over one engine) neither
run the connection pool dry nor lose or misreport a vote; on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlmodel import Session, select

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import get_engine, unit_of_work
from sidebyside.foundation.models import Assignment, Rating, Study
from sidebyside.foundation.settings import get_settings
from tests.conftest import make_long_csv

pytestmark = pytest.mark.slow  # a server's load: 50 annotators at once

SCORES = {c: {"A": 4, "B": 2} for c in ("Accuracy", "Relevance", "Format compliance", "Fluency")}
ANNOTATORS = 50


def check_invariants(engine, study, k: int, acknowledged: list[int]) -> None:
    """≤ k ratings per pair, no (pair, annotator) twice, every acknowledged vote stored and
    every stored vote acknowledged, no slot held twice."""
    with Session(engine) as s:
        ratings = s.exec(select(Rating).where(Rating.study_id == study.id)).all()
        slots = s.exec(
            select(Assignment.pair_id, Assignment.slot).where(
                Assignment.study_id == study.id, Assignment.slot.is_not(None)
            )
        ).all()
    per_pair = Counter(r.pair_id for r in ratings)
    assert max(per_pair.values(), default=0) <= k
    assert len({(r.pair_id, r.user_id) for r in ratings}) == len(ratings)
    assert sorted(r.id for r in ratings) == sorted(acknowledged)
    assert len(set(slots)) == len(slots)


def test_fifty_annotators_on_one_engine_hold_connections_at_once(engine, db_url):
    """All 50 sessions hold a connection at the same moment (the default pool was 5 + 10,
    so the 16th waited and timed out), and their votes all land."""
    assert engine.pool.size() == get_settings().db_pool_size >= 20
    with unit_of_work(engine) as s:
        study = create_study(s, name="load", k=3, seed=9)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(60))])
        people = [create_user(s, username=f"a{i}", password=None) for i in range(ANNOTATORS)]
    together = threading.Barrier(ANNOTATORS, timeout=60)
    acknowledged: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def annotator(user) -> None:
        try:
            with unit_of_work(get_engine(db_url)) as s:
                s.exec(select(Study.id)).all()  # a page run reading: its connection is held
                together.wait()  # every session holds a connection now
            for _ in range(3):
                with unit_of_work(get_engine(db_url)) as s:
                    a = next_assignment(s, study=study, user=user)
                if a is None:
                    return
                with unit_of_work(get_engine(db_url)) as s:
                    r = submit_rating(
                        s, assignment_id=a.id, user_id=user.id, preference="A", scores=SCORES
                    )
                with lock:
                    acknowledged.append(r.id)  # reported to the annotator as saved
        except BaseException as exc:  # noqa: BLE001 - every failure is reported below
            errors.append(exc)

    threads = [threading.Thread(target=annotator, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(acknowledged) == 150  # 60 pairs x k=3 = 180 places, 50 x 3 votes asked
    check_invariants(engine, study, 3, acknowledged)
