"""Study ─► tables: ratings, judgments, verdicts and DPO preference pairs, as CSV, JSONL or
Parquet. Used by ``sidebyside export`` and by the app's download buttons.

Two calls do everything::

    df = export_frame(engine_or_session, "my-study", "ratings")        # a DataFrame
    data = write_export(df, "csv")                                     # bytes (out=None)
    write_export(df, "parquet", "ratings.parquet")                     # or a file

What each ``what`` gives (one row per …):

- ``ratings``: human rating, unblinded — ``rating_id, pair_id, prompt_id`` (the external
  id), ``annotator, system_a, system_b, shown_left, shown_right`` (None when the side is
  unknown, e.g. imported), ``preference`` (canonical a|b|tie), ``winner`` (the winning system's
  name or "tie"), ``<criterion>_a, <criterion>_b`` for every rubric criterion (scores of
  system_a / system_b; ``crit:<criterion>:a`` / ``:b`` where ``<criterion>_a`` would be a
  fixed column, e.g. for a criterion named ``system``: ``analysis.columns.flat_score_column``),
  ``comment, time_spent_s, opened_at, created_at, source``. The columns
  are a superset of what ``sidebyside import-ratings`` reads, so an export re-imports.
- ``judgments``: judge call (one per presentation order), with its raw text, tokens and cost.
- ``verdicts``: the tidy verdicts table of ``analysis.verdicts`` (humans and reconciled
  judges), its criterion scores under their file names.
- ``dpo``: ``prompt, chosen, rejected`` rows, the format TRL's DPOTrainer reads, from pairs
  with a clear human majority (the top verdict is a side and has more than half the
  ratings), or with ``source="judge:SPEC"`` from that judge's consistent, decisive verdicts.

``source`` is ``None``, ``"human"`` or ``"judge:SPEC"`` and filters verdicts, judgments and
dpo rows.
"""

from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlmodel import Session

from sidebyside.analysis import columns as col
from sidebyside.analysis.labels import ADJUDICATED, LABELS, load_adjudicated
from sidebyside.analysis.reading import as_session, resolve_study
from sidebyside.analysis.verdicts import criteria_of, load_pairs, load_verdicts
from sidebyside.annotate.conversation_export import conversational_dpo, rating_conversations
from sidebyside.annotate.export_generations import generations_frame
from sidebyside.foundation.atomic import write_atomic
from sidebyside.foundation.enums import Preference, VerdictSource
from sidebyside.foundation.errors import InputError, NotFound
from sidebyside.foundation.grading import label
from sidebyside.foundation.models import (
    Assignment,
    Judgment,
    Output,
    Pair,
    Prompt,
    Rating,
    Study,
    User,
)

#: Canonical preferences as plain strings (what the tables hold and the exports write).
_A, _B, _TIE = Preference.A.value, Preference.B.value, Preference.TIE.value

WHATS = ("ratings", "judgments", "verdicts", "dpo", "generations")
#: What the ratings and judgments tables take from each pair.
_PAIR_NAMES = [col.PAIR_ID, col.PROMPT, col.CATEGORY, col.SYSTEM_A, col.SYSTEM_B]
FORMATS = ("csv", "jsonl", "parquet")
TEXT_FORMATS = ("csv", "jsonl")


def parse_source(source: str | None) -> tuple[VerdictSource | None, str | None]:
    """``None`` | ``"human"`` | ``"judge:SPEC"`` ─► (kind, spec).

    >>> parse_source("judge:openai:gpt-4o") == ("judge", "openai:gpt-4o")
    True
    >>> parse_source("human") == ("human", None), parse_source(None)
    (True, (None, None))
    """
    if source is None or source == "":
        return None, None
    if source == VerdictSource.HUMAN:
        return VerdictSource.HUMAN, None
    if source.startswith("judge:") and len(source) > len("judge:"):
        return VerdictSource.JUDGE, source[len("judge:") :]
    raise InputError(f"--source must be 'human' or 'judge:SPEC', got {source!r}")


