"""Adaptive pair allocation against uniform: the votes a study needs for the same
Bradley–Terry intervals, and what an adaptive claim costs.

    python bench/allocation.py [--votes 900] [--runs 4] [--strengths -2.5,-0.5,0,0.5,1,1.5]
    python bench/allocation.py --claims [--pairs 25000]

**Votes.** A seeded simulation through the product's own claim path: for each allocation a
fresh SQLite study of six systems with planted Bradley–Terry strengths (natural-log units;
the default has one weak baseline and five systems spread over 2 log-odds) on ``--prompts``
prompts, every system pair on every prompt, k = 1. Three annotators take turns: each claims
its next pair (``next_assignment``) and votes (``submit_rating``) for the first system with
the planted probability, until ``--votes`` votes. Every ``--every`` votes the votes so far go
to the report's Bradley–Terry code (``analysis.winrates.bradley_terry_ratings``: percentile
intervals from a bootstrap over prompts) and the widest 95% interval over the systems is
recorded. The curves are averaged over ``--runs`` seeds; the figure is the number of votes
adaptive needs to reach the widest interval uniform has after all its votes, and the ratio of
the two (the issue's target: 0.75 or less).

**Claims.** A study of ``--pairs`` pairs (5 systems, 10 pairs per prompt, k = 3) with two
imported ratings on every pair; a newcomer claims and votes ``--claims-votes`` pairs under each
allocation. Prints the milliseconds per claim and the ratio adaptive / uniform, measured in
the same process, so the ratio travels between machines; never fails on a time.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlmodel import Session, select

from sidebyside.analysis import columns as col
from sidebyside.analysis.winrates import bradley_terry_ratings
from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.blinding import to_shown
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study
from sidebyside.foundation.db import get_engine, init_db
from sidebyside.foundation.enums import Allocation, Preference
from sidebyside.foundation.models import Output, Pair, Study, System, User
from sidebyside.foundation.rubric import default_rubric

STRENGTHS = (-2.5, -0.5, 0.0, 0.5, 1.0, 1.5)
SCORES = {c: {"A": 3, "B": 3} for c in default_rubric().names}


@dataclass(frozen=True)
class Curve:
    """The widest (and mean) 95% Bradley–Terry interval, in Elo points, after each
    checkpoint's number of votes."""

    votes: list[int]
    widest: list[float]
    mean: list[float]


def _study(engine, strengths: tuple[float, ...], prompts: int, seed: int, allocation: str):
    """A study of every system pair on every prompt, k = 1; its id and pair ─► (system
    index of output a, of output b)."""
    spec = SyntheticSpec(
        name=f"sim-{allocation}-{seed}",
        strengths=list(strengths),
        n_prompts=prompts,
        n_annotators=0,
        per_pair=0,
        judges={},
        seed=seed,
    )
    sid = build_synthetic_study(engine, spec)
    with Session(engine) as session:
        study = session.get(Study, sid)
        study.k, study.allocation = 1, allocation
        session.add(study)
        index = {
            s.id: int(s.name.rsplit("-", 1)[1])
            for s in session.exec(select(System).where(System.study_id == sid))
        }
        system_of = {o.id: index[o.system_id] for o in session.exec(select(Output))}
        sides = {
            p.id: (system_of[p.output_a_id], system_of[p.output_b_id], p.prompt_id)
            for p in session.exec(select(Pair).where(Pair.study_id == sid))
        }
        session.commit()
    return sid, sides


def _widths(votes: list[tuple[int, int, int, str]], n_boot: int, seed: int) -> tuple[float, ...]:
    frame = pd.DataFrame(votes, columns=[col.PROMPT_ID, col.SYSTEM_A, col.SYSTEM_B, col.PREFERENCE])
    for side in (col.SYSTEM_A, col.SYSTEM_B):
        frame[side] = "system-" + frame[side].astype(str)
    rows = bradley_terry_ratings(frame, n_boot=n_boot, seed=seed)
    spans = [r["ci_high"] - r["ci_low"] for r in rows or [] if r["ci_low"] is not None]
    return (max(spans), float(np.mean(spans))) if spans else (np.inf, np.inf)


def simulate(
    allocation: str,
    *,
    strengths: tuple[float, ...] = STRENGTHS,
    votes: int = 900,
    every: int = 30,
    prompts: int = 300,
    seed: int = 0,
    n_boot: int = 300,
    annotators: int = 3,
) -> Curve:
    """One seeded run: claims and votes through the product, the widths every ``every``."""
    rng = np.random.default_rng(seed)
    beta = np.asarray(strengths)
    with tempfile.TemporaryDirectory() as tmp:
        engine = init_db(get_engine(f"sqlite:///{Path(tmp) / 'sim.db'}"))
        sid, sides = _study(engine, strengths, prompts, seed, allocation)
        cast: list[tuple[int, int, int, str]] = []
        curve = Curve([], [], [])
        with Session(engine) as session:
            people = [User(username=f"sim{i}", password_hash=None) for i in range(annotators)]
            session.add_all(people)
            session.commit()
            study = session.get(Study, sid)
            for t in range(votes):
                user = people[t % annotators]
                got = next_assignment(session, study=study, user=user)
                if got is None:
                    break
                a, b, prompt = sides[got.pair_id]
                won = rng.random() < 1.0 / (1.0 + np.exp(beta[b] - beta[a]))
                canonical = Preference.A if won else Preference.B
                submit_rating(
                    session,
                    assignment_id=got.id,
                    user_id=user.id,
                    preference=to_shown(canonical, got.swapped),
                    scores=SCORES,
                    time_spent_s=1.0,
                )
                session.commit()
                cast.append((prompt, a, b, canonical.value))
                if (t + 1) % every == 0:
                    widest, mean = _widths(cast, n_boot, seed)
                    curve.votes.append(t + 1)
                    curve.widest.append(widest)
                    curve.mean.append(mean)
        engine.dispose()
    return curve


