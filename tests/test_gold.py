"""Gold pairs (issue 19): added from a file with located errors, served blind at a rate or
as a qualification, scored with a Wilson interval, never counted in any result, and
``report --exclude-failed-gold``."""

from __future__ import annotations

import json

import pytest
from sqlmodel import select
from statsmodels.stats.proportion import proportion_confint
from typer.testing import CliRunner

from sidebyside.analysis.report import report_for_study
from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.blinding import to_shown
from sidebyside.annotate.export import export_frame
from sidebyside.annotate.gold import add_gold, gold_pair_ids, qualification, set_gold_settings
from sidebyside.cli.main import app
from sidebyside.foundation.errors import FileInputError
from sidebyside.foundation.models import GoldPair, Rating, User
from tests.analysis_helpers import build_study, pair_of, rate, user, verdict

runner = CliRunner()
SCORES = {"Accuracy": {"A": 3, "B": 3}, "Fluency": {"A": 3, "B": 3}}
#: Gold answers of prompts 5, 6, 7 (base vs tuned, in the file's order).
GOLD = (
    "prompt_id,system_a,system_b,expected,tolerance,note\n"
    "p5,base,tuned,tuned,,tuned is right\n"
    "p6,tuned,base,A,not B,tuned or a tie\n"  # named the other way round: A = tuned
    "p7,base,tuned,tie,,\n"
)


@pytest.fixture
def built(session):
    b = build_study(session, n_prompts=8, flip={6})
    add_gold(session, study=b.study, name="gold.csv", data=GOLD.encode())
    session.commit()
    return b


def _gold_pairs(b):
    return {i: pair_of(b, i, "base", "tuned") for i in (5, 6, 7)}


def test_gold_file_is_stored_in_canonical_terms(session, built):
    rows = {g.pair_id: g for g in session.exec(select(GoldPair))}
    pairs = _gold_pairs(built)
    p5, base_first5 = pairs[5]
    p6, base_first6 = pairs[6]
    assert base_first5 and not base_first6  # pair 6 is stored tuned-vs-base
    assert (rows[p5].expected, rows[p5].accepted) == ("b", ["b"])
    # tuned is canonical a of pair 6; "not B" (not base) accepts tuned and a tie
    assert (rows[p6].expected, sorted(rows[p6].accepted)) == ("a", ["a", "tie"])
    assert rows[pairs[7][0]].expected == "tie" and rows[pairs[7][0]].note == ""
    # re-adding updates, never duplicates
    again = add_gold(session, study=built.study, name="gold.csv", data=GOLD.encode())
    assert (again.added, again.replaced) == (0, 3)


@pytest.mark.parametrize(
    ("row", "column", "message"),
    [
        ("p9,base,tuned,a,,", "prompt_id", "unknown prompt_id 'p9'"),
        ("p1,base,big,a,,", "system_b", "no pair of 'base' and 'big'"),
        ("p1,base,tuned,A>>B,,", "expected", "is graded, but study 's' rates on three levels"),
        ("p1,base,tuned,maybe,,", "expected", "expected preference 'maybe' is not one of"),
        ("p1,base,tuned,a,not A,", "tolerance", "excludes the expected answer itself"),
        ("p1,base,tuned,a,perhaps,", "tolerance", "is not 'not A', 'not B' or 'not tie'"),
        ("p0,base,tuned,a,,", "prompt_id", r"already has 1 rating\(s\) counted"),
    ],
)
def test_bad_gold_rows_are_located_and_nothing_is_written(session, row, column, message):
    b = build_study(session, n_prompts=3)
    rate(session, b, "u1", pair_of(b, 0, "base", "tuned")[0], "a")
    data = "prompt_id,system_a,system_b,expected,tolerance,note\np2,base,tuned,a,,\n" + row + "\n"
    with pytest.raises(FileInputError, match=message) as err:
        add_gold(session, study=b.study, name="g.csv", data=data.encode())
    assert (err.value.line, err.value.column) == (3, column)
    assert session.exec(select(GoldPair)).all() == []


