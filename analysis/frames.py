"""The one place that reads verdicts from the database into tidy DataFrames.

``load_verdicts`` returns one row per verdict — a human rating or a judge's reconciled
verdict — with these columns:

=================  ===========================================================================
source             "human" | "judge"
judge              judge key (the spec, or the name in an imported file; a judge run in more
                   than one mode gets " (mode)" appended to the non-pairwise ones); None for humans
mode               judge mode (pairwise | single | imported); None for humans
annotator          username for humans, the judge key for judges
study_id, pair_id  ids
prompt_id          the prompt's database id (bootstrap cluster)
prompt             the prompt's external id (``prompt_id`` of the imported file)
system_a/system_b  canonical systems of the pair (output_a / output_b)
preference         "a" | "b" | "tie" relative to system_a / system_b
winner             winning system name, or "tie"
<criterion>_a/_b   rubric scores of system_a / system_b (NaN when not given)
category           the prompt's task category (None when not given)
len_a, len_b       output lengths in characters
swapped            humans: True when system_b was shown on the left (None if unknown)
first_shown        "a" | "b" | None: the canonical side shown first (humans)
winner_ab/_ba      judges: canonical winner of each presentation order (None if unknown)
inconsistent       judges: the two orders disagreed (the verdict is then a tie)
preference_score   judges: continuous preference, AlpacaEval-style (1 = A better, 2 = B
                   better; NaN when only the discrete verdict is known, and for humans)
time_spent_s       humans: seconds on the pair
created_at         when the verdict was stored
record_id          Rating.id or JudgeVerdict.id
=================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sqlalchemy import String, func, select, type_coerce
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import (
    JudgeVerdict,
    Judgment,
    Output,
    Pair,
    Prompt,
    Rating,
    Study,
    System,
    User,
)
from sidebyside.foundation.rubric import Rubric

BASE_COLUMNS = [
    "source",
    "judge",
    "mode",
    "annotator",
    "study_id",
    "pair_id",
    "prompt_id",
    "prompt",
    "system_a",
    "system_b",
    "preference",
    "winner",
]
TAIL_COLUMNS = [
    "category",
    "len_a",
    "len_b",
    "swapped",
    "first_shown",
    "winner_ab",
    "winner_ba",
    "inconsistent",
    "preference_score",
    "time_spent_s",
    "created_at",
    "record_id",
]


@contextmanager
def as_session(source: Session | Engine) -> Iterator[Session]:
    """Use a given session, or open (and close) one on an engine."""
    if isinstance(source, Session):
        yield source
    else:
        with Session(source) as session:
            yield session


def resolve_study(session: Session, study: Study | int | str) -> Study:
    """A Study row from a row, an id or a name (LookupError with the known names)."""
    if isinstance(study, Study):
        return study
    return get_study(session, study)


def criteria_of(study: Study) -> list[str]:
    return Rubric.model_validate(study.rubric).names


def score_columns(criteria: list[str]) -> list[str]:
    return [f"{c}_{side}" for c in criteria for side in ("a", "b")]


def load_pairs(session: Session, study_id: int) -> pd.DataFrame:
    """One row per pair: ids, canonical system names and output lengths."""
    oa, ob = aliased(Output), aliased(Output)
    sa, sb = aliased(System), aliased(System)
    stmt = (
        select(
            Pair.id.label("pair_id"),
            Pair.prompt_id.label("prompt_id"),
            Prompt.external_id.label("prompt"),
            Prompt.category.label("category"),
            sa.name.label("system_a"),
            sb.name.label("system_b"),
            func.length(oa.text).label("len_a"),
            func.length(ob.text).label("len_b"),
            Pair.output_a_id.label("output_a_id"),
            Pair.output_b_id.label("output_b_id"),
        )
        .join(Prompt, Prompt.id == Pair.prompt_id)
        .join(oa, oa.id == Pair.output_a_id)
        .join(ob, ob.id == Pair.output_b_id)
        .join(sa, sa.id == oa.system_id)
        .join(sb, sb.id == ob.system_id)
        .where(Pair.study_id == study_id)
        .order_by(Pair.id)
    )
    cols = [
        "pair_id",
        "prompt_id",
        "prompt",
        "category",
        "system_a",
        "system_b",
        "len_a",
        "len_b",
        "output_a_id",
        "output_b_id",
    ]
    return _frame(session, stmt, cols)


def _winner_names(df: pd.DataFrame) -> pd.Series:
    return pd.Series(
        np.where(
            df["preference"] == "a",
            df["system_a"],
            np.where(df["preference"] == "b", df["system_b"], "tie"),
        ),
        index=df.index,
        dtype=object,
    )


def _frame(session: Session, stmt, columns: list[str]) -> pd.DataFrame:
    """Run a Core select (no ORM row building) into a DataFrame."""
    rows = session.connection().execute(stmt).all()
    return pd.DataFrame.from_records([tuple(r) for r in rows], columns=columns)


def _timestamps(values: pd.Series) -> pd.Series:
    """Stored timestamps (text on SQLite, datetimes elsewhere) as UTC datetimes, vectorised."""
    return pd.to_datetime(values, utc=True, format="ISO8601", errors="coerce")


def _human_rows(session: Session, study_id: int, pairs: pd.DataFrame, criteria: list[str]):
    # The database pulls scores out of the JSON (json_extract / #>>): parsing 100k JSON
    # documents in Python would dominate the load time.
    score_cols = [
        Rating.scores[(c, side)].as_float().label(f"{c}_{side}")
        for c in criteria
        for side in ("a", "b")
    ]
    stmt = (
        select(
            Rating.id,
            Rating.pair_id,
            User.username,
            Rating.preference,
            Rating.swapped,
            Rating.time_spent_s,
            type_coerce(Rating.created_at, String),
            *score_cols,
        )
        .join(User, User.id == Rating.user_id)
        .where(Rating.study_id == study_id)
        .order_by(Rating.id)
    )
    cols = ["record_id", "pair_id", "annotator", "preference", "swapped", "time_spent_s"]
    df = _frame(session, stmt, [*cols, "created_at", *score_columns(criteria)])
    for col in score_columns(criteria):
        df[col] = pd.to_numeric(df[col], errors="coerce").astype(float)
    df["created_at"] = _timestamps(df["created_at"])
    df = df.merge(pairs, on="pair_id", how="inner")
    df["source"], df["judge"], df["mode"] = "human", None, None
    swapped = df["swapped"].astype(object).map({True: True, False: False})  # 1/0 hash as True/False
    df["swapped"] = swapped.astype(object).where(swapped.notna(), None)
    first = df["swapped"].map({True: "b", False: "a"}).astype(object)
    df["first_shown"] = first.where(first.notna(), None)
    df["winner_ab"] = df["winner_ba"] = df["inconsistent"] = None
    df["preference_score"] = np.nan
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
    df = _frame(
        session,
        stmt,
        [
            "record_id",
            "pair_id",
            "judge_name",
            "mode",
            "preference",
            "inconsistent",
            "winner_ab",
            "winner_ba",
            "preference_score",
            "created_at",
        ],
    )
    df["preference_score"] = pd.to_numeric(df["preference_score"], errors="coerce").astype(float)
    df["created_at"] = _timestamps(df["created_at"])
    df["inconsistent"] = df["inconsistent"].astype(bool)
    keys = judge_keys(sorted(set(zip(df["judge_name"], df["mode"], strict=True))))
    df["judge"] = [keys[(j, m)] for j, m in zip(df["judge_name"], df["mode"], strict=True)]
    df = df.drop(columns="judge_name").merge(pairs, on="pair_id", how="inner")
    df["source"], df["annotator"] = "judge", df["judge"]
    df["swapped"] = df["first_shown"] = df["time_spent_s"] = None
    for col in score_columns(criteria):
        df[col] = np.nan
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
    columns = BASE_COLUMNS + score_columns(criteria) + TAIL_COLUMNS
    parts = [p for p in parts if len(p)]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in columns})
    df = pd.concat(parts, ignore_index=True)
    df["study_id"] = st.id
    df["winner"] = _winner_names(df)
    return df[columns]


def load_judge_scores(source: Session | Engine, study: Study | int | str) -> pd.DataFrame:
    """Single-mode judge scores, one row per (judge, pair, side, criterion) with columns
    ``judge, pair_id, side, system, criterion, score``; the 1–10 overall score has criterion
    ``"overall"``."""
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
        if not isinstance(scores, dict) or order not in ("a", "b"):
            continue
        items = dict((scores.get("criteria") or {}).items())
        if scores.get("overall") is not None:
            items["overall"] = scores["overall"]
        for criterion, value in items.items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                out.append((keys[(judge, "single")], pair_id, order, criterion, float(value)))
    df = pd.DataFrame(out, columns=["judge", "pair_id", "side", "criterion", "score"])
    if pairs is not None and len(df):
        df = df.merge(pairs[["pair_id", "system_a", "system_b"]], on="pair_id", how="inner")
        df["system"] = np.where(df["side"] == "a", df["system_a"], df["system_b"])
        df = df.drop(columns=["system_a", "system_b"])
    else:
        df["system"] = pd.Series(dtype=object)
    return df[["judge", "pair_id", "side", "system", "criterion", "score"]]


def load_style(session: Session, study_id: int) -> pd.DataFrame:
    """Style counts of both outputs of every pair (``analysis.style_control.style_counts``):
    ``pair_id`` and ``<style>_a`` / ``<style>_b`` for each of ``STYLES``. Each output's text
    is read and counted once, however many pairs it is in."""
    from sidebyside.analysis.style_control import STYLES, style_counts

    texts = session.execute(
        select(Output.id, Output.text)
        .join(Prompt, Prompt.id == Output.prompt_id)
        .where(Prompt.study_id == study_id)
    ).all()
    counts = {oid: style_counts(text or "") for oid, text in texts}
    pairs = session.execute(
        select(Pair.id, Pair.output_a_id, Pair.output_b_id).where(Pair.study_id == study_id)
    ).all()
    cols = [f"{s}_{side}" for side in ("a", "b") for s in STYLES]
    rows = [(pid, *counts[a], *counts[b]) for pid, a, b in pairs]
    return pd.DataFrame(rows, columns=["pair_id", *cols])


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
        return pd.DataFrame({"judge": pd.Series(dtype=object), "pair_id": pd.Series(dtype=int)})
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
    return pd.DataFrame(rows, columns=["judge", "pair_id"]).drop_duplicates()


def load_families(session: Session, study_id: int) -> dict[str, dict[str, str]]:
    """Declared model families of a study's systems and judges (``ModelFamily``)."""
    from sidebyside.foundation.models import ModelFamily

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
    verdicts: pd.DataFrame
    judge_scores: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: Per pair, the style counts of both outputs: see ``load_style``.
    style: pd.DataFrame = field(default_factory=pd.DataFrame)
    #: (judge, pair_id) answered but unreadable: see ``load_unparsed``.
    unparsed: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame({"judge": [], "pair_id": []})
    )
    #: Declared model families: {"system": {name: family}, "judge": {spec: family}}.
    families: dict[str, dict[str, str]] = field(default_factory=dict)

    @property
    def human(self) -> pd.DataFrame:
        return self.verdicts[self.verdicts["source"] == "human"]

    @property
    def judges(self) -> list[str]:
        v = self.verdicts
        return list(dict.fromkeys(v.loc[v["source"] == "judge", "judge"]))

    def judge(self, key: str) -> pd.DataFrame:
        v = self.verdicts
        return v[(v["source"] == "judge") & (v["judge"] == key)]


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
        verdicts = load_verdicts(session, st, pairs=pairs)
        judge_scores = load_judge_scores(session, st)
        return StudyFrames(
            study_id=st.id,
            name=st.name,
            systems=systems,
            criteria=rubric.names,
            scale_min=rubric.scale_min,
            scale_max=rubric.scale_max,
            k=st.k,
            n_pairs=len(pairs),
            n_prompts=int(pairs["prompt_id"].nunique()) if len(pairs) else 0,
            verdicts=verdicts,
            judge_scores=judge_scores,
            style=load_style(session, st.id),
            unparsed=load_unparsed(session, st.id),
            families=load_families(session, st.id),
        )


