"""Human labels with adjudication: the verdict frame where each adjudicated pair's ratings
are replaced by its reviewer's verdict (``annotate.adjudication``), for ``report --labels
adjudicated`` and the adjudicated DPO export.

An adjudicated pair then counts once, as its verdict (annotator ``adjudicated``): win rates
and Bradley–Terry read that verdict in place of the ratings, and agreement figures no longer
see the pair (it has one label). The report says how many pairs and ratings this touched.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.analysis.frames import StudyFrames
from sidebyside.foundation.enums import Preference, VerdictSource
from sidebyside.foundation.models import Adjudication

#: The annotator name of an adjudicated label in the verdict frame.
ADJUDICATED = "adjudicated"
LABELS = ("majority", ADJUDICATED)


def load_adjudicated(session: Session, study_id: int) -> dict[int, tuple[str, int | None]]:
    """pair id ─► (preference, strength) of its newest adjudication."""
    rows = session.execute(
        select(Adjudication.pair_id, Adjudication.preference, Adjudication.strength)
        .where(Adjudication.study_id == study_id)
        .order_by(Adjudication.created_at, Adjudication.id)
    ).all()
    return {pid: (pref, s) for pid, pref, s in rows}


def with_adjudicated(
    fr: StudyFrames, labels: dict[int, tuple[str, int | None]]
) -> tuple[StudyFrames, dict[str, Any]]:
    """The frames with each labelled pair's human verdicts replaced by its label, and
    ``{"labels": "adjudicated", "n_pairs": ..., "n_ratings_replaced": ...}``."""
    v = fr.verdicts
    human = v[col.SOURCE] == VerdictSource.HUMAN
    hit = human & v[col.PAIR_ID].isin(list(labels))
    firsts = v[hit].drop_duplicates(col.PAIR_ID).copy()
    if len(firsts):
        pref = firsts[col.PAIR_ID].map(lambda p: labels[p][0])
        firsts[col.PREFERENCE] = pref
        firsts[col.WINNER] = np.where(
            pref == Preference.A,
            firsts[col.SYSTEM_A],
            np.where(pref == Preference.B, firsts[col.SYSTEM_B], Preference.TIE.value),
        )
        firsts[col.ANNOTATOR] = ADJUDICATED
        firsts[col.SWAPPED] = firsts[col.FIRST_SHOWN] = None
        firsts[col.TIME_SPENT_S] = np.nan
        for name in col.score_columns(fr.criteria):
            firsts[name] = np.nan
        # ids of their own (no rating has a negative id): the grades join on them
        firsts[col.RECORD_ID] = -firsts[col.PAIR_ID]
    kept = pd.concat([v[~hit], firsts], ignore_index=True) if len(firsts) else v
    strengths = fr.strengths
    graded = [
        (VerdictSource.HUMAN.value, -pid, labels[pid][1])
        for pid in firsts[col.PAIR_ID]
        if labels[pid][1] is not None
    ]
    if graded:
        extra = pd.DataFrame(graded, columns=[col.SOURCE, col.RECORD_ID, "strength"])
        strengths = pd.concat([strengths, extra], ignore_index=True)
    info = {
        "labels": ADJUDICATED,
        "n_pairs": int(len(firsts)),
        "n_ratings_replaced": int(hit.sum()),
        "n_adjudicated": len(labels),
    }
    return replace(fr, verdicts=kept, strengths=strengths), info
