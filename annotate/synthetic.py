"""A synthetic study with known ground truth, for tests, benchmarks and demos.

Systems have latent Bradley–Terry strengths; annotators see the truth through noise (and one
can be made careless); judges have a chosen position bias. Rows go in with bulk inserts, so a
100,000-rating study is built in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

import numpy as np
from sqlalchemy import Row, insert
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.enums import JudgeMode, Preference, RatingSource
from sidebyside.foundation.models import (
    JudgeVerdict,
    Output,
    Pair,
    Prompt,
    Rating,
    Study,
    System,
    User,
)
from sidebyside.foundation.rubric import default_rubric, rubric_of


@dataclass
class SyntheticSpec:
    """What to generate. Strengths are natural-log BT strengths, one per system."""

    name: str = "synthetic"
    strengths: list[float] = field(default_factory=lambda: [0.0, 0.4, 0.8])
    n_prompts: int = 40
    #: Pairs per prompt: all system combinations when None, else a random subset of this size.
    pairs_per_prompt: int | None = None
    n_annotators: int = 5
    per_pair: int = 3
    tie_rate: float = 0.15
    #: Probability that an annotator answers at random; the last annotator gets ``careless``.
    noise: float = 0.1
    careless: float | None = None
    #: judge name ─► probability of picking the first-shown output regardless of quality.
    judges: dict[str, float] = field(default_factory=lambda: {"judge:fair": 0.0})
    #: Prompts cycle through this many categories ("cat0", "cat1", ...); 0 = none.
    n_categories: int = 0
    seed: int = 0


def _pick(rng, p_first: np.ndarray, tie_rate: float) -> np.ndarray:
    u = rng.random(len(p_first))
    out = np.where(u < p_first, Preference.A.value, Preference.B.value).astype(object)
    out[rng.random(len(p_first)) < tie_rate] = Preference.TIE.value
    return out


@dataclass
class _Pairs:
    """The pairs written, in id order, with the system index shown on each side."""

    ids: list[int]
    first: np.ndarray
    second: np.ndarray


def build_synthetic_study(engine: Engine, spec: SyntheticSpec) -> int:
    """Create the study and all its rows in one unit of work (committed on return); returns
    the study id. The draws happen in a fixed order, so a seed always gives the same study."""
    rng = np.random.default_rng(spec.seed)
    strengths = np.asarray(spec.strengths, dtype=float)
    rubric = default_rubric()
    with unit_of_work(engine) as session:
        sid, sys_ids = _insert_study(session, spec, rubric.model_dump())
        prompt_ids = _insert_prompts(session, spec, sid)
        outputs = _insert_outputs(session, rng, strengths, sid, prompt_ids, sys_ids)
        pairs = _insert_pairs(session, rng, spec, sid, prompt_ids, outputs)
        p_a = 1.0 / (1.0 + np.exp(strengths[pairs.second] - strengths[pairs.first]))
        user_ids = _insert_annotators(session, spec)
        ratings = _rating_rows(rng, spec, sid, pairs, p_a, strengths, user_ids, rubric.names)
        if ratings:  # an empty insert() would write one row of defaults
            session.execute(insert(Rating), ratings)
        verdicts = _verdict_rows(rng, spec, sid, pairs.ids, p_a)
        if verdicts:
            session.execute(insert(JudgeVerdict), verdicts)
        return sid


def _insert_study(session: Session, spec: SyntheticSpec, rubric: dict) -> tuple[int, list[int]]:
    """The study and its systems ("system-0", ...); returns their ids."""
    study = Study(name=spec.name, rubric=rubric, k=spec.per_pair, seed=spec.seed)
    session.add(study)
    session.flush()
    systems = [System(study_id=study.id, name=f"system-{i}") for i in range(len(spec.strengths))]
    session.add_all(systems)
    session.flush()
    return study.id, [s.id for s in systems]


def _insert_prompts(session: Session, spec: SyntheticSpec, sid: int) -> list[int]:
    rows = [
        {
            "study_id": sid,
            "external_id": f"p{i}",
            "text": f"Prompt {i}?",
            "category": f"cat{i % spec.n_categories}" if spec.n_categories else None,
        }
        for i in range(spec.n_prompts)
    ]
    session.execute(insert(Prompt), rows)
    return list(
        session.scalars(select(Prompt.id).where(Prompt.study_id == sid).order_by(Prompt.id))
    )


def _insert_outputs(
    session: Session,
    rng: np.random.Generator,
    strengths: np.ndarray,
    sid: int,
    prompt_ids: list[int],
    sys_ids: list[int],
) -> list[dict[int, int]]:
    """One output per prompt and system; item j maps prompt id ─► output id of system j."""
    # Better systems write a little longer on average (verbosity is then confounded, as in
    # real data).
    size = (len(prompt_ids), len(sys_ids))
    lengths = rng.integers(20, 200, size=size) + (strengths * 40).astype(int)
    rows = [
        {"prompt_id": p, "system_id": s, "text": "w" * int(lengths[i, j])}
        for i, p in enumerate(prompt_ids)
        for j, s in enumerate(sys_ids)
    ]
    session.execute(insert(Output), rows)
    by_system: dict[int, dict[int, int]] = {s: {} for s in sys_ids}
    for o, p, s in session.execute(
        select(Output.id, Output.prompt_id, Output.system_id)
        .join(Prompt)
        .where(Prompt.study_id == sid)
    ).all():
        by_system[s][p] = o
    return [by_system[s] for s in sys_ids]


def _insert_pairs(
    session: Session,
    rng: np.random.Generator,
    spec: SyntheticSpec,
    sid: int,
    prompt_ids: list[int],
    outputs: list[dict[int, int]],
) -> _Pairs:
    """Every system combination per prompt (or ``pairs_per_prompt`` of them), each in a random
    canonical order; ``outputs[j]`` maps prompt id ─► output id of system index j."""
    combos = list(combinations(range(len(outputs)), 2))
    rows, shown = [], []
    for p in prompt_ids:
        chosen = combos
        if spec.pairs_per_prompt is not None:
            pick = rng.choice(len(combos), size=spec.pairs_per_prompt, replace=False)
            chosen = [combos[c] for c in pick]
        for x, y in chosen:
            if rng.random() < 0.5:  # canonical order is not always the study order
                x, y = y, x
            rows.append(
                {
                    "study_id": sid,
                    "prompt_id": p,
                    "output_a_id": outputs[x][p],
                    "output_b_id": outputs[y][p],
                }
            )
            shown.append((x, y))
    session.execute(insert(Pair), rows)
    ids = session.scalars(select(Pair.id).where(Pair.study_id == sid).order_by(Pair.id)).all()
    first, second = np.array([m[0] for m in shown]), np.array([m[1] for m in shown])
    return _Pairs(ids=list(ids), first=first, second=second)


def _insert_annotators(session: Session, spec: SyntheticSpec) -> list[int]:
    users = [
        User(username=f"{spec.name}-ann{i}", password_hash=None) for i in range(spec.n_annotators)
    ]
    session.add_all(users)
    session.flush()
    return [u.id for u in users]


def _rating_rows(
    rng: np.random.Generator,
    spec: SyntheticSpec,
    sid: int,
    pairs: _Pairs,
    p_a: np.ndarray,
    strengths: np.ndarray,
    user_ids: list[int],
    criteria: list[str],
) -> list[dict]:
    """``per_pair`` ratings per pair by distinct annotators, each noisy (the last one
    ``careless`` when set), with 1-5 criterion scores around each side's strength."""
    n_pairs = len(pairs.ids)
    raters = np.argsort(rng.random((n_pairs, spec.n_annotators)), axis=1)[:, : spec.per_pair]
    noise = np.full(spec.n_annotators, spec.noise)
    if spec.careless is not None:
        noise[-1] = spec.careless
    rows = []
    for slot in range(spec.per_pair):
        who = raters[:, slot]
        prob = np.where(rng.random(n_pairs) < noise[who], 0.5, p_a)
        prefs = _pick(rng, prob, spec.tie_rate)
        swapped = rng.random(n_pairs) < 0.5
        qa = 3 + strengths[pairs.first] + rng.normal(0, 0.7, n_pairs)
        qb = 3 + strengths[pairs.second] + rng.normal(0, 0.7, n_pairs)
        for k in range(n_pairs):
            rows.append(
                {
                    "study_id": sid,
                    "pair_id": pairs.ids[k],
                    "user_id": user_ids[who[k]],
                    "preference": prefs[k],
                    "scores": _scores(rng, qa[k], qb[k], criteria),
                    "swapped": bool(swapped[k]),
                    "time_spent_s": float(rng.gamma(4, 10)),
                    "source": RatingSource.APP,
                    "comment": "",
                }
            )
    return rows