def _ratings(session: Session, study: Study) -> pd.DataFrame:
    criteria = criteria_of(study)
    pairs = load_pairs(session, study.id)
    rows = session.execute(
        select(
            Rating.id,
            Rating.pair_id,
            User.username,
            Rating.preference,
            Rating.strength,
            Rating.scores,
            Rating.swapped,
            Rating.comment,
            Rating.time_spent_s,
            Assignment.opened_at,
            Rating.created_at,
            Rating.source,
        )
        .join(User, User.id == Rating.user_id)
        .outerjoin(Assignment, Assignment.id == Rating.assignment_id)
        .where(Rating.study_id == study.id)
        .order_by(Rating.id)
    ).all()
    df = pd.DataFrame(
        rows,
        columns=[
            "rating_id",
            "pair_id",
            "annotator",
            "preference",
            "strength",
            "scores",
            "swapped",
            "comment",
            "time_spent_s",
            "opened_at",
            "created_at",
            "source",
        ],
    )
    # inner: the pairs load_pairs reads, so a gold pair's ratings are never exported
    df = df.merge(pairs[_PAIR_NAMES], on=col.PAIR_ID, how="inner")
    df = df.rename(columns={col.PROMPT: "prompt_id"})  # the external id, as import-ratings reads
    swapped = df["swapped"]
    known = swapped.notna()
    df["shown_left"] = np.where(
        known,
        np.where(swapped == True, df["system_b"], df["system_a"]),  # noqa: E712
        None,
    )
    df["shown_right"] = np.where(
        known,
        np.where(swapped == True, df["system_a"], df["system_b"]),  # noqa: E712
        None,
    )
    df["winner"] = np.where(
        df["preference"] == _A,
        df["system_a"],
        np.where(df["preference"] == _B, df["system_b"], _TIE),
    )
    scores = df.pop("scores").tolist()
    for c in criteria:
        for side in col.SIDES:
            df[col.flat_score_column(c, side)] = [_score(s, c, side) for s in scores]
    cols = [
        "rating_id",
        "pair_id",
        "prompt_id",
        "category",
        "annotator",
        "system_a",
        "system_b",
        "shown_left",
        "shown_right",
        "preference",
        "winner",
        *graded_columns(study, df),
        *col.flat_names(criteria).values(),
        "comment",
        "time_spent_s",
        "opened_at",
        "created_at",
        "source",
    ]
    conversations = rating_conversations(
        session, study.id, df["pair_id"], lambda: _texts(session, study).set_index("pair_id")
    )
    if conversations is not None:  # a conversation study: the turn and both conversations
        df = pd.concat([df, conversations], axis=1)
        cols += list(conversations.columns)
    return df[cols]


def graded_columns(study: Study, df: pd.DataFrame) -> list[str]:
    """A graded study's ratings carry ``grade``: the vote as system_a vs system_b on five
    levels (``A>>B`` .. ``B>>A``, what import-ratings reads back); three-level exports are
    unchanged."""
    strength = df.pop("strength")
    if study.preference_levels != 5 and strength.isna().all():
        return []
    df["grade"] = [
        label(p, None if pd.isna(s) else int(s))
        for p, s in zip(df["preference"], strength, strict=True)
    ]
    return ["grade"]


def _score(scores: Any, criterion: str, side: str) -> Any:
    try:
        return scores[criterion][side]
    except (KeyError, TypeError):
        return None


def _judgments(session: Session, study: Study, spec: str | None) -> pd.DataFrame:
    pairs = load_pairs(session, study.id)
    stmt = select(Judgment).where(Judgment.study_id == study.id).order_by(Judgment.id)
    if spec is not None:
        stmt = stmt.where(Judgment.judge == spec)
    rows = [j.model_dump() for j in session.execute(stmt).scalars()]
    cols = [
        "id",
        "judge",
        "mode",
        "order",
        "pair_id",
        "output_id",
        "template_version",
        "status",
        "shown_winner",
        "winner",
        "scores",
        "reasoning",
        "raw",
        "error",
        "input_tokens",
        "output_tokens",
        "cost_usd",
        "latency_s",
        "created_at",
    ]
    df = pd.DataFrame(rows, columns=cols).rename(columns={"id": "judgment_id"})
    df = df.drop(columns=["output_id"]).merge(pairs[_PAIR_NAMES], on=col.PAIR_ID, how="inner")
    df = df.rename(columns={col.PROMPT: "prompt_id"})
    first = {"ab": "system_a", "ba": "system_b", "a": "system_a", "b": "system_b"}
    df["shown_first"] = [
        row[first[o]] if o in first else None
        for o, row in zip(df["order"], df.to_dict("records"), strict=True)
    ]
    df["winner_system"] = np.where(
        df["winner"] == _A,
        df["system_a"],
        np.where(df["winner"] == _B, df["system_b"], df["winner"]),
    )
    lead = [
        "judgment_id",
        "judge",
        "mode",
        "order",
        "pair_id",
        "prompt_id",
        "category",
        "system_a",
        "system_b",
        "shown_first",
        "status",
        "shown_winner",
        "winner",
        "winner_system",
    ]
    return df[lead + [c for c in df.columns if c not in lead]]