def votes_to_reach(votes: list[int], widths: np.ndarray, target: float) -> float | None:
    """The votes at which a width curve first reaches ``target`` (linear between
    checkpoints); None if it never does."""
    below = np.flatnonzero(widths <= target)
    if below.size == 0:
        return None
    k = int(below[0])
    if k == 0:
        return float(votes[0])
    x0, x1, y0, y1 = votes[k - 1], votes[k], widths[k - 1], widths[k]
    return float(x0 + (x1 - x0) * (y0 - target) / (y0 - y1))


def compare(runs: int, **kwargs) -> dict[str, float | None]:
    """Both allocations over ``runs`` seeds: the averaged curves' votes to uniform's final
    widest (and mean) interval, and the ratios adaptive / uniform."""
    curves = {a: [simulate(a, seed=seed, **kwargs) for seed in range(runs)] for a in Allocation}
    out: dict[str, float | None] = {}
    for measure in ("widest", "mean"):
        avg = {a: np.mean([getattr(c, measure) for c in cs], axis=0) for a, cs in curves.items()}
        grid = curves[Allocation.UNIFORM][0].votes
        target = float(avg[Allocation.UNIFORM][-1])
        needed = votes_to_reach(grid, avg[Allocation.ADAPTIVE], target)
        out[f"{measure}_width_uniform_end"] = target
        out[f"{measure}_width_adaptive_end"] = float(avg[Allocation.ADAPTIVE][-1])
        out[f"{measure}_votes_uniform"] = float(grid[-1])
        out[f"{measure}_votes_adaptive"] = needed
        out[f"{measure}_ratio"] = None if needed is None else needed / grid[-1]
        # A width shrinks as 1/sqrt(votes): the votes ratio for equal widths over the second
        # half of the checkpoints, steadier than one crossing on a short run.
        half = len(grid) // 2
        scale = {a: float(np.mean(avg[a][half:] * np.sqrt(grid[half:]))) for a in Allocation}
        out[f"{measure}_fit_ratio"] = (scale[Allocation.ADAPTIVE] / scale[Allocation.UNIFORM]) ** 2
    return out


def claim_cost(pairs: int, n_votes: int) -> dict[str, float]:
    """Milliseconds per claim of a newcomer under each allocation on a large study."""
    with tempfile.TemporaryDirectory() as tmp:
        engine = init_db(get_engine(f"sqlite:///{Path(tmp) / 'claims.db'}"))
        spec = SyntheticSpec(
            name="claims",
            strengths=[0.0, 0.3, 0.6, 0.9, 1.2],
            n_prompts=pairs // 10,
            n_annotators=10,
            per_pair=2,
            tie_rate=0.1,
            judges={},
        )
        sid = build_synthetic_study(engine, spec)
        out: dict[str, float] = {}
        with Session(engine) as session:
            study = session.get(Study, sid)
            study.k = 3
            # uniform again last: the machine's load may drift while the three run
            for label, allocation in (
                ("uniform", Allocation.UNIFORM),
                ("adaptive", Allocation.ADAPTIVE),
                ("uniform_again", Allocation.UNIFORM),
            ):
                study.allocation = allocation
                session.add(study)
                user = User(username=f"new-{label}", password_hash=None)
                session.add(user)
                session.commit()
                times = []
                for i in range(n_votes + 1):
                    t0 = time.perf_counter()
                    got = next_assignment(session, study=study, user=user)
                    times.append(time.perf_counter() - t0)
                    submit_rating(
                        session,
                        assignment_id=got.id,
                        user_id=user.id,
                        preference="A" if i % 3 else "B",
                        scores=SCORES,
                        time_spent_s=1.0,
                    )
                    session.commit()
                out[f"{label}_first_claim_ms"] = 1000 * times[0]
                out[f"{label}_claim_ms"] = 1000 * float(np.mean(times[1:]))
        engine.dispose()
    out["adaptive_over_uniform"] = out["adaptive_claim_ms"] / (
        (out["uniform_claim_ms"] + out["uniform_again_claim_ms"]) / 2
    )
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--votes", type=int, default=900)
    ap.add_argument("--every", type=int, default=30)
    ap.add_argument("--runs", type=int, default=4)
    ap.add_argument("--prompts", type=int, default=300)
    ap.add_argument("--strengths", default=",".join(str(s) for s in STRENGTHS))
    ap.add_argument("--claims", action="store_true", help="time claims instead")
    ap.add_argument("--pairs", type=int, default=25_000)
    ap.add_argument("--claims-votes", type=int, default=30)
    args = ap.parse_args()
    t0 = time.perf_counter()
    if args.claims:
        figures = claim_cost(args.pairs, args.claims_votes)
    else:
        strengths = tuple(float(s) for s in args.strengths.split(","))
        print(f"strengths {strengths}, {args.votes} votes, {args.runs} runs")
        figures = compare(
            args.runs,
            strengths=strengths,
            votes=args.votes,
            every=args.every,
            prompts=args.prompts,
        )
    for key, value in figures.items():
        print(f"{key:32} {'never' if value is None else f'{value:.3f}'}")
    print(f"{'seconds':32} {time.perf_counter() - t0:.1f}")


if __name__ == "__main__":
    main()
