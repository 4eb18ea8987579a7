"""Adaptive pair allocation: the priority rule, the claims it orders, the rules it leaves
alone (k, never twice, sides), the setting, and a small run of bench/allocation.py."""

from __future__ import annotations

from collections import Counter
from itertools import combinations

import numpy as np
import pytest
from sqlalchemy import insert
from sqlmodel import Session, select
from typer.testing import CliRunner

import sidebyside.annotate.allocation as allocation
from bench.allocation import compare
from sidebyside.annotate.allocation import claim_order, pair_priorities
from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.blinding import queue_plan
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.my_ratings import undo_last_vote
from sidebyside.annotate.studies import allocation_note, create_study, update_study
from sidebyside.foundation.enums import Allocation, RatingSource
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Output, Pair, Rating, Study, System, User
from tests.conftest import make_long_csv
from tests.test_assignment import SCORES, rate, users
from tests.test_pages import app_as, fill_scores, no_exception, page_as, vote, world  # noqa: F401

THREE = ("a", "b", "c")


def _wins(n_systems: int, votes: dict[tuple[int, int], tuple[float, float]]) -> np.ndarray:
    w = np.zeros((n_systems, n_systems))
    for (i, j), (wi, wj) in votes.items():
        w[i, j], w[j, i] = wi, wj
    return w


def _top(priority: np.ndarray) -> tuple[int, int]:
    i, j = np.unravel_index(np.argmax(np.triu(priority, 1)), priority.shape)
    return int(i), int(j)


def test_the_system_pair_with_fewest_votes_comes_first():
    votes = {sp: (15.0, 15.0) for sp in combinations(range(4), 2)}
    votes[(2, 3)] = (2.0, 2.0)
    p = pair_priorities(_wins(4, votes))
    assert _top(p) == (2, 3)
    assert np.allclose(p, p.T) and np.all(np.diag(p) == 0)
    others = [p[i, j] for i, j in combinations(range(4), 2) if (i, j) != (2, 3)]
    assert p[2, 3] > 2 * max(others)


def test_before_any_vote_every_system_pair_ties():
    p = pair_priorities(np.zeros((5, 5)))
    values = p[np.triu_indices(5, 1)]
    assert np.allclose(values, values[0], rtol=1e-9) and values[0] > 0


def test_the_widest_interval_draws_the_votes():
    """Four systems, 30 votes on every pair; system 3 loses 28 of each 30: its interval is
    the widest (lopsided votes say little about a strength), so its pairs come first."""
    votes = {sp: (15.0, 15.0) for sp in combinations(range(3), 2)}
    votes |= {(i, 3): (28.0, 2.0) for i in range(3)}
    p = pair_priorities(_wins(4, votes))
    assert 3 in _top(p)
    assert min(p[i, 3] for i in range(3)) > max(p[i, j] for i, j in combinations(range(3), 2))


def _study(session: Session, name: str, systems: tuple[str, ...], n: int, k: int, how: str):
    study = create_study(session, name=name, k=k, seed=7, allocation=how)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(n, systems))])
    return study


def _system_pair(session: Session, pair_id: int) -> tuple[str, str]:
    pair = session.get(Pair, pair_id)
    names = [
        session.get(System, session.get(Output, o).system_id).name
        for o in (pair.output_a_id, pair.output_b_id)
    ]
    return tuple(sorted(names))  # type: ignore[return-value]


def _import_ties(session: Session, study: Study, keep) -> None:
    """One imported tie on every pair whose system pair ``keep`` accepts."""
    rater = User(username=f"elsewhere-{study.id}", password_hash=None)
    session.add(rater)
    session.flush()
    rows = [
        {
            "study_id": study.id,
            "pair_id": pid,
            "user_id": rater.id,
            "preference": "tie",
            "scores": {},
            "source": RatingSource.IMPORT,
            "comment": "",
        }
        for pid in session.exec(select(Pair.id).where(Pair.study_id == study.id))
        if keep(_system_pair(session, pid))
    ]
    session.execute(insert(Rating), rows)
    session.flush()