def _scores(
    rng: np.random.Generator, qa: float, qb: float, criteria: list[str], spread: float = 0.4
) -> dict[str, dict[str, int]]:
    """Each criterion's 1-5 score per side: the pair's quality plus a little noise."""
    return {
        c: {
            "a": int(np.clip(round(qa + rng.normal(0, spread)), 1, 5)),
            "b": int(np.clip(round(qb + rng.normal(0, spread)), 1, 5)),
        }
        for c in criteria
    }


def _verdict_rows(
    rng: np.random.Generator, spec: SyntheticSpec, sid: int, pair_ids: list[int], p_a: np.ndarray
) -> list[dict]:
    """One verdict per judge and pair from both presentation orders; a judge with bias b
    picks the first-shown output with probability b regardless of quality."""
    rows = []
    n_pairs = len(pair_ids)
    for judge, bias in spec.judges.items():
        w_ab = _pick(rng, np.where(rng.random(n_pairs) < bias, 1.0, p_a), spec.tie_rate / 2)
        w_ba = _pick(rng, np.where(rng.random(n_pairs) < bias, 0.0, p_a), spec.tie_rate / 2)
        for k in range(n_pairs):
            consistent = w_ab[k] == w_ba[k]
            rows.append(
                {
                    "study_id": sid,
                    "pair_id": pair_ids[k],
                    "judge": judge,
                    "mode": JudgeMode.PAIRWISE,
                    "winner": w_ab[k] if consistent else Preference.TIE,
                    "inconsistent": not consistent,
                    "winner_ab": w_ab[k],
                    "winner_ba": w_ba[k],
                    "reasoning": "",
                }
            )
    return rows


