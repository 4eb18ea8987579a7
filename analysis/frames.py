"""Everything the analysis reads about one study, read once: ``load_study_frames``.

The frames come from one loader each: the verdicts (``analysis.verdicts``, columns in
``analysis.columns``), the single-mode judge scores and unreadable answers
(``analysis.judge_scores``), the outputs' style features (``analysis.style_frame``); the
evaluation card's automatic layers are read apart (``analysis.card_frames``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.analysis.gold_reading import gold_threshold, load_gold_answers
from sidebyside.analysis.graded import load_judge_games, load_strengths
from sidebyside.analysis.judge_scores import load_judge_scores, load_unparsed
from sidebyside.analysis.probes import load_probe_rows
from sidebyside.analysis.provenance import WhatWasCompared, load_compared
from sidebyside.analysis.reading import as_session, resolve_study
from sidebyside.analysis.style_frame import load_style
from sidebyside.analysis.turns import load_turns, pairs_per_turn
from sidebyside.analysis.verdicts import load_pairs, load_verdicts
from sidebyside.analysis.vote_scores import load_vote_scores
from sidebyside.foundation.models import (
    BenchmarkResult,
    CheckpointSeries,
    JudgeVerdict,
    MetricResult,
    ModelFamily,
    Pair,
    PerplexityRun,
    Rating,
    Study,
    System,
)
from sidebyside.foundation.rubric import Rubric


def load_families(session: Session, study_id: int) -> dict[str, dict[str, str]]:
    """Declared model families of a study's systems and judges (``ModelFamily``)."""
    out: dict[str, dict[str, str]] = {"system": {}, "judge": {}}
    rows = session.execute(
        select(ModelFamily.kind, ModelFamily.name, ModelFamily.family).where(
            ModelFamily.study_id == study_id
        )
    ).all()
    for kind, name, family in rows:
        out.setdefault(kind, {})[name] = family
    return out


@dataclass
class StudyFrames:
    """A study's metadata and its verdict tables, read once."""

    study_id: int
    name: str
    systems: list[str]
    criteria: list[str]
    scale_min: int
    scale_max: int
    k: int
    n_pairs: int
    n_prompts: int
    #: The verdicts frame: see ``analysis.verdicts``.
    verdicts: pd.DataFrame
    #: Single-mode judge scores: see ``analysis.judge_scores.load_judge_scores``.
    judge_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Per pair, the style counts of both outputs: see ``analysis.style_frame.load_style``.
    style: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: (judge, pair_id) answered but unreadable: see ``analysis.judge_scores.load_unparsed``.
    unparsed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({col.JUDGE: [], col.PAIR_ID: []})
    )
    #: Declared model families: {"system": {name: family}, "judge": {spec: family}}.
    families: dict[str, dict[str, str]] = field(default_factory=dict)
    #: What was compared: generation provenance and eval-set version (``analysis.provenance``).
    compared: WhatWasCompared | None = None
    #: Conversations: {prompt id: turn}, and {turn: (pairs, prompts)} (``analysis.turns``);
    #: empty for a single-turn study.
    turns: dict[int, int] = field(default_factory=dict)
    pairs_per_turn: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Sampled judges' vote preferences beside their log-probabilities'
    #: (``analysis.vote_scores``); judge/sampling.py.
    vote_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Stress-probe judgments (``analysis.probes.load_probe_rows``).
    probes: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: 3 or 5 (``Study.preference_levels``), and the grade of every graded verdict
    #: (``analysis.graded.load_strengths``: source, record_id, strength).
    preference_levels: int = 3
    strengths: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({col.SOURCE: [], col.RECORD_ID: [], "strength": []})
    )
    #: Each answered order of the judges' pairwise calls (``analysis.graded.load_judge_games``).
    judge_games: pd.DataFrame | None = None
    #: Answers on gold pairs (``analysis.gold_reading``; never in ``verdicts``) and the
    #: accuracy a rater needs.
    gold_answers: list[dict] = field(default_factory=list)
    gold_threshold: float = 0.8

    @property
    def human(self) -> pd.DataFrame:
        return self.verdicts[self.verdicts[col.SOURCE] == "human"]

    @property
    def judges(self) -> list[str]:
        v = self.verdicts
        return list(dict.fromkeys(v.loc[v[col.SOURCE] == "judge", col.JUDGE]))

    def judge(self, key: str) -> pd.DataFrame:
        v = self.verdicts
        return v[(v[col.SOURCE] == "judge") & (v[col.JUDGE] == key)]


def load_study_frames(source: Session | Engine, study: Study | int | str) -> StudyFrames:
    """Everything the analysis needs about one study."""
    with as_session(source) as session:
        st = resolve_study(session, study)
        rubric = Rubric.model_validate(st.rubric)
        systems = [
            s.name
            for s in session.execute(
                select(System).where(System.study_id == st.id).order_by(System.id)
            ).scalars()
        ]
        pairs = load_pairs(session, st.id)
        turns = load_turns(session, st.id)
        return StudyFrames(
            study_id=st.id,
            name=st.name,
            systems=systems,
            criteria=rubric.names,
            scale_min=rubric.scale_min,
            scale_max=rubric.scale_max,
            k=st.k,
            n_pairs=len(pairs),
            n_prompts=int(pairs[col.PROMPT_ID].nunique()) if len(pairs) else 0,
            verdicts=load_verdicts(session, st, pairs=pairs),
            judge_scores=load_judge_scores(session, st),
            style=load_style(session, st.id),
            unparsed=load_unparsed(session, st.id),
            families=load_families(session, st.id),
            compared=load_compared(session, st.id),
            turns=turns,
            pairs_per_turn=pairs_per_turn(pairs, turns),
            vote_scores=load_vote_scores(session, st.id),
            probes=load_probe_rows(session, st.id),
            preference_levels=st.preference_levels,
            strengths=load_strengths(session, st.id),
            judge_games=load_judge_games(session, st.id, pairs),
            gold_answers=load_gold_answers(session, st.id),
            gold_threshold=gold_threshold(session, st.id),
        )


def data_fingerprint(source: Session | Engine, study_id: int) -> tuple:
    """A cheap key that changes whenever a study's verdicts or the evaluation card's stored
    layers change: counts and max ids of its ratings, judge verdicts and pairs, then of its
    metric, perplexity and benchmark results with their newest time (indexed aggregate
    queries). Caches of the Results page are keyed on it."""
    with as_session(source) as session:
        out: list[int | str] = []
        for table in (Rating, JudgeVerdict, Pair):
            n, top = session.execute(
                select(func.count(), func.max(table.id)).where(table.study_id == study_id)
            ).one()
            out += [int(n), int(top or 0)]
        # Recomputed metrics replace their rows, and SQLite may hand out the same ids again.
        # A new checkpoint series too: the page's series table (and its win rates) follows it.
        for layer in (MetricResult, PerplexityRun, BenchmarkResult, CheckpointSeries):
            n, top, newest = session.execute(
                select(func.count(), func.max(layer.id), func.max(layer.created_at)).where(
                    layer.study_id == study_id
                )
            ).one()
            out += [int(n), int(top or 0), str(newest)]
        return tuple(out)