@pytest.mark.parametrize("how", list(Allocation))
def test_adaptive_claims_go_to_the_under_sampled_system_pair(session, how):
    study = _study(session, f"under-{how}", THREE, 20, 2, how)
    _import_ties(session, study, lambda sp: sp != ("b", "c"))  # 40 votes, none on (b, c)
    (newcomer,) = users(session, 1)
    got = []
    for _ in range(10):
        assignment = next_assignment(session, study=study, user=newcomer)
        got.append(_system_pair(session, assignment.pair_id))
        submit_rating(
            session,
            assignment_id=assignment.id,
            user_id=newcomer.id,
            preference="tie",
            scores=SCORES,
        )
    if how == Allocation.ADAPTIVE:
        assert set(got) == {("b", "c")}
    else:  # the seeded shuffle mixes them
        assert len(set(got)) > 1


def test_k_never_twice_and_sides_hold_under_adaptive(session):
    study = _study(session, "rules", ("x", "y", "z", "w"), 6, 2, Allocation.ADAPTIVE)
    ids = list(session.exec(select(Pair.id).where(Pair.study_id == study.id)))
    people = users(session, 4)
    for _round in range(40):
        for u in people:
            rate(session, study, u, preference="A" if _round % 3 else "B")
    ratings = list(session.exec(select(Rating).where(Rating.study_id == study.id)))
    assert len(ratings) == len(ids) * 2 == 72
    assert set(Counter(r.pair_id for r in ratings).values()) == {2}
    assert len({(r.pair_id, r.user_id) for r in ratings}) == len(ratings)
    for u in people:  # the side of every pair is the uniform queue's, pair by pair
        sides = dict(queue_plan(study.seed, u.id, ids))
        mine = [r for r in ratings if r.user_id == u.id]
        assert mine and all(r.swapped == sides[r.pair_id] for r in mine)
        assert next_assignment(session, study=study, user=u) is None


def test_each_annotator_still_sees_exactly_half_the_pairs_swapped(session):
    study = _study(session, "halves", THREE, 7, 3, Allocation.ADAPTIVE)  # 21 pairs
    for u in users(session, 3):
        swapped = []
        while (a := next_assignment(session, study=study, user=u)) is not None:
            swapped.append(a.swapped)
            submit_rating(session, assignment_id=a.id, user_id=u.id, preference="A", scores=SCORES)
        assert len(swapped) == 21 and sum(swapped) == 21 // 2


def test_with_two_systems_adaptive_is_uniform(session):
    study = _study(session, "two", ("base", "tuned"), 12, 1, Allocation.ADAPTIVE)
    ids = list(session.exec(select(Pair.id).where(Pair.study_id == study.id)))
    (u,) = users(session, 1)
    claimed = []
    while (a := next_assignment(session, study=study, user=u)) is not None:
        claimed.append((a.pair_id, a.swapped))
        submit_rating(session, assignment_id=a.id, user_id=u.id, preference="B", scores=SCORES)
    assert claimed == queue_plan(study.seed, u.id, ids)
    assert "exactly as uniform does" in allocation_note(session, study)


def _forget() -> None:
    for cache in (allocation._LAYOUTS, allocation._GROUPS, allocation._VOTES):
        cache.clear()


def _counted(session: Session, study: Study) -> dict:
    return allocation._VOTES[(str(session.get_bind().url), study.id, study.created_at)].wins


def _order(session: Session, study: Study, user: User) -> list[tuple[int, bool]]:
    ids = list(session.exec(select(Pair.id).where(Pair.study_id == study.id)))
    parts = claim_order(session, study, user.id, queue_plan(study.seed, user.id, ids))
    return [item for part in parts for item in part]


