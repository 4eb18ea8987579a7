"""Study membership in Chromium (issue 22): a reload or a new login on study B comes back to B
and leaves no open assignment in study A (checked in the database); an annotator who is not a
member of a study does not see it and cannot claim from it, not even by its deep link."""

from __future__ import annotations

import pytest
from sqlmodel import Session, select

from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import Assignment, Study, User
from tests.browser_support import chromium, init_demo, log_in, serve_app, wait_idle
from tests.conftest import make_long_csv

pytestmark = [pytest.mark.browser, pytest.mark.slow]
PASSWORD = "member-pw-2026x"


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """The demo plus a study "beta"; "mover" is a member of both, "stranger" of the demo only."""
    tmp = tmp_path_factory.mktemp("members")
    db_url = f"sqlite:///{tmp / 'members.db'}"
    init_demo(db_url)
    engine = init_db(get_engine(db_url))
    with unit_of_work(engine) as s:
        beta = create_study(s, name="beta", k=2, seed=4)
        import_sources(s, study=beta, sources=[("b.csv", make_long_csv(4))])
        for name in ("mover", "stranger"):
            create_user(s, username=name, password=PASSWORD)
            add_member(s, study=get_study(s, "demo"), username=name)
        add_member(s, study=beta, username="mover")
    with serve_app(db_url, tmp / "streamlit.log") as url:
        yield {"url": url, "engine": engine, "tmp": tmp}


def open_by(engine, username: str) -> dict[str, int]:
    """The user's open assignments per study name."""
    with Session(engine) as s:
        uid = s.exec(select(User.id).where(User.username == username)).one()
        names = {st.id: st.name for st in s.exec(select(Study))}
        found: dict[str, int] = {}
        for a in s.exec(
            select(Assignment).where(Assignment.user_id == uid, Assignment.status == "open")
        ):
            found[names[a.study_id]] = found.get(names[a.study_id], 0) + 1
        return found


def shows_study(page, name: str) -> bool:
    """Whether the study picker (a combobox: its value is the input's) comes to show
    ``name``; the app may still be redrawing."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    wait_idle(page)
    try:
        page.wait_for_function(
            "(name) => { const box = document.querySelector('[data-testid=stSelectbox] input');"
            " return box && box.value === name; }",
            arg=name,
            timeout=10_000,
        )
    except PlaywrightTimeout:
        return False
    return True


def test_reload_and_relogin_return_to_study_b_and_leave_nothing_open_in_a(app):
    url, engine = app["url"], app["engine"]
    with chromium(app["tmp"] / "p1") as page:
        log_in(page, url, "mover", PASSWORD)
        wait_idle(page)
        assert open_by(engine, "mover") == {}  # two studies, none chosen: nothing claimed
        page.get_by_test_id("stSelectbox").first.click()
        page.get_by_role("option", name="beta").click()
        page.get_by_role("button", name="A is better").wait_for()
        assert open_by(engine, "mover") == {"beta": 1}
        page.reload()
        page.get_by_role("button", name="A is better").wait_for()
        assert shows_study(page, "beta")
        assert open_by(engine, "mover") == {"beta": 1}  # none in the demo study
        page.goto(f"{url}/logout")
        page.get_by_role("textbox", name="Password").wait_for()
        log_in(page, url, "mover", PASSWORD)
        page.get_by_role("button", name="A is better").wait_for()
        assert shows_study(page, "beta")
        assert open_by(engine, "mover") == {"beta": 1}


def test_a_non_member_neither_sees_nor_claims_a_study(app):
    url, engine = app["url"], app["engine"]
    with chromium(app["tmp"] / "p2") as page:
        log_in(page, url, "stranger", PASSWORD)
        page.get_by_role("button", name="A is better").wait_for()  # their one study: demo
        assert open_by(engine, "stranger") == {"demo": 1}
        assert page.get_by_text("beta").count() == 0
        page.goto(f"{url}/rate?study=beta")  # another study's deep link
        page.get_by_text("You are not a member of a study 'beta'").wait_for()
        assert open_by(engine, "stranger") == {"demo": 1}
        assert page.get_by_role("button", name="A is better").count() == 0


def test_my_ratings_finds_a_rating_by_a_word_of_its_prompt(app):
    """Issue 22: My ratings listed pairs by their first 60 characters, with no search."""
    import re

    from sidebyside.foundation.models import Pair, Prompt, Rating
    from tests.browser_support import rate_current_pair

    url, engine = app["url"], app["engine"]
    with chromium(app["tmp"] / "p3") as page:
        log_in(page, url, "stranger", PASSWORD)  # their one study: demo
        for n in (1, 2):
            rate_current_pair(page, [4, 3, 5, 2, 4, 4, 3, 3], "Alt+KeyA")
            page.get_by_text(f"{n} rated · about").first.wait_for()
        with Session(engine) as s:
            uid = s.exec(select(User.id).where(User.username == "stranger")).one()
            texts = s.exec(
                select(Prompt.external_id, Prompt.text)
                .join(Pair, Pair.prompt_id == Prompt.id)
                .join(Rating, Rating.pair_id == Pair.id)
                .where(Rating.user_id == uid)
                .order_by(Rating.id)
            ).all()
        (first_id, first), (_, second) = texts
        words = lambda t: set(re.findall(r"[A-Za-z]{5,}", t.lower()))  # noqa: E731
        word = sorted(words(first) - words(second), key=len)[-1]
        page.goto(f"{url}/mine")
        page.get_by_role("heading", name="My ratings").wait_for()
        search = page.get_by_role("textbox", name="Search")
        search.fill("zzzqqq")
        search.press("Enter")
        page.get_by_text("None of your 2 ratings in this study match").wait_for()
        search.fill(word)
        search.press("Enter")
        page.get_by_text("1 of your 2 ratings match").wait_for()
        wait_idle(page)
        picked = page.get_by_role("combobox", name="Rating to change").input_value()
        assert f" · {first_id}: " in picked
