"""A separate app process for tests/test_multiprocess.py: annotators (threads) claim and
submit through the real services on the database named by SIDEBYSIDE_DATABASE_URL, and the
ids of the votes acknowledged to them are printed as JSON (one line) at the end.

Usage: python -m tests.load_worker STUDY_ID ROUNDS USER_ID [USER_ID ...]"""

from __future__ import annotations

import json
import sys
import threading

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.foundation.db import get_engine, unit_of_work
from sidebyside.foundation.errors import AssignmentError
from sidebyside.foundation.models import Study, User

SCORES = {c: {"A": 3, "B": 4} for c in ("Accuracy", "Relevance", "Format compliance", "Fluency")}


def main() -> None:
    study_id, rounds, *user_ids = (int(a) for a in sys.argv[1:])
    engine = get_engine()
    with unit_of_work(engine) as s:
        study = s.get(Study, study_id)
        users = [s.get(User, uid) for uid in user_ids]
    acked: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    go = threading.Event()

    def annotator(user: User) -> None:
        go.wait()
        for _ in range(rounds):
            try:
                with unit_of_work(engine) as s:
                    a = next_assignment(s, study=study, user=user)
                if a is None:
                    return
                with unit_of_work(engine) as s:
                    r = submit_rating(
                        s, assignment_id=a.id, user_id=user.id, preference="B", scores=SCORES
                    )
                with lock:
                    acked.append(r.id)
            except AssignmentError:
                continue  # a clear refusal shown to the annotator: not a lost vote
            except Exception as exc:  # noqa: BLE001 - reported to the test
                with lock:
                    errors.append(f"{type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=annotator, args=(u,)) for u in users]
    for t in threads:
        t.start()
    print("ready", flush=True)
    sys.stdin.readline()  # the test starts both processes' annotators together
    go.set()
    for t in threads:
        t.join()
    print(json.dumps({"acked": acked, "errors": errors}), flush=True)


if __name__ == "__main__":
    main()
