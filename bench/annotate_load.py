"""A real study on a server: many annotators at once, with and without a big import.

``--annotators`` threads (default 50, as Streamlit runs sessions: threads over one engine)
loop claim (``next_assignment``) then submit (``submit_rating``), each in its own unit of
work as the annotate page does, for ``--seconds`` (default 60) on a study of ``--pairs``
pairs (default 25,000), k = 3. A second phase does the same while a ``--import-rows``-row
file (default 50,000 rows) is imported into another study.

Baseline, in the same run and on the same database: one annotator alone for a few seconds.
Printed: ratings/s, p50/p95/p99 of claim and submit (ms), errors, and the invariants after
each phase (<= k ratings per pair, no (pair, annotator) twice, every acknowledged vote stored,
no stored vote reported as failed), plus ratios against the baseline. Never fails on a time;
exits 1 if an invariant breaks.

Usage: ``python bench/annotate_load.py [--backend sqlite|postgresql|both] [--seconds 60]
[--pg-url postgresql+psycopg://...]`` (the PostgreSQL URL defaults to
``SIDEBYSIDE_TEST_POSTGRES_URL``; its tables are dropped first).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402
from sqlalchemy import insert  # noqa: E402
from sqlmodel import Session, select  # noqa: E402

from sidebyside.annotate.assignment import next_assignment, submit_rating  # noqa: E402
from sidebyside.annotate.importing import import_sources  # noqa: E402
from sidebyside.annotate.studies import create_study  # noqa: E402
from sidebyside.foundation.db import drop_schema, get_engine, init_db, unit_of_work  # noqa: E402
from sidebyside.foundation.models import Assignment, Rating, User  # noqa: E402
from sidebyside.foundation.settings import get_settings  # noqa: E402

SCORES = {c: {"A": 4, "B": 3} for c in ("Accuracy", "Relevance", "Format compliance", "Fluency")}


def long_csv(n_prompts: int, tag: str) -> bytes:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["prompt_id", "prompt", "system", "output"])
    for i in range(n_prompts):
        for s in ("base", "tuned"):
            w.writerow([f"{tag}{i}", f"Question {i}?", s, f"{s} answer to {i} " * 8])
    return buf.getvalue().encode()


def fresh_engine(url: str):
    get_settings.cache_clear()
    get_engine.cache_clear()
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        drop_schema(engine)
    return init_db(engine)


def setup(engine, pairs: int, annotators: int, k: int):
    with unit_of_work(engine) as s:
        study = create_study(s, name="load", k=k, seed=7)
        import_sources(s, study=study, sources=[("o.csv", long_csv(pairs, "p"))])
    with unit_of_work(engine) as s:
        s.execute(
            insert(User),
            [{"username": f"ann{i}", "role": "annotator"} for i in range(annotators + 1)],
        )
    with Session(engine) as s:
        users = list(s.exec(select(User).order_by(User.id)))
    return study, users


class Run:
    """What one phase measured."""

    def __init__(self) -> None:
        self.claim: list[float] = []
        self.submit: list[float] = []
        self.acknowledged: list[int] = []
        self.errors: Counter[str] = Counter()
        self.lock = threading.Lock()


def annotator(engine, study, user, deadline: float, run: Run) -> None:
    while time.perf_counter() < deadline:
        try:
            t0 = time.perf_counter()
            with unit_of_work(engine) as s:
                a = next_assignment(s, study=study, user=user)
            t1 = time.perf_counter()
            if a is None:
                return
            with unit_of_work(engine) as s:
                r = submit_rating(
                    s, assignment_id=a.id, user_id=user.id, preference="A", scores=SCORES
                )
            t2 = time.perf_counter()
            with run.lock:
                run.claim.append(t1 - t0)
                run.submit.append(t2 - t1)
                run.acknowledged.append(r.id)
        except Exception as exc:  # noqa: BLE001 - counted: the target is zero
            with run.lock:
                run.errors[f"{type(exc).__name__}: {str(exc).splitlines()[0][:80]}"] += 1


def phase(engine, study, users, seconds: float, import_rows: int = 0) -> tuple[Run, float, str]:
    run = Run()
    deadline = time.perf_counter() + seconds
    threads = [
        threading.Thread(target=annotator, args=(engine, study, u, deadline, run)) for u in users
    ]
    note = ""
    start = time.perf_counter()
    for t in threads:
        t.start()
    if import_rows:
        time.sleep(min(2.0, seconds / 4))  # annotators are at work when it starts
        with unit_of_work(engine) as s:
            other = create_study(s, name=f"incoming{time.time_ns()}", k=3, seed=1)
        t0 = time.perf_counter()
        with unit_of_work(engine) as s:
            rep = import_sources(
                s, study=other, sources=[("big.csv", long_csv(import_rows // 2, "q"))]
            )
        note = (
            f"import of {import_rows} rows took {time.perf_counter() - t0:.1f} s ({rep.summary()})"
        )
    for t in threads:
        t.join()
    return run, time.perf_counter() - start, note


def invariants(engine, study, k: int, acknowledged: list[int]) -> list[str]:
    """What is broken (empty: nothing), over the whole study after a phase."""
    broken = []
    with Session(engine) as s:
        ratings = s.exec(select(Rating.id, Rating.pair_id, Rating.user_id).where(
            Rating.study_id == study.id)).all()  # fmt: skip
        slots = s.exec(select(Assignment.pair_id, Assignment.slot).where(
            Assignment.study_id == study.id, Assignment.slot.is_not(None))).all()  # fmt: skip
    if max(Counter(p for _, p, _ in ratings).values(), default=0) > k:
        broken.append("a pair has more than k ratings")
    if len({(p, u) for _, p, u in ratings}) != len(ratings):
        broken.append("an annotator rated a pair twice")
    stored, acked = {i for i, _, _ in ratings}, set(acknowledged)
    if acked - stored:
        broken.append(f"{len(acked - stored)} acknowledged votes are not stored")
    if stored - acked:
        broken.append(f"{len(stored - acked)} stored votes were reported as failed")
    if len(set(slots)) != len(slots):
        broken.append("a slot is held twice")
    return broken


def pct(values: list[float], q: float) -> float:
    return 1000 * float(np.percentile(values, q)) if values else float("nan")


def report(label: str, run: Run, wall: float, broken: list[str]) -> float:
    rate = len(run.acknowledged) / wall
    print(
        f"  {label}: {len(run.acknowledged)} ratings in {wall:.1f} s = {rate:.1f} ratings/s; "
        f"claim p50/p95/p99 {pct(run.claim, 50):.1f}/{pct(run.claim, 95):.1f}/"
        f"{pct(run.claim, 99):.1f} ms; submit p50/p95/p99 {pct(run.submit, 50):.1f}/"
        f"{pct(run.submit, 95):.1f}/{pct(run.submit, 99):.1f} ms; "
        f"errors {sum(run.errors.values())}; invariants {broken or 'OK'}"
    )
    for message, n in run.errors.most_common(5):
        print(f"    {n} x {message}")
    return rate


def bench(url: str, args) -> bool:
    engine = fresh_engine(url)
    t0 = time.perf_counter()
    study, users = setup(engine, args.pairs, args.annotators, args.k)
    print(f"{engine.dialect.name}: {args.pairs} pairs, k={args.k}, set up in "
          f"{time.perf_counter() - t0:.1f} s; pool {engine.pool.size()} + "
          f"{getattr(engine.pool, '_max_overflow', 0)}")  # fmt: skip
    ok, acked = True, []
    base, wall, _ = phase(engine, study, users[:1], args.baseline_seconds)
    acked += base.acknowledged
    broken = invariants(engine, study, args.k, acked)
    base_rate = report("baseline, 1 annotator", base, wall, broken)
    ok &= not broken
    load, wall, _ = phase(engine, study, users[1:], args.seconds)
    acked += load.acknowledged
    broken = invariants(engine, study, args.k, acked)
    rate = report(f"{args.annotators} annotators", load, wall, broken)
    ok &= not broken
    print(f"    ratio: throughput x{rate / base_rate:.1f} of one annotator; p95 claim "
          f"x{pct(load.claim, 95) / pct(base.claim, 50):.1f} of one annotator's p50")  # fmt: skip
    if args.import_rows:
        loaded, wall, note = phase(engine, study, users[1:], args.seconds, args.import_rows)
        acked += loaded.acknowledged
        broken = invariants(engine, study, args.k, acked)
        report(f"{args.annotators} annotators + import", loaded, wall, broken)
        print(f"    {note}")
        print(f"    ratio: p95 submit x{pct(loaded.submit, 95) / pct(base.submit, 50):.1f} of "
              f"one annotator's p50")  # fmt: skip
        ok &= not broken
    engine.dispose()
    return ok


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--baseline-seconds", type=float, default=5.0)
    parser.add_argument("--annotators", type=int, default=50)
    parser.add_argument("--pairs", type=int, default=25_000)
    parser.add_argument("--k", type=int, default=3)
    parser.add_argument("--import-rows", type=int, default=50_000, help="0: no import phase")
    parser.add_argument("--pg-url", default=os.environ.get("SIDEBYSIDE_TEST_POSTGRES_URL"))
    args = parser.parse_args()
    ok = True
    if args.backend in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            ok &= bench(f"sqlite:///{tmp}/load.db", args)
    if args.backend in ("postgresql", "both"):
        if not args.pg_url:
            print("postgresql: skipped (no --pg-url and no SIDEBYSIDE_TEST_POSTGRES_URL)")
        else:
            ok &= bench(args.pg_url, args)
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