def _filter_verdicts(
    df: pd.DataFrame, kind: VerdictSource | None, spec: str | None
) -> pd.DataFrame:
    if kind == VerdictSource.HUMAN:
        return df[df[col.SOURCE] == VerdictSource.HUMAN]
    if kind == VerdictSource.JUDGE:
        known = sorted(set(df.loc[df[col.SOURCE] == VerdictSource.JUDGE, col.JUDGE]))
        if spec not in known:
            raise NotFound(
                f"no verdicts from judge {spec!r} in this study "
                f"(judges: {', '.join(known) if known else 'none yet'})"
            )
        return df[(df[col.SOURCE] == VerdictSource.JUDGE) & (df[col.JUDGE] == spec)]
    return df


def _texts(session: Session, study: Study) -> pd.DataFrame:
    oa, ob = aliased(Output), aliased(Output)
    rows = session.execute(
        select(Pair.id, Prompt.text, oa.text, ob.text)
        .join(Prompt, Prompt.id == Pair.prompt_id)
        .join(oa, oa.id == Pair.output_a_id)
        .join(ob, ob.id == Pair.output_b_id)
        .where(Pair.study_id == study.id)
    ).all()
    return pd.DataFrame(rows, columns=["pair_id", "prompt", "output_a", "output_b"])


def _dpo(
    session: Session,
    study: Study,
    kind: VerdictSource | None,
    spec: str | None,
    labels: str = "majority",
) -> pd.DataFrame:
    verdicts = _filter_verdicts(load_verdicts(session, study), kind or VerdictSource.HUMAN, spec)
    if kind == VerdictSource.JUDGE:
        ok = verdicts[verdicts[col.PREFERENCE].isin([_A, _B])]
        ok = ok[~ok[col.INCONSISTENT].fillna(False).astype(bool)]
        winners = ok.drop_duplicates(col.PAIR_ID).set_index(col.PAIR_ID)[col.PREFERENCE]
    else:
        counts = pd.crosstab(verdicts[col.PAIR_ID], verdicts[col.PREFERENCE]).reindex(
            columns=[_A, _B, _TIE], fill_value=0
        )
        total = counts.sum(axis=1)
        top = counts.max(axis=1)
        unique_top = (counts == top.to_numpy()[:, None]).sum(axis=1) == 1
        side = counts.idxmax(axis=1)
        clear = unique_top & (side != _TIE) & (top * 2 > total)
        winners = side[clear]
        if labels == ADJUDICATED:  # a reviewer's verdict settles its pair, tie or not
            winners, settled = adjudicated_winners(winners, session, study, set(counts.index))
    texts = _texts(session, study).set_index("pair_id").loc[winners.index]
    conversations = conversational_dpo(session, study.id, winners, texts)
    if conversations is not None:  # TRL's conversational format, with the history
        return conversations
    a_wins = (winners == _A).to_numpy()
    out = pd.DataFrame(
        {
            "prompt": texts["prompt"].to_numpy(),
            "chosen": np.where(a_wins, texts["output_a"], texts["output_b"]),
            "rejected": np.where(a_wins, texts["output_b"], texts["output_a"]),
        }
    )
    if labels == ADJUDICATED and kind != VerdictSource.JUDGE:
        out.attrs["adjudicated"] = settled  # how many pairs a verdict labelled (the CLI says)
    return out


def adjudicated_winners(
    winners: pd.Series, session: Session, study: Study, rated: set[int]
) -> tuple[pd.Series, int]:
    """The majority winners with each adjudicated pair's verdict in their place (a tie
    verdict removes the pair), and how many pairs a verdict decided."""
    settled = {p: pref for p, (pref, _) in load_adjudicated(session, study.id).items()}
    settled = {p: pref for p, pref in settled.items() if p in rated}  # gold pairs never
    kept = winners[~winners.index.isin(list(settled))]
    decided = pd.Series({p: pref for p, pref in settled.items() if pref in (_A, _B)}, dtype=object)
    merged = pd.concat([kept, decided]).sort_index()
    return merged, int(len(decided))


