"""Graded preference (issue 19): five-level votes keep their grade, every established figure
reads only the direction, the ordinal alpha is krippendorff's, and the strong-weighted win
rate is arena-hard's."""

from __future__ import annotations

import json
import random

import krippendorff
import numpy as np
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.graded import (
    ordinal_preference_alpha,
    strong_weighted_win_rates,
    with_strength,
)
from sidebyside.analysis.report import build_report, render
from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.rating_import import import_ratings
from sidebyside.annotate.studies import create_study, update_study
from sidebyside.cli.main import app
from sidebyside.foundation.errors import AssignmentError, FileInputError, InputError
from sidebyside.foundation.grading import grade, label, parse_label
from sidebyside.foundation.models import Rating, User
from tests.analysis_helpers import build_study, pair_of, user

SCORES = {"Accuracy": {"A": 3, "B": 4}, "Fluency": {"A": 3, "B": 3}}


def test_labels_round_trip():
    for text in ("A>>B", "A>B", "A=B", "B>A", "B>>A"):
        assert label(*parse_label(text)) == text
    assert parse_label("B<<A") == ("a", 2) and parse_label("A<B") == ("b", 1)
    assert parse_label("A>>A") is None and parse_label("tuned") is None
    assert [grade(*parse_label(t)) for t in ("A>>B", "A>B", "A=B", "B>A", "B>>A")] == [
        2,
        1,
        0,
        -1,
        -2,
    ]


def test_levels_are_three_or_five_and_freeze_with_the_first_rating(session):
    with pytest.raises(InputError, match="preference_levels must be 3 or 5, got 4"):
        create_study(session, name="x", preference_levels=4)
    study = create_study(session, name="y")
    assert study.preference_levels == 3
    update_study(session, study=study, preference_levels=5)
    assert study.preference_levels == 5


def _five_level_study(session):
    b = build_study(session, n_prompts=4)
    b.study.preference_levels = 5
    session.add(b.study)
    session.commit()
    return b


def test_a_graded_vote_is_stored_in_canonical_terms_with_its_grade(session):
    b = _five_level_study(session)
    alice = session.get(User, user(session, b, "alice"))
    got = []
    for strength, shown in ((2, "A"), (1, "B"), (None, "tie"), (2, "B")):
        a = next_assignment(session, study=b.study, user=alice)
        r = submit_rating(
            session,
            assignment_id=a.id,
            user_id=alice.id,
            preference=shown,
            scores=SCORES,
            strength=strength,
        )
        session.commit()
        canonical = {"A": "b" if a.swapped else "a", "B": "a" if a.swapped else "b"}
        got.append((r.preference, r.strength, canonical.get(shown, "tie")))
    expected = [(c, s) for (_, _, c), s in zip(got, (2, 1, None, 2), strict=True)]
    assert [(p, s) for p, s, _ in got] == expected
    a = next_assignment(session, study=b.study, user=alice)
    assert a is None  # four pairs, all rated


def test_grades_are_checked_against_the_study(session):
    b = _five_level_study(session)
    alice = session.get(User, user(session, b, "alice"))
    a = next_assignment(session, study=b.study, user=alice)
    with pytest.raises(AssignmentError, match="five levels: say whether"):
        submit_rating(session, assignment_id=a.id, user_id=alice.id, preference="A", scores=SCORES)
    with pytest.raises(AssignmentError, match="a tie has no strength"):
        submit_rating(
            session,
            assignment_id=a.id,
            user_id=alice.id,
            preference="tie",
            scores=SCORES,
            strength=1,
        )
    three = build_study(session, name="three")
    bob = session.get(User, user(session, three, "bob"))
    a = next_assignment(session, study=three.study, user=bob)
    with pytest.raises(AssignmentError, match="three levels"):
        submit_rating(
            session,
            assignment_id=a.id,
            user_id=bob.id,
            preference="A",
            scores=SCORES,
            strength=2,
        )


HEADER = "prompt_id,system_a,system_b,annotator,winner\n"
GRADED = HEADER + "p0,base,tuned,ann1,A>>B\np1,tuned,base,ann1,A>B\np2,base,tuned,ann1,B>>A\n"


def test_import_graded_ratings_into_a_five_level_study(session):
    b = build_study(session, flip={1})
    b.study.preference_levels = 5
    rep = import_ratings(session, study=b.study, name="r.csv", data=GRADED.encode())
    session.commit()
    assert rep.ratings_added == 3 and rep.grades_mapped == 0
    rows = {r.pair_id: r for r in session.exec(select(Rating))}
    p0, _ = pair_of(b, 0, "base", "tuned")
    p1, base_first = pair_of(b, 1, "base", "tuned")
    p2, _ = pair_of(b, 2, "base", "tuned")
    assert not base_first  # pair 1 is stored tuned-vs-base: the file's order matches it
    assert (rows[p0].preference, rows[p0].strength) == ("a", 2)
    assert (rows[p1].preference, rows[p1].strength) == ("a", 1)  # tuned, canonical a
    assert (rows[p2].preference, rows[p2].strength) == ("b", 2)
    # an ungraded decisive value is refused in a five-level study, a tie is fine
    bad = HEADER + "p3,base,tuned,ann2,tie\np3,base,tuned,ann3,a\n"
    with pytest.raises(FileInputError, match="rates on five levels") as err:
        import_ratings(session, study=b.study, name="bad.csv", data=bad.encode())
    assert err.value.line == 3 and err.value.column == "winner"