def test_the_order_is_a_function_of_seed_and_votes_not_of_the_cache(session):
    study = _study(session, "cache", THREE, 10, 2, Allocation.ADAPTIVE)
    first, second = users(session, 2)
    for i in range(7):
        rate(session, study, first, preference="A" if i % 2 else "tie")
    read_as_they_came = _order(session, study, second)
    counted = {k: list(v) for k, v in _counted(session, study).items()}
    _forget()
    assert _order(session, study, second) == read_as_they_came  # a new process, same order
    assert _counted(session, study) == counted  # read in full = read as the votes came
    # An undone vote leaves the order as if it had never been given.
    rate(session, study, first, preference="B")
    after_vote = _order(session, study, second)
    undo_last_vote(session, study=study, user_id=first.id)
    assert _order(session, study, second) == read_as_they_came != after_vote


def test_the_setting(session, engine):
    study = create_study(session, name="plain")
    assert study.allocation == Allocation.UNIFORM and allocation_note(session, study) is None
    with pytest.raises(InputError, match="allocation must be one of uniform, adaptive, got 'x'"):
        create_study(session, name="bad", allocation="x")
    update_study(session, study=study, allocation="adaptive")
    assert "has no systems yet" in allocation_note(session, study)
    import_sources(session, study=study, sources=[("o.csv", make_long_csv(3, THREE))])
    assert allocation_note(session, study) is None
    (u,) = users(session, 1)
    rate(session, study, u)
    update_study(session, study=study, allocation="adaptive", k=4)  # unchanged: fine
    with pytest.raises(InputError, match="already has ratings; its allocation"):
        update_study(session, study=study, allocation="uniform", k=5)
    assert study.k == 4 and study.allocation == Allocation.ADAPTIVE


def test_study_create_takes_allocation(engine):
    from sidebyside.cli.main import app

    runner = CliRunner()
    made = runner.invoke(app, ["study", "create", "cli-adaptive", "--allocation", "adaptive"])
    assert made.exit_code == 0, made.output
    assert "allocation adaptive" in made.output and "three or more" in made.output
    bad = runner.invoke(app, ["study", "create", "cli-bad", "--allocation", "bandit"])
    assert bad.exit_code == 2
    assert "allocation must be one of uniform, adaptive, got 'bandit'" in bad.output
    with Session(engine) as s:
        names = {st.name: st.allocation for st in s.exec(select(Study))}
    assert names == {"cli-adaptive": "adaptive"}


def test_studies_page_sets_allocation_until_rated(world):  # noqa: F811
    at = page_as(world["admin"], "studies.py")
    at.text_input[0].input("adaptive-study")
    at.selectbox(key="new_allocation_0").set_value("adaptive")
    at.button(key="FormSubmitter:create_study_0-Create study").click().run()
    no_exception(at)
    with Session(world["engine"]) as s:
        made = s.exec(select(Study).where(Study.name == "adaptive-study")).one()
    assert made.allocation == Allocation.ADAPTIVE

    sid = world["study"].id
    at = page_as(world["admin"], "studies.py")
    at.selectbox(key="studies_pick").set_value("ui-study").run()
    at.selectbox(key=f"allocation_{sid}").set_value("adaptive")
    at.button(key=f"FormSubmitter:settings_{sid}-Save settings").click().run()
    no_exception(at)
    assert at.success[0].value == "Settings saved."
    assert any("exactly as uniform does" in c.value for c in at.caption)  # two systems

    ann = app_as(world["ann"])
    fill_scores(ann, 3)
    vote(ann, "A")
    at = page_as(world["admin"], "studies.py")
    at.selectbox(key="studies_pick").set_value("ui-study").run()
    assert at.selectbox(key=f"allocation_{sid}").disabled


@pytest.mark.slow
def test_adaptive_reaches_uniforms_widest_interval_with_fewer_votes():
    """bench/allocation.py, small and seeded (its full run, 900 votes, is in bench/RESULTS.md):
    six systems, one of them weak, 300 votes through the real claims, two runs."""
    figures = compare(2, votes=300, every=30, prompts=100, n_boot=200)
    assert figures["widest_ratio"] is not None and figures["widest_ratio"] <= 0.85
    assert figures["widest_fit_ratio"] <= 0.9
    assert figures["widest_width_adaptive_end"] < figures["widest_width_uniform_end"]
