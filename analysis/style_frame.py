"""Style features of every pair's two outputs, for Chatbot Arena's style control
(``analysis.style_control``)."""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.analysis.style_control import STYLES, style_counts
from sidebyside.foundation.models import Output, Pair, Prompt


def style_columns() -> list[str]:
    """The style columns of ``load_style``: every style of side a, then of side b."""
    return [col.style_column(s, side) for side in col.SIDES for s in STYLES]


def load_style(session: Session, study_id: int) -> pd.DataFrame:
    """Style counts of both outputs of every pair (``style_counts``): ``pair_id`` and
    ``col.style_column(style, side)`` for each of ``STYLES`` and both sides. Each output's
    text is read and counted once, however many pairs it is in."""
    texts = session.execute(
        select(Output.id, Output.text)
        .join(Prompt, Prompt.id == Output.prompt_id)
        .where(Prompt.study_id == study_id)
    ).all()
    counts = {oid: style_counts(text or "") for oid, text in texts}
    pairs = session.execute(
        select(Pair.id, Pair.output_a_id, Pair.output_b_id).where(Pair.study_id == study_id)
    ).all()
    rows = [(pid, *counts[a], *counts[b]) for pid, a, b in pairs]
    return pd.DataFrame(rows, columns=[col.PAIR_ID, *style_columns()])
