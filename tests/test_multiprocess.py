"""More than one app process over one database: annotators spread over two processes (as
behind a load balancer with sticky sessions), every invariant holds. Runs on PostgreSQL
(the point: several servers on one database) and on SQLite when both are configured."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import unit_of_work
from tests.conftest import ROOT, make_long_csv
from tests.test_server_load import check_invariants

pytestmark = pytest.mark.slow  # worker processes

K, PAIRS, PER_PROCESS, ROUNDS = 3, 40, 10, 8


def test_two_app_processes_share_one_database_without_losing_a_vote(engine, db_url):
    with unit_of_work(engine) as s:
        study = create_study(s, name="two-servers", k=K, seed=11)
        import_sources(s, study=study, sources=[("o.csv", make_long_csv(PAIRS))])
        users = [create_user(s, username=f"m{i}", password=None) for i in range(2 * PER_PROCESS)]
    env = dict(os.environ, SIDEBYSIDE_DATABASE_URL=db_url, PYTHONPATH=str(ROOT))
    procs = []
    for half in (users[:PER_PROCESS], users[PER_PROCESS:]):
        args = [str(study.id), str(ROUNDS), *(str(u.id) for u in half)]
        procs.append(
            subprocess.Popen(
                [sys.executable, "-m", "tests.load_worker", *args],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    for p in procs:
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
    for p in procs:  # both processes' annotators start together
        p.stdin.write("go\n")
        p.stdin.flush()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["errors"] for r in results] == [[], []]
    acked = [i for r in results for i in r["acked"]]
    assert all(r["acked"] for r in results)  # both processes stored votes
    # 40 pairs x k=3 = 120 places for 20 annotators x 8 rounds = 160 asks: the study fills up
    assert len(acked) == PAIRS * K
    check_invariants(engine, study, K, acked)
