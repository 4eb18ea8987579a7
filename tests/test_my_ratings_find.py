"""My ratings that scale (issue 22): each rating shows its prompt id and category, and a word
of the prompt, the choice, the category or the date finds it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

from streamlit.testing.v1 import AppTest

from sidebyside.annotate.assignment import next_assignment, submit_rating
from sidebyside.annotate.auth import create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.my_ratings import MyRating
from sidebyside.annotate.my_ratings_filter import NO_CATEGORY, category_options, filter_ratings
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.rubric import default_rubric
from sidebyside.ui.common import USER_KEY

ROOT = Path(__file__).resolve().parent.parent


def rating(n: int, prompt: str, pref: str, day: int, category: str | None) -> MyRating:
    when = datetime(2026, 3, day, 12, tzinfo=UTC)
    return MyRating(n, prompt, pref, {}, "", when, None, f"p{n}", category)


ROWS = [
    rating(1, "Explain photosynthesis to a child", "A", 1, "science"),
    rating(2, "Write a haiku about rain", "B", 2, "writing"),
    rating(3, "Explain how tides work", "tie", 3, None),
]


def test_filters_each_and_together():
    assert [r.number for r in filter_ratings(ROWS, text="explain")] == [1, 3]
    assert [r.number for r in filter_ratings(ROWS, text="explain TIDES")] == [3]
    assert [r.number for r in filter_ratings(ROWS, text="p2")] == [2]  # the prompt id
    assert [r.number for r in filter_ratings(ROWS, choices={"B", "tie"})] == [2, 3]
    assert [r.number for r in filter_ratings(ROWS, categories={NO_CATEGORY})] == [3]
    assert [r.number for r in filter_ratings(ROWS, since=date(2026, 3, 2))] == [2, 3]
    assert [r.number for r in filter_ratings(ROWS, until=date(2026, 3, 1))] == [1]
    assert filter_ratings(ROWS, text="explain", choices={"B"}) == []
    assert category_options(ROWS) == ["science", "writing", NO_CATEGORY]


def test_the_page_finds_a_rating_by_a_word_of_its_prompt(engine):
    rows = ["prompt_id,prompt,system,output,category"]
    for i, (text, cat) in enumerate(
        [("Explain photosynthesis", "science"), ("Write a haiku about rain", "writing")]
    ):
        rows += [f'q{i},"{text}",base,one,{cat}', f'q{i},"{text}",tuned,two,{cat}']
    scores = {c.name: {"A": 3, "B": 3} for c in default_rubric().criteria}
    with unit_of_work(engine) as s:
        study = create_study(s, name="mine", k=1, seed=2)
        import_sources(s, study=study, sources=[("o.csv", "\n".join(rows).encode())])
        user = create_user(s, username="ann", password="secret1-xyz-pw")
        add_member(s, study=study, username="ann")
        for _ in range(2):
            a = next_assignment(s, study=study, user=user)
            submit_rating(s, assignment_id=a.id, user_id=user.id, preference="A", scores=scores)
    at = AppTest.from_file(str(ROOT / "pages" / "my_ratings.py"), default_timeout=60)
    at.session_state[USER_KEY] = user.id
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    table = at.dataframe[0].value
    assert set(table["prompt id"]) == {"q0", "q1"} and set(table["category"]) == {
        "science",
        "writing",
    }
    at.text_input(key="my_search").set_value("haiku").run()
    table = at.dataframe[0].value
    assert list(table["prompt id"]) == ["q1"]
    assert "1 of your 2 ratings match" in at.caption[-1].value or any(
        "1 of your 2" in c.value for c in at.caption
    )
    at.text_input(key="my_search").set_value("volcano").run()
    assert "None of your 2 ratings in this study match" in at.info[0].value
