"""Two app servers over one PostgreSQL database, annotators spread over both, in Debian's
Chromium: every vote either server acknowledged is stored once, no pair passes k, no pair is
rated twice by one person, and progress agrees whichever server an annotator uses.

Needs SIDEBYSIDE_TEST_POSTGRES_URL (`.ci/run` starts a throwaway cluster); SQLite cannot be
shared between machines, so a study spread over several processes runs on PostgreSQL.
"""

from __future__ import annotations

import os
from contextlib import ExitStack

import pytest
from sqlalchemy import create_engine, text

from tests.browser_support import (
    CHROMIUM,
    CHROMIUM_ARGS,
    init_demo,
    log_in,
    rate_current_pair,
    serve_app,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PG_URL = os.environ.get("SIDEBYSIDE_TEST_POSTGRES_URL")
SCORES = [4, 3, 5, 2, 4, 4, 3, 3]


@pytest.fixture
def pg_url():
    if not PG_URL:
        pytest.skip("needs SIDEBYSIDE_TEST_POSTGRES_URL (CI sets it)")
    from sidebyside.foundation.db import drop_schema

    engine = create_engine(PG_URL)
    drop_schema(engine)
    engine.dispose()
    return PG_URL


def test_two_servers_share_one_database_without_losing_a_vote(pg_url, tmp_path):
    init_demo(pg_url)
    # annotator -> (server index, votes)
    plan = {"annotator1": (0, 2), "annotator2": (1, 2), "annotator3": (0, 1)}
    from playwright.sync_api import sync_playwright

    with ExitStack() as stack:
        urls = [stack.enter_context(serve_app(pg_url, tmp_path / f"s{i}.log")) for i in (0, 1)]
        pw = stack.enter_context(sync_playwright())
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        stack.callback(browser.close)
        pages = {}
        for user in plan:  # one browser context each: separate cookies, as separate people
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            page.set_default_timeout(30_000)
            pages[user] = page
        for user, (server, _) in plan.items():
            log_in(pages[user], urls[server], user, "demo")
        # Interleave the votes so both servers write at the same time.
        for round_ in range(max(v for _, v in plan.values())):
            for user, (_, votes) in plan.items():
                if round_ < votes:
                    page = pages[user]
                    key = "Alt+KeyA" if round_ % 2 == 0 else "Alt+KeyB"
                    rate_current_pair(page, SCORES, key)
                    page.get_by_text(f"{round_ + 1} rated · about").first.wait_for()
        # The other server reports the same progress for an annotator who never used it.
        other = pages["annotator1"]
        other.goto(urls[1])
        other.get_by_text("2 rated · about").first.wait_for()

    engine = create_engine(pg_url)
    with engine.connect() as conn:
        per_user = dict(
            conn.execute(
                text(
                    'SELECT u.username, count(*) FROM rating r JOIN "user" u ON u.id = r.user_id '
                    "JOIN study s ON s.id = r.study_id WHERE s.name = 'demo' GROUP BY u.username"
                )
            ).all()
        )
        over_k = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT r.pair_id FROM rating r JOIN study s "
                "ON s.id = r.study_id GROUP BY r.pair_id, s.k HAVING count(*) > s.k) t"
            )
        ).scalar_one()
        twice = conn.execute(
            text(
                "SELECT count(*) FROM (SELECT pair_id, user_id FROM rating "
                "GROUP BY pair_id, user_id HAVING count(*) > 1) t"
            )
        ).scalar_one()
    engine.dispose()
    assert per_user == {user: votes for user, (_, votes) in plan.items()}
    assert over_k == 0 and twice == 0