def data_fingerprint(source: Session | Engine, study_id: int) -> tuple:
    """A cheap key that changes whenever a study's verdicts change: counts and max ids of
    its ratings, judge verdicts and pairs (three indexed aggregate queries). Caches of the
    Results page are keyed on it."""
    with as_session(source) as session:
        out = []
        for table in (Rating, JudgeVerdict, Pair):
            n, top = session.execute(
                select(func.count(), func.max(table.id)).where(table.study_id == study_id)
            ).one()
            out += [int(n), int(top or 0)]
        return tuple(out)


def load_card_frames(source: Session | Engine, study: Study | int | str) -> dict[str, pd.DataFrame]:
    """The stored automatic layers of a study for the evaluation card, oldest run first:
    ``metrics`` (system, metric, kind, value, ci_low, ci_high, n), ``perplexity`` (the newest
    run per model and text set: model, texts, texts_sha256, perplexity, ci_low, ci_high, nll
    and n_tokens per text as arrays) and ``benchmarks`` (the newest per model, task and metric:
    model, task, metric, value, stderr, n, per_item {doc_id: score})."""
    from sidebyside.foundation.models import BenchmarkResult, MetricResult, PerplexityRun

    with as_session(source) as session:
        st = resolve_study(session, study)
        metrics = [
            (name, r.metric, r.kind, r.value, r.ci_low, r.ci_high, r.n)
            for name, r in session.execute(
                select(System.name, MetricResult)
                .join(System, System.id == MetricResult.system_id)
                .where(MetricResult.study_id == st.id)
                .order_by(System.id, MetricResult.id)
            ).all()
        ]
        runs: dict[tuple, tuple] = {}
        for run in session.execute(
            select(PerplexityRun).where(PerplexityRun.study_id == st.id).order_by(PerplexityRun.id)
        ).scalars():
            per = run.per_text or {}
            key = (run.model, run.texts)
            runs.pop(key, None)  # the newest run, placed where the model was last scored
            runs[key] = (
                run.model,
                run.texts,
                run.texts_sha256,
                run.perplexity,
                run.ci_low,
                run.ci_high,
                np.asarray(per.get("nll", []), dtype=np.float64),
                np.asarray(per.get("n_tokens", []), dtype=np.float64),
            )
        bench: dict[tuple, tuple] = {}
        for r in session.execute(
            select(BenchmarkResult)
            .where(BenchmarkResult.study_id == st.id)
            .order_by(BenchmarkResult.id)
        ).scalars():
            key = (r.model, r.task, r.metric)
            bench.pop(key, None)
            bench[key] = (r.model, r.task, r.metric, r.value, r.stderr, r.n, dict(r.per_item or {}))
    return {
        "metrics": pd.DataFrame(
            metrics, columns=["system", "metric", "kind", "value", "ci_low", "ci_high", "n"]
        ),
        "perplexity": pd.DataFrame(
            list(runs.values()),
            columns=[
                "model",
                "texts",
                "texts_sha256",
                "perplexity",
                "ci_low",
                "ci_high",
                "nll",
                "n_tokens",
            ],
        ),
        "benchmarks": pd.DataFrame(
            list(bench.values()),
            columns=["model", "task", "metric", "value", "stderr", "n", "per_item"],
        ),
    }
