"""The tidy verdicts frame: one row per verdict — a human rating or a judge's reconciled
verdict — read from the database. Column names: ``analysis.columns`` (``col`` below).

=====================  =======================================================================
source                 "human" | "judge"
judge                  judge key (the spec, or the name in an imported file; a judge run in
                       more than one mode gets " (mode)" appended to the non-pairwise ones);
                       None for humans
mode                   judge mode (pairwise | single | imported); None for humans
annotator              username for humans, the judge key for judges
study_id, pair_id      ids
prompt_id              the prompt's database id (bootstrap cluster)
prompt                 the prompt's external id (``prompt_id`` of the imported file)
system_a/system_b      canonical systems of the pair (output_a / output_b)
preference             "a" | "b" | "tie" relative to system_a / system_b
winner                 winning system name, or "tie"
crit:<criterion>:a/b   rubric scores of system_a / system_b (NaN when not given):
                       ``col.score_column(criterion, side)``
category               the prompt's task category (None when not given)
len_a, len_b           output lengths in characters
swapped                humans: True when system_b was shown on the left (None if unknown)
first_shown            "a" | "b" | None: the canonical side shown first (humans)
winner_ab/_ba          judges: canonical winner of each presentation order (None if unknown)
inconsistent           judges: the two orders disagreed (the verdict is then a tie)
preference_score       judges: continuous preference, AlpacaEval-style (1 = A better, 2 = B
                       better; NaN when only the discrete verdict is known, and for humans)
time_spent_s           humans: seconds on the pair
created_at             when the verdict was stored
record_id              Rating.id or JudgeVerdict.id
=====================  =======================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.analysis.reading import as_session, resolve_study, select_frame, utc_timestamps
from sidebyside.foundation.enums import Preference, VerdictSource
from sidebyside.foundation.models import (
    GoldPair,
    JudgeVerdict,
    Output,
    Pair,
    Prompt,
    Rating,
    Study,
    System,
    User,
)
from sidebyside.foundation.rubric import Rubric


def criteria_of(study: Study) -> list[str]:
    """The study's rubric criterion names, in rubric order."""
    return Rubric.model_validate(study.rubric).names


def load_pairs(session: Session, study_id: int) -> pd.DataFrame:
    """One row per pair (``col.PAIR_COLUMNS``): ids, canonical system names and output
    lengths. Gold pairs (``annotate.gold``) are left out: what is read through here — every
    figure, export and DPO pair — never counts one."""
    oa, ob = aliased(Output), aliased(Output)
    sa, sb = aliased(System), aliased(System)
    stmt = (
        select(
            Pair.id,
            Pair.prompt_id,
            Prompt.external_id,
            Prompt.category,
            sa.name,
            sb.name,
            func.length(oa.text),
            func.length(ob.text),
            Pair.output_a_id,
            Pair.output_b_id,
        )
        .join(Prompt, Prompt.id == Pair.prompt_id)
        .join(oa, oa.id == Pair.output_a_id)
        .join(ob, ob.id == Pair.output_b_id)
        .join(sa, sa.id == oa.system_id)
        .join(sb, sb.id == ob.system_id)
        .where(Pair.study_id == study_id)
        .where(Pair.id.not_in(select(GoldPair.pair_id).where(GoldPair.study_id == study_id)))
        .order_by(Pair.id)
    )
    return select_frame(session, stmt, col.PAIR_COLUMNS)


def _winner_names(df: pd.DataFrame) -> pd.Series:
    return pd.Series(
        np.where(
            df[col.PREFERENCE] == Preference.A,
            df[col.SYSTEM_A],
            np.where(df[col.PREFERENCE] == Preference.B, df[col.SYSTEM_B], Preference.TIE),
        ),
        index=df.index,
        dtype=object,
    )


def _human_rows(session: Session, study_id: int, pairs: pd.DataFrame, criteria: list[str]):
    # The database pulls scores out of the JSON (json_extract / #>>): parsing 100k JSON
    # documents in Python would dominate the load time.
    scores = [Rating.scores[(c, side)].as_float() for c in criteria for side in col.SIDES]
    stmt = (
        select(
            Rating.id,
            Rating.pair_id,
            User.username,
            Rating.preference,
            Rating.swapped,
            Rating.time_spent_s,
            type_coerce(Rating.created_at, String),
            *scores,
        )
        .join(User, User.id == Rating.user_id)
        .where(Rating.study_id == study_id)
        .order_by(Rating.id)
    )
    lead = [col.RECORD_ID, col.PAIR_ID, col.ANNOTATOR, col.PREFERENCE, col.SWAPPED]
    score_cols = col.score_columns(criteria)
    df = select_frame(session, stmt, [*lead, col.TIME_SPENT_S, col.CREATED_AT, *score_cols])
    for name in score_cols:
        df[name] = pd.to_numeric(df[name], errors="coerce").astype(float)
    df[col.CREATED_AT] = utc_timestamps(df[col.CREATED_AT])
    df = df.merge(pairs, on=col.PAIR_ID, how="inner")
    df[col.SOURCE], df[col.JUDGE], df[col.MODE] = VerdictSource.HUMAN, None, None
    # 1/0 as True/False (SQLite), None where unknown
    swapped = df[col.SWAPPED].astype(object).map({True: True, False: False})
    df[col.SWAPPED] = swapped.astype(object).where(swapped.notna(), None)
    first = df[col.SWAPPED].map({True: "b", False: "a"}).astype(object)
    df[col.FIRST_SHOWN] = first.where(first.notna(), None)
    df[col.WINNER_AB] = df[col.WINNER_BA] = df[col.INCONSISTENT] = None
    df[col.PREFERENCE_SCORE] = np.nan
    return df


