"""What judges said besides their verdicts: single-mode scores, and answers that could not
be read."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.analysis.reading import as_session, resolve_study
from sidebyside.analysis.verdicts import judge_keys, load_pairs
from sidebyside.foundation.models import JudgeVerdict, Judgment, Study


def load_judge_scores(source: Session | Engine, study: Study | int | str) -> pd.DataFrame:
    """Single-mode judge scores, one row per (judge, pair, side, criterion) with columns
    ``col.JUDGE_SCORE_COLUMNS`` (``judge, pair_id, side, system, criterion, score``); the 1–10
    overall score has criterion ``col.OVERALL``."""
    with as_session(source) as session:
        st = resolve_study(session, study)
        rows = session.execute(
            select(Judgment.judge, Judgment.pair_id, Judgment.order, Judgment.scores)
            .where(Judgment.study_id == st.id, Judgment.mode == "single")
            .where(Judgment.status == "ok")
        ).all()
        modes = session.execute(
            select(JudgeVerdict.judge, JudgeVerdict.mode)
            .where(JudgeVerdict.study_id == st.id)
            .distinct()
        ).all()
        pairs = load_pairs(session, st.id) if rows else None
    keys = judge_keys(sorted({*map(tuple, modes), *((r[0], "single") for r in rows)}))
    out = []
    for judge, pair_id, order, scores in rows:
        if not isinstance(scores, dict) or order not in col.SIDES:
            continue
        items = dict((scores.get("criteria") or {}).items())
        if scores.get("overall") is not None:
            items[col.OVERALL] = scores["overall"]
        for criterion, value in items.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.append((keys[(judge, "single")], pair_id, order, criterion, float(value)))
    df = pd.DataFrame(out, columns=[col.JUDGE, col.PAIR_ID, col.SIDE, col.CRITERION, col.SCORE])
    if pairs is not None and len(df):
        systems = pairs[[col.PAIR_ID, col.SYSTEM_A, col.SYSTEM_B]]
        df = df.merge(systems, on=col.PAIR_ID, how="inner")
        df[col.SYSTEM_NAME] = np.where(df[col.SIDE] == "a", df[col.SYSTEM_A], df[col.SYSTEM_B])
        df = df.drop(columns=[col.SYSTEM_A, col.SYSTEM_B])
    else:
        df[col.SYSTEM_NAME] = pd.Series(dtype=object)
    return df[list(col.JUDGE_SCORE_COLUMNS)]


def load_unparsed(session: Session, study_id: int) -> pd.DataFrame:
    """Pairs where a judge answered but no verdict could be read (an unparsed or failed
    answer, run or imported, and no verdict of that judge on the pair): columns ``judge``
    (the same key as in the verdicts) and ``pair_id``, one row per (judge, pair)."""
    bad = session.execute(
        select(Judgment.judge, Judgment.mode, Judgment.pair_id)
        .where(Judgment.study_id == study_id, Judgment.status != "ok")
        .distinct()
    ).all()
    if not bad:
        return pd.DataFrame({col.JUDGE: pd.Series(dtype=object), col.PAIR_ID: pd.Series(dtype=int)})
    have = set(
        session.execute(
            select(JudgeVerdict.judge, JudgeVerdict.mode, JudgeVerdict.pair_id).where(
                JudgeVerdict.study_id == study_id
            )
        ).all()
    )
    modes = session.execute(
        select(JudgeVerdict.judge, JudgeVerdict.mode)
        .where(JudgeVerdict.study_id == study_id)
        .distinct()
    ).all()
    keys = judge_keys(sorted({*map(tuple, modes), *((j, m) for j, m, _ in bad)}))
    rows = [(keys[(j, m)], p) for j, m, p in bad if (j, m, p) not in have]
    return pd.DataFrame(rows, columns=[col.JUDGE, col.PAIR_ID]).drop_duplicates()