def _rate_everything(session, b, gold_answers: dict[str, dict[int, str]]):
    """Ordinary ratings and judge verdicts on prompts 0-4; gold answers as given."""
    for i in range(5):
        pid, _ = pair_of(b, i, "base", "tuned")
        for ann, pref in (("u1", "b"), ("u2", "b" if i % 2 else "a"), ("u3", "tie")):
            rate(session, b, ann, pid, pref, scores={"Accuracy": {"a": 2, "b": 4}})
        verdict(session, b, "judge-x", pid, "b", "b" if i % 2 else "a")
    for ann, answers in gold_answers.items():
        for i, pref in answers.items():
            rate(session, b, ann, _gold_pairs(b)[i][0], pref)


def test_gold_never_changes_a_result(session, built, engine):
    _rate_everything(session, built, {})
    before = report_for_study(engine, built.study.name, n_boot=50, seed=3)
    exports = {w: export_frame(engine, built.study, w) for w in ("ratings", "verdicts", "dpo")}
    # answers and judge verdicts on every gold pair, from the same raters and one who only
    # ever saw gold pairs
    gold = _gold_pairs(built)
    for ann in ("u1", "u2", "u3", "only-gold"):
        for i in (5, 6, 7):
            rate(session, built, ann, gold[i][0], "a")
    for i in (5, 6, 7):
        verdict(session, built, "judge-x", gold[i][0], "a", "a")
    after = report_for_study(engine, built.study.name, n_boot=50, seed=3)
    drop = {"generated_at", "gold"}
    assert before.model_dump(exclude=drop) == after.model_dump(exclude=drop)
    assert before.gold is None and after.gold.n_answers == 12
    for what, frame in exports.items():
        assert export_frame(engine, built.study, what).equals(frame), what


def test_accuracy_on_a_planted_set(session, built, engine):
    # canonical answers: pair 5 expects b; pair 6 accepts a or tie; pair 7 expects tie
    planted = {
        "good": {5: "b", 6: "tie", 7: "tie"},  # 3 of 3
        "fair": {5: "b", 6: "b", 7: "tie"},  # 2 of 3
        "bad": {5: "a", 6: "b", 7: "a"},  # 0 of 3
    }
    _rate_everything(session, built, planted)
    report = report_for_study(engine, built.study.name, n_boot=0)
    got = {r.annotator: r for r in report.gold.raters}
    for name, right in (("good", 3), ("fair", 2), ("bad", 0)):
        low, high = proportion_confint(right, 3, alpha=0.05, method="wilson")
        assert (got[name].n, got[name].right) == (3, right)
        assert got[name].accuracy == pytest.approx(right / 3)
        assert (got[name].ci_low, got[name].ci_high) == (pytest.approx(low), pytest.approx(high))
    assert [r.annotator for r in report.gold.raters if not r.passed] == ["bad", "fair"]
    assert report.gold.n_gold_pairs == 3 and report.gold.threshold == 0.8


