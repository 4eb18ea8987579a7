"""Annotating a large study: what one vote costs the annotate page.

A study of 20,000 pairs (5 systems, 2,000 prompts), k = 3, where ten annotators have already
rated two thirds of the needed votes (40,000 app assignments, 2 per pair) and a few leases are
open, some expired. One more annotator then works through ``--votes`` pairs the way the
annotate page does it: ``next_assignment`` (claim), ``my_progress`` (the bar), ``blind_view``,
``submit_rating``. Last, the admin's progress page (``study_progress``) over all of it.

Baseline, in the same process: reading the study's pair ids with one indexed query, the least
any claim has to do, so the ratio travels between machines.

Usage: ``python bench/assignment_scale.py [--pairs 20000] [--votes 30] [--json OUT]``.
Prints wall-clock milliseconds per vote and the ratio to the baseline; never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from sidebyside.annotate.assignment import next_assignment, submit_rating  # noqa: E402
from sidebyside.annotate.blinding import blind_view  # noqa: E402
from sidebyside.annotate.progress import my_progress, study_progress  # noqa: E402
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study  # noqa: E402
from sidebyside.foundation.db import get_engine, init_db  # noqa: E402
from sidebyside.foundation.models import Assignment, Pair, Study, User, utcnow  # noqa: E402
from sidebyside.foundation.rubric import default_rubric  # noqa: E402


def seed_work(engine, study_id: int, n_annotators: int, per_pair: int, rng) -> None:
    """``per_pair`` finished assignments on every pair, plus open leases on a few."""
    now = utcnow()
    with Session(engine) as session:
        users = [User(username=f"busy{i}", password_hash=None) for i in range(n_annotators)]
        session.add_all(users)
        session.commit()
        user_ids = [u.id for u in users]
        pair_ids = session.exec(select(Pair.id).where(Pair.study_id == study_id)).all()
        rows = []
        for pid in pair_ids:
            who = rng.choice(n_annotators, size=per_pair + 1, replace=False)
            for slot in range(per_pair):
                rows.append(
                    {
                        "study_id": study_id,
                        "pair_id": pid,
                        "user_id": user_ids[who[slot]],
                        "slot": slot,
                        "swapped": bool(rng.random() < 0.5),
                        "status": "done",
                        "opened_at": now - timedelta(hours=2),
                        "finished_at": now - timedelta(hours=1),
                    }
                )
            if rng.random() < 0.05:  # someone has the last slot open, fresh or long abandoned
                stale = rng.random() < 0.5
                rows.append(
                    {
                        "study_id": study_id,
                        "pair_id": pid,
                        "user_id": user_ids[who[per_pair]],
                        "slot": per_pair,
                        "swapped": False,
                        "status": "open",
                        "opened_at": now - timedelta(hours=3 if stale else 0),
                    }
                )
        session.execute(insert(Assignment), rows)
        session.commit()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20_000, help="pairs (10 per prompt)")
    ap.add_argument("--votes", type=int, default=30, help="votes timed")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()
    rng = np.random.default_rng(0)

    with tempfile.TemporaryDirectory() as tmp:
        engine = init_db(get_engine(f"sqlite:///{tmp}/bench.db"))
        spec = SyntheticSpec(
            name="bench",
            strengths=[0.0, 0.2, 0.4, 0.6, 0.8],
            n_prompts=args.pairs // 10,
            n_annotators=1,
            per_pair=0,
            judges={},
        )
        sid = build_synthetic_study(engine, spec)
        seed_work(engine, sid, n_annotators=10, per_pair=2, rng=rng)
        with Session(engine) as session:
            study = session.get(Study, sid)
            study.k = 3  # the synthetic study was built without ratings (per_pair=0)
            session.add(study)
            newcomer = User(username="newcomer", password_hash=None)
            session.add(newcomer)
            session.commit()
            session.refresh(newcomer)

            def read_pair_ids() -> None:
                session.exec(select(Pair.id).where(Pair.study_id == sid)).all()

            read_pair_ids()
            t0 = time.perf_counter()
            for _ in range(args.votes):
                read_pair_ids()
            t_base = (time.perf_counter() - t0) / args.votes

            scores = {c: {"A": 4, "B": 3} for c in default_rubric().names}
            claim = bar = view = submit = 0.0
            for i in range(args.votes):
                t0 = time.perf_counter()
                a = next_assignment(session, study=study, user=newcomer)
                t1 = time.perf_counter()
                my_progress(session, study=study, user_id=newcomer.id)
                t2 = time.perf_counter()
                blind_view(session, a)
                t3 = time.perf_counter()
                submit_rating(
                    session,
                    assignment_id=a.id,
                    user_id=newcomer.id,
                    preference="A" if i % 2 else "B",
                    scores=scores,
                    time_spent_s=10.0,
                )
                session.commit()  # the page's unit of work commits each vote
                t4 = time.perf_counter()
                claim += t1 - t0
                bar += t2 - t1
                view += t3 - t2
                submit += t4 - t3
            study_progress(session, study=study)
            t0 = time.perf_counter()
            study_progress(session, study=study)
            t_admin = time.perf_counter() - t0
        engine.dispose()

    n = args.votes
    per_vote = (claim + bar + view + submit) / n
    figures = {
        "pairs": args.pairs,
        "votes": n,
        "load_average_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "baseline_read_pair_ids_ms": 1000 * t_base,
        "claim_ms": 1000 * claim / n,
        "progress_ms": 1000 * bar / n,
        "blind_view_ms": 1000 * view / n,
        "submit_ms": 1000 * submit / n,
        "per_vote_ms": 1000 * per_vote,
        "per_vote_over_baseline": per_vote / t_base,
        "admin_progress_page_ms": 1000 * t_admin,
        "admin_progress_over_baseline": t_admin / t_base,
    }
    for key, value in figures.items():
        print(f"{key:28} {value:.2f}" if isinstance(value, float) else f"{key:28} {value}")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")


if __name__ == "__main__":
    main()