def judge_keys(pairs_of_judge_and_mode: list[tuple[str, str]]) -> dict[tuple[str, str], str]:
    """Name judges: the spec alone, unless the same spec ran in several modes.

    >>> judge_keys([("gpt", "pairwise"), ("gpt", "single"), ("x", "imported")])
    {('gpt', 'pairwise'): 'gpt', ('gpt', 'single'): 'gpt (single)', ('x', 'imported'): 'x'}
    """
    modes: dict[str, set[str]] = {}
    for judge, mode in pairs_of_judge_and_mode:
        modes.setdefault(judge, set()).add(mode)
    keys = {}
    for judge, mode in pairs_of_judge_and_mode:
        plain = len(modes[judge]) == 1 or mode == "pairwise"
        keys[(judge, mode)] = judge if plain else f"{judge} ({mode})"
    return keys


def _judge_rows(session: Session, study_id: int, pairs: pd.DataFrame, criteria: list[str]):
    stmt = (
        select(
            JudgeVerdict.id,
            JudgeVerdict.pair_id,
            JudgeVerdict.judge,
            JudgeVerdict.mode,
            JudgeVerdict.winner,
            JudgeVerdict.inconsistent,
            JudgeVerdict.winner_ab,
            JudgeVerdict.winner_ba,
            JudgeVerdict.preference,
            type_coerce(JudgeVerdict.created_at, String),
        )
        .where(JudgeVerdict.study_id == study_id)
        .order_by(JudgeVerdict.id)
    )
    spec = "judge_spec"  # the stored name, before judge_keys tells modes apart
    df = select_frame(
        session,
        stmt,
        [
            col.RECORD_ID,
            col.PAIR_ID,
            spec,
            col.MODE,
            col.PREFERENCE,
            col.INCONSISTENT,
            col.WINNER_AB,
            col.WINNER_BA,
            col.PREFERENCE_SCORE,
            col.CREATED_AT,
        ],
    )
    score = pd.to_numeric(df[col.PREFERENCE_SCORE], errors="coerce")
    df[col.PREFERENCE_SCORE] = score.astype(float)
    df[col.CREATED_AT] = utc_timestamps(df[col.CREATED_AT])
    df[col.INCONSISTENT] = df[col.INCONSISTENT].astype(bool)
    keys = judge_keys(sorted(set(zip(df[spec], df[col.MODE], strict=True))))
    df[col.JUDGE] = [keys[(j, m)] for j, m in zip(df[spec], df[col.MODE], strict=True)]
    df = df.drop(columns=spec).merge(pairs, on=col.PAIR_ID, how="inner")
    df[col.SOURCE], df[col.ANNOTATOR] = VerdictSource.JUDGE, df[col.JUDGE]
    df[col.SWAPPED] = df[col.FIRST_SHOWN] = df[col.TIME_SPENT_S] = None
    for name in col.score_columns(criteria):
        df[name] = np.nan
    return df


def load_verdicts(
    source: Session | Engine, study: Study | int | str, *, pairs: pd.DataFrame | None = None
) -> pd.DataFrame:
    """All verdicts of a study, humans first then judges (see the module docstring)."""
    with as_session(source) as session:
        st = resolve_study(session, study)
        criteria = criteria_of(st)
        pairs = load_pairs(session, st.id) if pairs is None else pairs
        parts = [
            _human_rows(session, st.id, pairs, criteria),
            _judge_rows(session, st.id, pairs, criteria),
        ]
    columns = col.verdict_columns(criteria)
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df = pd.concat(parts, ignore_index=True)
    df[col.STUDY_ID] = st.id
    df[col.WINNER] = _winner_names(df)
    return df[columns]


def scores_by_system(verdicts: pd.DataFrame, criteria: list[str]) -> pd.DataFrame:
    """The criterion scores of ``verdicts`` long, one row per (verdict, side, criterion)
    with a score: columns ``system, score, criterion``."""
    parts = []
    for c in criteria:
        for side in col.SIDES:
            part = verdicts[[col.SYSTEM[side], col.score_column(c, side)]].dropna()
            parts.append(part.set_axis([col.SYSTEM_NAME, col.SCORE], axis=1).assign(criterion=c))
    if not parts:
        return pd.DataFrame(columns=[col.SYSTEM_NAME, col.SCORE, col.CRITERION])
    return pd.concat(parts, ignore_index=True)
