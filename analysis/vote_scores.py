"""The vote-fraction preferences of sampled judges (``--samples K``, judge/sampling.py) whose
verdict preference is their log-probabilities': a judge with both gets both calibrations in
the report (``JudgeSection.vote_confidence`` beside ``confidence``). A sampled judge without
log-probabilities already has its votes as its ``preference_score``, so it is not here."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.foundation.models import JudgeVerdict

COLUMNS = (col.JUDGE, col.PAIR_ID, col.PREFERENCE_SCORE)


def load_vote_scores(session: Session, study_id: int) -> pd.DataFrame:
    """One row per (pairwise judge, pair) with vote fractions that differ from the verdict's
    preference: columns ``judge, pair_id, preference_score`` (the votes' 1 + P(b) + P(tie)/2)."""
    rows = session.execute(
        select(JudgeVerdict.judge, JudgeVerdict.pair_id, JudgeVerdict.vote_preference).where(
            JudgeVerdict.study_id == study_id,
            JudgeVerdict.mode == "pairwise",
            JudgeVerdict.vote_preference.is_not(None),  # type: ignore[union-attr]
            JudgeVerdict.preference.is_not(None),  # type: ignore[union-attr]
            JudgeVerdict.preference != JudgeVerdict.vote_preference,
        )
    ).all()
    df = pd.DataFrame([tuple(r) for r in rows], columns=list(COLUMNS))
    return df.astype({col.PREFERENCE_SCORE: float}) if len(df) else df