def test_report_exclude_failed_gold(session, built, engine):
    _rate_everything(session, built, {"u1": {5: "b", 6: "a", 7: "tie"}, "u2": {5: "a", 6: "b"}})
    res = runner.invoke(app, ["report", "s", "--n-boot", "0", "--exclude-failed-gold"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["gold"]["excluded"] == {"raters": ["u2"], "n_raters": 1, "n_ratings": 5}
    assert report["human"]["n_ratings"] == 10 and report["human"]["n_annotators"] == 2
    md = runner.invoke(app, ["report", "s", "-f", "md", "--n-boot", "0", "--exclude-failed-gold"])
    assert "leaves out the 1 rater(s) below it (u2) and their 5 rating(s)" in md.stdout
    full = report_for_study(engine, "s", n_boot=0)
    assert full.human.n_ratings == 15 and full.gold.excluded is None


def test_exclude_failed_gold_without_gold_answers_says_so(session):
    build_study(session, name="plain")
    res = runner.invoke(app, ["report", "plain", "--exclude-failed-gold"])
    assert res.exit_code == 2 and "has no answers on gold pairs" in res.output


def _vote(session, b, name: str, canonical: str):
    """Claim the next pair as ``name`` and vote ``canonical`` for it (as the page would,
    turned into the side shown); returns the pair id, or None when nothing is left."""
    u = session.get(User, user(session, b, name))
    a = next_assignment(session, study=b.study, user=u)
    if a is None:
        return None
    submit_rating(
        session,
        assignment_id=a.id,
        user_id=u.id,
        preference=to_shown(canonical, a.swapped),
        scores=SCORES,
    )
    session.commit()
    return a.pair_id


def test_qualification_blocks_a_planted_bad_rater(session, built):
    set_gold_settings(session, study=built.study, rate=0.0, qualify_n=3, qualify_min=0.66)
    session.commit()
    gold = gold_pair_ids(session, built.study.id)
    right = {g.pair_id: g.expected for g in session.exec(select(GoldPair))}
    # the good rater's first three pairs are the gold ones; then ordinary pairs follow
    first = []
    for _ in range(3):
        u = session.get(User, user(session, built, "good"))
        a = next_assignment(session, study=built.study, user=u)
        assert a.pair_id in gold
        submit_rating(
            session,
            assignment_id=a.id,
            user_id=u.id,
            preference=to_shown(right[a.pair_id], a.swapped),
            scores=SCORES,
        )
        session.commit()
        first.append(a.pair_id)
    assert set(first) == gold
    status = qualification(session, study=built.study, user_id=user(session, built, "good"))
    assert status.decided and not status.failed and status.right == 3
    later = [_vote(session, built, "good", "a") for _ in range(5)]
    assert not set(later) & gold and None not in later
    # the planted bad rater answers every gold pair wrong: blocked after three
    wrong = {"a": "b", "b": "a", "tie": "a"}
    for _ in range(3):
        u = session.get(User, user(session, built, "bad"))
        a = next_assignment(session, study=built.study, user=u)
        assert a.pair_id in gold
        submit_rating(
            session,
            assignment_id=a.id,
            user_id=u.id,
            preference=to_shown(wrong[right[a.pair_id]], a.swapped),
            scores=SCORES,
        )
        session.commit()
    bad = qualification(session, study=built.study, user_id=user(session, built, "bad"))
    assert bad.failed and "did not reach" in bad.message() and "0 of 3" in bad.message()
    assert (
        next_assignment(
            session, study=built.study, user=session.get(User, user(session, built, "bad"))
        )
        is None
    )
    n_bad = session.exec(select(Rating).where(Rating.user_id == user(session, built, "bad"))).all()
    assert len(n_bad) == 3  # nothing beyond the qualification


def test_gold_is_served_at_the_rate_and_holds_no_slot(session, built):
    set_gold_settings(session, study=built.study, rate=1.0)
    session.commit()
    gold = gold_pair_ids(session, built.study.id)
    # rate 1: every claim is gold while unseen gold is left, whoever asks (k does not apply)
    for name in ("r1", "r2", "r3", "r4"):
        served = [_vote(session, built, name, "a") for _ in range(4)]
        assert set(served[:3]) == gold and served[3] not in gold
    set_gold_settings(session, study=built.study, rate=0.0)
    session.commit()
    served = [_vote(session, built, "r5", "a") for _ in range(5)]
    assert not set(served) & gold  # rate 0, no qualification: never gold


def test_gold_cli(session, built, tmp_path):
    res = runner.invoke(app, ["gold", "settings", "s", "--rate", "0.25", "--qualify", "2"])
    assert (
        res.exit_code == 0
        and "gold rate 0.25; qualification: first 2 pairs, 80% needed" in res.output
    )
    res = runner.invoke(app, ["gold", "settings", "s", "--rate", "2"])
    assert res.exit_code == 2 and "0 to 1" in res.output
    path = tmp_path / "g.jsonl"
    path.write_text(
        json.dumps({"prompt_id": "p4", "system_a": "base", "system_b": "tuned", "expected": "b"})
        + "\n"
    )
    res = runner.invoke(app, ["gold", "add", "s", str(path)])
    assert res.exit_code == 0 and "1 gold pairs added, 0 updated" in res.output
    _rate_everything(session, built, {"u1": {5: "b", 6: "a"}})
    res = runner.invoke(app, ["gold", "accuracy", "s"])
    # p4 is gold now too (expected b): u1 answered b there, u2 a, u3 a tie
    lines = {line.split()[0]: line for line in res.output.splitlines()}
    assert res.exit_code == 0 and "3/3" in lines["u1"] and "passed" in lines["u1"]
    assert "0/1" in lines["u2"] and "BELOW" in lines["u2"]
