"""Assignment rules: k, no repeats, races, balance, shuffles, leases, resume, blinding."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, func, select

from sidebyside.annotate.assignment import next_assignment, skip_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.blinding import blind_view, queue_plan, to_canonical, to_shown
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.progress import my_progress, study_progress
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.errors import AssignmentError
from sidebyside.foundation.models import Assignment, Output, Pair, Rating, System, utcnow
from tests.conftest import make_long_csv

SCORES = {c: {"A": 4, "B": 3} for c in ("Accuracy", "Relevance", "Format compliance", "Fluency")}


def users(session: Session, n: int):
    return [create_user(session, username=f"u{i}", password="pass1234-xyz") for i in range(n)]


def rate(session: Session, study, user, preference: str = "A"):
    a = next_assignment(session, study=study, user=user)
    if a is None:
        return None
    return submit_rating(
        session, assignment_id=a.id, user_id=user.id, preference=preference, scores=SCORES
    )


def test_queue_plan_is_a_balanced_seeded_permutation():
    ids = list(range(101))
    plan = queue_plan(3, 9, ids)
    assert sorted(p for p, _ in plan) == ids
    assert sum(s for _, s in plan) == 50
    assert plan == queue_plan(3, 9, ids[::-1])
    assert [p for p, _ in plan] != [p for p, _ in queue_plan(3, 10, ids)]  # per annotator
    assert [p for p, _ in plan] != [p for p, _ in queue_plan(4, 9, ids)]  # per study seed


def test_each_pair_gets_exactly_k_distinct_annotators_and_no_repeats(session, study_with_pairs):
    study = study_with_pairs  # 20 pairs, k=2
    people = users(session, 4)
    done = Counter()
    for _round in range(30):
        for u in people:
            if rate(session, study, u) is not None:
                done[u.id] += 1
    ratings = list(session.exec(select(Rating)))
    assert len(ratings) == 20 * 2
    per_pair = Counter(r.pair_id for r in ratings)
    assert set(per_pair.values()) == {2}
    assert len({(r.pair_id, r.user_id) for r in ratings}) == len(ratings)
    for u in people:  # and then there is nothing left for anyone
        assert next_assignment(session, study=study, user=u) is None


def test_sides_balanced_and_order_shuffled_per_annotator(session):
    study = create_study(session, name="bal", k=5, seed=11)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(40))])
    base = session.exec(select(System).where(System.name == "base")).one()
    base_outputs = {o.id for o in session.exec(select(Output).where(Output.system_id == base.id))}
    orders = []
    for u in users(session, 3):
        seen, left_base = [], 0
        while (a := next_assignment(session, study=study, user=u)) is not None:
            pair = session.get(Pair, a.pair_id)
            left = pair.output_b_id if a.swapped else pair.output_a_id
            left_base += left in base_outputs
            seen.append(a.pair_id)
            submit_rating(
                session, assignment_id=a.id, user_id=u.id, preference="tie", scores=SCORES
            )
        assert len(seen) == 40 and left_base == 20  # base on the left exactly half the time
        orders.append(seen)
    assert orders[0] != orders[1] != orders[2]


def test_race_for_the_last_slot_never_exceeds_k(session, engine):
    study = create_study(session, name="race", k=3, seed=5)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(1))])  # one pair
    people = users(session, 12)
    session.commit()  # the workers' sessions must see the study, its pair and the accounts
    barrier = threading.Barrier(len(people))
    got: list[int] = []
    errors: list[BaseException] = []

    def worker(user) -> None:
        try:
            with unit_of_work(engine) as s:  # as the page's vote callback does
                barrier.wait()
                a = next_assignment(s, study=study, user=user)
                if a is not None:
                    submit_rating(
                        s, assignment_id=a.id, user_id=user.id, preference="B", scores=SCORES
                    )
                    got.append(user.id)
        except BaseException as exc:  # pragma: no cover - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(u,)) for u in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(got) == 3
    assert session.exec(select(func.count()).select_from(Rating)).one() == 3


def test_abandoned_pair_is_handed_on_after_the_lease(session):
    study = create_study(session, name="lease", k=1, seed=2)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(1))])
    alice, bob = users(session, 2)
    first = next_assignment(session, study=study, user=alice)
    assert next_assignment(session, study=study, user=bob) is None  # held by alice
    later = utcnow() + timedelta(minutes=31)
    taken = next_assignment(session, study=study, user=bob, now=later)
    assert taken is not None and taken.pair_id == first.pair_id
    session.refresh(first)
    assert first.status == "expired" and first.slot is None
    submit_rating(session, assignment_id=taken.id, user_id=bob.id, preference="A", scores=SCORES)
    # Alice comes back: the pair is full, so her late vote is refused, clearly.
    # (issue 22: the message says what happened, not "all the ratings it needs")
    with pytest.raises(
        AssignmentError, match=r"handed on: all its 1 places are taken \(1 rated, 0 being"
    ):
        submit_rating(
            session, assignment_id=first.id, user_id=alice.id, preference="B", scores=SCORES
        )
    assert session.exec(select(func.count()).select_from(Rating)).one() == 1
    assert next_assignment(session, study=study, user=alice, now=later) is None


def test_late_vote_counts_when_the_pair_still_has_room(session):
    study = create_study(session, name="late", k=1, seed=2)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(1))])
    alice, bob = users(session, 2)
    first = next_assignment(session, study=study, user=alice)
    later = utcnow() + timedelta(minutes=31)
    taken = next_assignment(session, study=study, user=bob, now=later)
    skip_assignment(session, assignment_id=taken.id, user_id=bob.id, reason="not sure")
    rating = submit_rating(
        session, assignment_id=first.id, user_id=alice.id, preference="A", scores=SCORES
    )
    assert rating.id is not None


def test_resume_returns_the_open_pair(session, study_with_pairs):
    (u,) = users(session, 1)
    first = next_assignment(session, study=study_with_pairs, user=u)
    again = next_assignment(session, study=study_with_pairs, user=u)
    assert again.id == first.id
    assert my_progress(session, study=study_with_pairs, user_id=u.id).done == 0


def test_double_submit_creates_one_rating(session, study_with_pairs):
    (u,) = users(session, 1)
    a = next_assignment(session, study=study_with_pairs, user=u)
    r1 = submit_rating(session, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
    r2 = submit_rating(session, assignment_id=a.id, user_id=u.id, preference="B", scores=SCORES)
    assert r1.id == r2.id and r2.preference == r1.preference
    assert session.exec(select(func.count()).select_from(Rating)).one() == 1
    # The constraint holds even without the check in submit_rating.
    session.add(Rating(study_id=a.study_id, pair_id=a.pair_id, user_id=u.id, preference="a"))
    with pytest.raises(IntegrityError):
        session.commit()
    session.rollback()


def test_blinding_round_trip(session, study_with_pairs):
    (u,) = users(session, 1)
    seen_swapped = set()
    while (a := next_assignment(session, study=study_with_pairs, user=u)) is not None:
        view = blind_view(session, a)
        pair = session.get(Pair, a.pair_id)
        out_a, out_b = session.get(Output, pair.output_a_id), session.get(Output, pair.output_b_id)
        # The annotator prefers whatever reads "tuned answer": always the tuned system.
        pick = "A" if view.left.startswith("tuned") else "B"
        scores = {c: {"A": 5, "B": 1} for c in SCORES}
        r = submit_rating(session, assignment_id=a.id, user_id=u.id, preference=pick, scores=scores)
        winner = out_a if r.preference == "a" else out_b
        assert winner.text.startswith("tuned")
        assert to_shown(r.preference, a.swapped) == pick
        left_side = "b" if a.swapped else "a"
        assert all(r.scores[c][left_side] == 5 for c in SCORES)
        assert {view.left, view.right} == {out_a.text, out_b.text}
        seen_swapped.add(a.swapped)
    assert seen_swapped == {True, False}
    for swapped in (True, False):
        for shown in ("A", "B", "tie"):
            assert to_shown(to_canonical(shown, swapped), swapped) == shown


def test_invalid_votes_are_refused(session, study_with_pairs):
    (u,) = users(session, 1)
    a = next_assignment(session, study=study_with_pairs, user=u)
    with pytest.raises(AssignmentError, match="one of A, B, tie"):
        submit_rating(session, assignment_id=a.id, user_id=u.id, preference="X", scores=SCORES)
    bad = dict(SCORES, Accuracy={"A": 9, "B": 1})
    with pytest.raises(AssignmentError, match="from 1 to 5, got 9"):
        submit_rating(session, assignment_id=a.id, user_id=u.id, preference="A", scores=bad)
    with pytest.raises(AssignmentError, match="score both responses on 'Fluency'"):
        submit_rating(
            session,
            assignment_id=a.id,
            user_id=u.id,
            preference="A",
            scores={k: v for k, v in SCORES.items() if k != "Fluency"},
        )
    other = create_user(session, username="intruder", password="pass1234-xyz")
    with pytest.raises(AssignmentError, match="not assigned to you"):
        submit_rating(session, assignment_id=a.id, user_id=other.id, preference="A", scores=SCORES)
    assert session.exec(select(func.count()).select_from(Rating)).one() == 0


def test_skip_and_flag_free_the_slot_and_record_the_reason(session):
    study = create_study(session, name="skip", k=1, seed=3)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(1))])
    alice, bob = users(session, 2)
    a = next_assignment(session, study=study, user=alice)
    skip_assignment(
        session, assignment_id=a.id, user_id=alice.id, reason="both unusable", flag=True
    )
    row = session.get(Assignment, a.id)
    assert (row.status, row.flagged, row.reason, row.slot) == (
        "skipped",
        True,
        "both unusable",
        None,
    )
    assert next_assignment(session, study=study, user=alice) is None  # never the same pair again
    assert next_assignment(session, study=study, user=bob) is not None
    stats = study_progress(session, study=study)
    assert stats["annotators"][0]["flagged"] == 1


def test_progress_and_time_spent(session, study_with_pairs):
    (u,) = users(session, 1)
    assert my_progress(session, study=study_with_pairs, user_id=u.id).total == 20
    for _ in range(3):
        a = next_assignment(session, study=study_with_pairs, user=u)
        submit_rating(
            session,
            assignment_id=a.id,
            user_id=u.id,
            preference="A",
            scores=SCORES,
            time_spent_s=12.5,
        )
    p = my_progress(session, study=study_with_pairs, user_id=u.id)
    assert (p.done, p.total) == (3, 20)
    assert {r.time_spent_s for r in session.exec(select(Rating))} == {12.5}
    # Without a measured time, the time since the pair was opened is used.
    a = next_assignment(session, study=study_with_pairs, user=u)
    r = submit_rating(
        session,
        assignment_id=a.id,
        user_id=u.id,
        preference="A",
        scores=SCORES,
        now=a.opened_at + timedelta(seconds=42),
    )
    assert r.time_spent_s == pytest.approx(42)
    stats = study_progress(session, study=study_with_pairs)
    assert stats["ratings"] == 4 and stats["ratings_needed"] == 40


def test_ratings_imported_from_elsewhere_count_towards_k(session):
    study = create_study(session, name="imp-k", k=2, seed=4)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(2))])
    outsider = create_user(session, username="elsewhere", password=None)
    pairs = list(session.exec(select(Pair).where(Pair.study_id == study.id).order_by(Pair.id)))
    session.add(
        Rating(
            study_id=study.id,
            pair_id=pairs[0].id,
            user_id=outsider.id,
            preference="a",
            source="import",
        )
    )
    session.commit()
    people = users(session, 3)
    for u in people:
        while rate(session, study, u) is not None:
            pass
    per_pair = Counter(r.pair_id for r in session.exec(select(Rating)))
    assert per_pair == {pairs[0].id: 2, pairs[1].id: 2}


def test_pairs_imported_mid_study_join_every_queue(session):
    study = create_study(session, name="grow", k=1, seed=2)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(10))])
    (u,) = users(session, 1)
    while rate(session, study, u) is not None:
        pass
    p = my_progress(session, study=study, user_id=u.id)
    assert (p.done, p.total) == (10, 10)
    # The queue of a study is cached per set of pairs, so new pairs must show up at once.
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(14))])
    assert my_progress(session, study=study, user_id=u.id).total == 14
    extra = []
    while (r := rate(session, study, u)) is not None:
        extra.append(r.pair_id)
    assert len(set(extra)) == 4
    p = my_progress(session, study=study, user_id=u.id)
    assert (p.done, p.total) == (14, 14)


def test_a_racing_double_submit_returns_the_first_rating(engine, monkeypatch):
    """Two submits of one pair that both passed the "already rated?" check: the second
    loses on the unique key inside its savepoint and answers with the first rating, and its
    unit of work still commits cleanly."""
    import sidebyside.annotate.assignment as assignment

    with unit_of_work(engine) as s:
        study = create_study(s, name="double", k=1, seed=3)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(1))])
        (u,) = users(s, 1)
        a = next_assignment(s, study=study, user=u)
    with unit_of_work(engine) as s:
        first = submit_rating(s, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
    real, calls = assignment._existing_rating, []

    def stale_then_real(session, pair_id, user_id):  # the check ran before the first commit
        calls.append(pair_id)
        return None if len(calls) == 1 else real(session, pair_id, user_id)

    monkeypatch.setattr(assignment, "_existing_rating", stale_then_real)
    with unit_of_work(engine) as s:
        second = submit_rating(s, assignment_id=a.id, user_id=u.id, preference="B", scores=SCORES)
    assert len(calls) == 2 and second.id == first.id and second.preference == first.preference
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == 1
        assert s.get(Assignment, a.id).status == "done"


def test_a_vote_is_stored_by_the_unit_of_work_not_by_the_service(engine):
    with unit_of_work(engine) as s:
        study = create_study(s, name="uow", k=1, seed=3)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(2))])
        (u,) = users(s, 1)
    with pytest.raises(RuntimeError), unit_of_work(engine) as s:
        a = next_assignment(s, study=study, user=u)
        submit_rating(s, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
        raise RuntimeError("the callback failed after the vote")
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == 0
        assert s.exec(select(func.count()).select_from(Assignment)).one() == 0
    with unit_of_work(engine) as s:
        a = next_assignment(s, study=study, user=u)
        submit_rating(s, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
    with Session(engine) as s:  # committed when the block ended, before the next pair
        assert s.exec(select(func.count()).select_from(Rating)).one() == 1


@pytest.mark.parametrize("k", [1, 2, 3])
def test_reclaimed_pair_goes_to_one_new_holder_who_resumes_it_and_votes(engine, k):
    """Issue 9 finding 1: each step in its own unit of work, as the pages run them. The
    reclaimer gets the expired holder's slot, resumes it on reload, and the vote is stored;
    no one else is handed the pair meanwhile."""
    with unit_of_work(engine) as s:
        study = create_study(s, name=f"reclaim{k}", k=k, seed=3)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(1))])  # one pair
        people = users(s, k + 2)
    holders, (newcomer, other) = people[:k], people[k:]
    for u in holders:
        with unit_of_work(engine) as s:
            assert next_assignment(s, study=study, user=u) is not None
    later = utcnow() + timedelta(minutes=31)
    # The first k-1 holders vote; the last abandons the pair.
    for u in holders[:-1]:
        with unit_of_work(engine) as s:
            a = next_assignment(s, study=study, user=u, now=later)
            submit_rating(s, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
    with unit_of_work(engine) as s:
        taken = next_assignment(s, study=study, user=newcomer, now=later)
        assert taken is not None and taken.slot is not None
    with unit_of_work(engine) as s:  # nobody else gets it while the newcomer holds it
        assert next_assignment(s, study=study, user=other, now=later) is None
    with unit_of_work(engine) as s:  # the newcomer's reload resumes the same pair
        again = next_assignment(s, study=study, user=newcomer, now=later)
        assert again is not None and again.id == taken.id
    with unit_of_work(engine) as s:
        rating = submit_rating(
            s, assignment_id=taken.id, user_id=newcomer.id, preference="B", scores=SCORES
        )
        assert rating.id is not None
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == k
        slots = s.exec(select(Assignment.slot).where(col(Assignment.slot).is_not(None))).all()
        assert sorted(slots) == list(range(k))


def test_late_vote_racing_a_new_claim_is_a_clear_error_not_an_integrity_error(engine):
    """Issue 9 finding 5: the late voter's free slot is taken between the check and the
    insert; the vote is refused with a message, never a raw IntegrityError."""
    with unit_of_work(engine) as s:
        study = create_study(s, name="late-race", k=1, seed=2)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(1))])
        alice, bob = users(s, 2)
    with unit_of_work(engine) as s:
        first = next_assignment(s, study=study, user=alice)
    later = utcnow() + timedelta(minutes=31)
    with unit_of_work(engine) as s:
        taken = next_assignment(s, study=study, user=bob, now=later)
    # Alice's vote is checked while bob's slot is still free in her snapshot: simulate the
    # race by letting bob vote first, then submitting alice's with a stale view of the slots.
    import sidebyside.annotate.assignment as assignment_mod

    real = assignment_mod._slot_for_late_submit
    with unit_of_work(engine) as s:
        submit_rating(s, assignment_id=taken.id, user_id=bob.id, preference="A", scores=SCORES)
    try:
        assignment_mod._slot_for_late_submit = lambda *a, **kw: 0  # the stale answer
        with (
            pytest.raises(AssignmentError, match="was handed on"),
            unit_of_work(engine) as s,
        ):
            submit_rating(
                s, assignment_id=first.id, user_id=alice.id, preference="B", scores=SCORES
            )
    finally:
        assignment_mod._slot_for_late_submit = real
    with Session(engine) as s:
        assert s.exec(select(func.count()).select_from(Rating)).one() == 1


def _rows_read_by_a_claim(engine, n_prompts: int) -> int:
    """Rows the claim of a newcomer reads from the database, in a study of ``n_prompts``
    pairs where others have already rated some."""
    import sidebyside.annotate.queue as mod

    with unit_of_work(engine) as s:
        study = create_study(s, name=f"size{n_prompts}", k=3, seed=4)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(n_prompts))])
        people = [
            create_user(s, username=f"s{n_prompts}_{i}", password="pass1234-xyz") for i in range(4)
        ]
    for u in people[:3]:
        for _ in range(10):
            with unit_of_work(engine) as s:
                rate(s, study, u)
    read: list[int] = []
    real_rows, real_ids = mod._rows, mod._ids

    def rows(session, query):
        out = real_rows(session, query)
        read.append(len(out))
        return out

    def ids(session, query):
        out = real_ids(session, query)
        read.append(len(out))
        return out

    with unit_of_work(engine) as s:  # warm: the study's pair list is cached per process
        mod._pair_list(s, study.id)
    mod._rows, mod._ids = rows, ids
    try:
        with unit_of_work(engine) as s:
            assert next_assignment(s, study=study, user=people[3]) is not None
    finally:
        mod._rows, mod._ids = real_rows, real_ids
    return sum(read)


def test_a_claim_reads_the_same_rows_whatever_the_study_size(engine):
    """Issue 9 finding 4: the claim read every slot holder and every pair id of the study
    (5 ms at 2k pairs, 52 ms at 25k); now it reads a batch of candidates by index."""
    small = _rows_read_by_a_claim(engine, 100)
    large = _rows_read_by_a_claim(engine, 2_000)
    # A batch of candidates and their holders (k each) at most, at either size; before, the
    # large study alone read its 2,000 pair ids on every claim.
    assert max(small, large) <= 32 * 3
