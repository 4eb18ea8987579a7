"""init --demo's sample study: simulated ratings and baseline verdicts, kept apart."""

from __future__ import annotations

from sqlmodel import func, select

from sidebyside.annotate.demo import (
    DEMO_STUDY,
    SAMPLE_JUDGE,
    SAMPLE_RATERS,
    SAMPLE_STUDY,
    load_demo,
)
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import JudgeVerdict, Rating, User


def test_sample_study_is_separate_labelled_and_loaded_once(session):
    load_demo(session)
    load_demo(session)  # a second init changes nothing
    session.commit()
    demo, sample = get_study(session, DEMO_STUDY), get_study(session, SAMPLE_STUDY)
    assert "sample" in sample.name and "Not real data" in sample.description

    def count(model, study):
        return session.exec(select(func.count()).where(model.study_id == study.id)).one()

    assert count(Rating, demo) == 0 and count(JudgeVerdict, demo) == 0
    assert count(Rating, sample) == 30 * len(SAMPLE_RATERS)
    assert count(JudgeVerdict, sample) == 30
    judges = set(session.exec(select(JudgeVerdict.judge)).all())
    assert judges == {SAMPLE_JUDGE}
    raters = session.exec(select(User).where(User.username.in_(SAMPLE_RATERS))).all()
    assert len(raters) == 3 and all(u.password_hash is None for u in raters)  # no login