def simulate_sample_ratings(
    session: Session, *, study: Study, raters: list[User], judge: str, seed: int = 0
) -> tuple[int, int]:
    """Simulated ratings by ``raters`` on every pair of an imported ``study`` (each pair
    rated by all of them), and one consistent verdict per pair of a longest-answer ``judge``:
    the demo's *sample* study, so a first start shows every Results panel. Systems get seeded
    latent strengths; raters see them through noise. Nothing commits; returns (ratings,
    verdicts) added."""
    rng = np.random.default_rng(seed)
    names = session.exec(select(System.id, System.name).where(System.study_id == study.id)).all()
    strength = {sid: float(rng.normal(0, 0.8)) for sid, _ in sorted(names, key=lambda r: r[1])}
    pairs = _pairs_with_texts(session, study.id)
    crit = rubric_of(study).names
    ratings, verdicts = [], []
    for pair_id, sys_a, text_a, sys_b, text_b in pairs:
        # What the pair really shows (shared by every rater, so they agree fairly well) ...
        gap = strength[sys_a] - strength[sys_b] + rng.normal(0, 1.0)
        for n, rater in enumerate(raters):
            ratings.append(_sample_rating(rng, study.id, pair_id, rater.id, n, gap, crit))
        verdicts.append(_longer_wins(study.id, pair_id, judge, text_a, text_b))
    session.add_all(ratings + verdicts)
    session.flush()
    return len(ratings), len(verdicts)


def _pairs_with_texts(session: Session, sid: int) -> Sequence[Row]:
    """(pair id, system a, text a, system b, text b) of every pair of the study, by id."""
    out_a, out_b = Output.__table__.alias("oa"), Output.__table__.alias("ob")
    return session.execute(
        select(Pair.id, out_a.c.system_id, out_a.c.text, out_b.c.system_id, out_b.c.text)
        .join(out_a, out_a.c.id == Pair.output_a_id)
        .join(out_b, out_b.c.id == Pair.output_b_id)
        .where(Pair.study_id == sid)
        .order_by(Pair.id)
    ).all()


def _sample_rating(
    rng: np.random.Generator,
    sid: int,
    pair_id: int,
    user_id: int,
    n: int,
    gap: float,
    criteria: list[str],
) -> Rating:
    """The ``n``-th rater's view of a pair whose true quality gap is ``gap``: seen through
    that rater's own noise; the last rater is the sloppiest."""
    noisy = gap + rng.normal(0, 0.3 + 0.3 * n)
    pref = Preference.TIE if abs(noisy) < 0.25 else (Preference.A if noisy > 0 else Preference.B)
    return Rating(
        study_id=sid,
        pair_id=pair_id,
        user_id=user_id,
        preference=pref.value,
        scores=_scores(rng, 3 + gap / 2, 3 - gap / 2, criteria, spread=0.7),
        swapped=bool(rng.random() < 0.5),
        time_spent_s=float(rng.gamma(4, 10)),
        source=RatingSource.IMPORT,
    )


def _longer_wins(sid: int, pair_id: int, judge: str, text_a: str, text_b: str) -> JudgeVerdict:
    """A consistent verdict of the longest-answer baseline judge."""
    longer = (
        Preference.TIE
        if len(text_a) == len(text_b)
        else (Preference.A if len(text_a) > len(text_b) else Preference.B)
    )
    return JudgeVerdict(
        study_id=sid,
        pair_id=pair_id,
        judge=judge,
        mode=JudgeMode.PAIRWISE,
        winner=longer.value,
        winner_ab=longer.value,
        winner_ba=longer.value,
        reasoning="simulated: the longer answer wins",
    )