def export_frame(
    source_db: Session | Engine,
    study: Study | int | str,
    what: str,
    source: str | None = None,
    labels: str = "majority",
) -> pd.DataFrame:
    """The table ``what`` (ratings | judgments | verdicts | dpo) of a study as a DataFrame.

    ``source_db`` is a Session or an Engine; ``study`` a Study, id or name; ``source`` is
    None, "human" or "judge:SPEC" (see the module docstring). Raises ``InputError`` for a bad
    ``what``/``source`` and ``NotFound`` for an unknown study or judge.
    """
    if what not in WHATS:
        raise InputError(f"unknown export {what!r}; choose one of {', '.join(WHATS)}")
    kind, spec = parse_source(source)
    with as_session(source_db) as session:
        st = resolve_study(session, study)
        if what == "ratings":
            if kind == VerdictSource.JUDGE:
                raise InputError("ratings are human; use --what judgments or verdicts for judges")
            return _ratings(session, st)
        if what == "judgments":
            if kind == VerdictSource.HUMAN:
                raise InputError("judgments come from judges; use --source judge:SPEC or none")
            df = _judgments(session, st, spec)
            if spec is not None and df.empty:
                raise NotFound(f"no judgments from judge {spec!r} in study {st.name!r}")
            return df
        if what == "generations":
            return generations_frame(session, st)
        if what == "verdicts":
            verdicts = _filter_verdicts(load_verdicts(session, st), kind, spec)
            return verdicts.rename(columns=col.flat_names(criteria_of(st))).reset_index(drop=True)
        if labels not in LABELS:
            raise InputError(f"--labels must be one of {', '.join(LABELS)}, got {labels!r}")
        if labels == ADJUDICATED and kind == VerdictSource.JUDGE:
            raise InputError("--labels adjudicated settles human labels; leave out --source judge")
        return _dpo(session, st, kind, spec, labels)


def _jsonable(df: pd.DataFrame, *, iso_dates: bool = False) -> pd.DataFrame:
    """Dict/list cells as JSON text (CSV, Parquet); with ``iso_dates`` timestamps as ISO 8601
    text with their UTC offset, which ``import-ratings`` reads back."""
    out = df.copy()
    for name in out.columns:
        if iso_dates and (
            pd.api.types.is_datetime64_any_dtype(out[name])
            or out[name].map(lambda v: isinstance(v, datetime)).any()
        ):
            out[name] = out[name].map(lambda v: v.isoformat() if isinstance(v, datetime) else v)
            continue
        if out[name].dtype == object and out[name].map(lambda v: isinstance(v, dict | list)).any():
            out[name] = out[name].map(
                lambda v: json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v
            )
    return out


#: What a spreadsheet reads as the start of a formula (OWASP's CSV injection list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Text cells that a spreadsheet would run as a formula (``=HYPERLINK(...)`` in a model
    output, a comment or a system name) get a leading ``'``, the OWASP rule, so opening the
    CSV shows them as text. Numbers are left alone.

    >>> neutralise_formulas(pd.DataFrame({"t": ["=1+1", "ok", "-x"], "n": [-1, 2, 3]}))
           t  n
    0  '=1+1 -1
    1     ok  2
    2    '-x  3
    """
    out = df.copy()
    for column in out.columns:
        dtype = out[column].dtype
        if pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype):
            out[column] = out[column].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v
            )
    return out


def write_export(
    df: pd.DataFrame,
    fmt: str,
    out: str | Path | IO[bytes] | None = None,
    *,
    formula_guard: bool = True,
) -> bytes | None:
    """Write ``df`` as ``csv`` | ``jsonl`` | ``parquet``. With ``out=None`` return the bytes
    (for a download button or stdout); else write to the path (atomically) or binary file and
    return None. Dict cells (judge scores) become JSON text in CSV and Parquet; timestamps are
    ISO 8601. CSV cells that a spreadsheet would run as formulas are neutralised unless
    ``formula_guard=False`` (for programs that read the CSV); JSONL and Parquet are as is."""
    if fmt not in FORMATS:
        raise InputError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if fmt == "csv":
        table = _jsonable(df, iso_dates=True)
        if formula_guard:
            table = neutralise_formulas(table)
        data = table.to_csv(index=False).encode()
    elif fmt == "jsonl":
        text = (
            df.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
            if len(df)
            else ""  # pandas writes a lone newline for no rows
        )
        data = (text if text.endswith("\n") or not text else text + "\n").encode()
    else:
        buf = io.BytesIO()
        _jsonable(df).to_parquet(buf, index=False)
        data = buf.getvalue()
    if out is None:
        return data
    if isinstance(out, str | Path):
        write_atomic(out, data)  # a failure never leaves half a file
    else:
        out.write(data)
    return None