def test_a_graded_file_into_a_three_level_study_is_refused_or_mapped(session):
    b = build_study(session)
    with pytest.raises(FileInputError, match="refused \\(pass --map-grades") as err:
        import_ratings(session, study=b.study, name="r.csv", data=GRADED.encode())
    assert err.value.line == 2
    assert session.exec(select(Rating)).all() == []
    rep = import_ratings(
        session, study=b.study, name="r.csv", data=GRADED.encode(), map_grades=True
    )
    assert rep.grades_mapped == 3 and "3 graded values mapped to three levels" in rep.summary()
    rows = session.exec(select(Rating).order_by(Rating.id)).all()
    assert [(r.preference, r.strength) for r in rows] == [("a", None), ("b", None), ("b", None)]


def _graded_study(session, seed: int = 3):
    """Three systems, six prompts, four annotators voting on five levels, one judge."""
    rng = random.Random(seed)
    b = build_study(session, systems=("base", "tuned", "big"), n_prompts=6)
    b.study.preference_levels = 5
    session.add(b.study)
    labels = ["A>>B", "A>B", "A=B", "B>A", "B>>A"]
    for pid in b.pairs.values():
        bias = rng.randint(0, 4)
        for ann in ("u1", "u2", "u3", "u4"):
            if rng.random() < 0.2:
                continue  # not every annotator rates every pair
            text = labels[min(4, max(0, bias + rng.choice((-1, 0, 0, 1))))]
            pref, strength = parse_label(text)
            session.add(
                Rating(
                    study_id=b.study.id,
                    pair_id=pid,
                    user_id=user(session, b, ann),
                    preference=pref,
                    strength=strength,
                    scores={},
                )
            )
    session.commit()
    return b


def test_ordinal_alpha_is_krippendorffs_on_the_same_data(session):
    b = _graded_study(session)
    fr = load_study_frames(session, b.study)
    human = with_strength(fr.human, fr.strengths)
    ours = ordinal_preference_alpha(human)["alpha"]
    # the reliability matrix built straight from the rows: annotators × pairs
    rows = session.exec(select(Rating)).all()
    raters = sorted({r.user_id for r in rows})
    units = sorted({r.pair_id for r in rows})
    data = np.full((len(raters), len(units)), np.nan)
    for r in rows:
        data[raters.index(r.user_id), units.index(r.pair_id)] = grade(r.preference, r.strength)
    expected = krippendorff.alpha(reliability_data=data, level_of_measurement="ordinal")
    assert ours == pytest.approx(expected, abs=1e-12)
    # and it differs from the nominal alpha on the direction alone (the grade is used)
    report = build_report(fr, n_boot=0)
    assert report.graded.ordinal_alpha.alpha == pytest.approx(expected, abs=1e-12)
    assert (
        report.graded.ordinal_alpha.alpha
        != report.human.agreement.krippendorff_alpha.preference.alpha
    )


def _arena_hard_score(rows, a: str, b: str, weight: int) -> float:
    """Arena-hard's way: every verdict exploded into `weight` copies when strong, then the
    mean score of system a (1 win, 0.5 tie, 0 loss)."""
    scores = []
    for sa, sb, pref, strength in rows:
        if {sa, sb} != {a, b}:
            continue
        s = 1.0 if pref == "a" else 0.0 if pref == "b" else 0.5
        if sa != a:
            s = 1.0 - s
        scores += [s] * (weight if strength == 2 else 1)
    return sum(scores) / len(scores)


@pytest.mark.parametrize("weight", [3, 1, 5])
def test_strong_weighted_win_rate_equals_an_independent_computation(session, weight):
    b = _graded_study(session, seed=7)
    fr = load_study_frames(session, b.study)
    human = with_strength(fr.human, fr.strengths)
    rows = list(
        zip(
            human["system_a"],
            human["system_b"],
            human["preference"],
            human["strength"],
            strict=True,
        )
    )
    got = strong_weighted_win_rates(human, strong_weight=weight, systems=fr.systems)
    assert len(got) == 3
    for r in got:
        expected = _arena_hard_score(rows, r["system_a"], r["system_b"], weight)
        assert r["weighted_win_rate_a"] == pytest.approx(expected, abs=1e-12)
        assert r["win_rate_a"] == pytest.approx(
            _arena_hard_score(rows, r["system_a"], r["system_b"], 1), abs=1e-12
        )


def test_every_established_figure_reads_only_the_direction(session):
    """The same votes stored with and without grades give the same report, except the
    graded section."""
    b = _graded_study(session, seed=11)
    graded = build_report(load_study_frames(session, b.study), n_boot=20, seed=1)
    for r in session.exec(select(Rating)):
        r.strength = None
        session.add(r)
    b.study.preference_levels = 3
    session.add(b.study)
    session.commit()
    plain = build_report(load_study_frames(session, b.study), n_boot=20, seed=1)
    drop = {"generated_at", "graded", "card"}
    assert graded.model_dump(exclude=drop) == plain.model_dump(exclude=drop)
    assert graded.graded.human.n_graded > 0 and plain.graded.human.n_graded == 0
    assert "## Graded preference" in render(graded, "md")
    assert "Graded preference" in render(graded, "html")
    assert "Graded preference" not in render(plain, "md")  # a three-level report as before


def test_report_cli_strong_weight(session):
    b = _graded_study(session, seed=5)
    runner = CliRunner()
    res = runner.invoke(app, ["report", b.study.name, "--n-boot", "0", "--strong-weight", "5"])
    assert res.exit_code == 0, res.output
    graded = json.loads(res.stdout)["graded"]
    assert graded["strong_weight"] == 5 and graded["preference_levels"] == 5
    assert graded["ordinal_alpha"]["level"] == "ordinal"
    assert {len(graded["human"]["win_rates"]), len(graded["human"]["bradley_terry"])} == {3}
    res = runner.invoke(app, ["report", b.study.name, "--strong-weight", "0"])
    assert res.exit_code == 2 and "--strong-weight must be a positive number" in res.output
