"""AppTest (streamlit.testing.v1) tests of every page: login, annotate, studies, annotators,
progress; role gating; and blinding of what reaches an annotator's browser."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from sqlmodel import Session, select
from streamlit.testing.v1 import AppTest

from sidebyside.annotate.auth import create_invite, create_user
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.membership import add_member
from sidebyside.annotate.studies import create_study
from sidebyside.foundation.db import unit_of_work
from sidebyside.foundation.models import Assignment, Rating, Study, User
from sidebyside.foundation.rubric import default_rubric
from sidebyside.ui.common import USER_KEY

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "app.py")
TIMEOUT = 60
# Distinctive names, so finding them anywhere in the page proves a leak.
SYS_1, SYS_2 = "zephyrine-sft-7b", "quokkabase-13b"
XSS = "<script>alert(1)</script> and <img src=x onerror=alert(1)>"


def long_csv(rows: list[tuple[str, str, str, str]]) -> bytes:
    lines = ["prompt_id,prompt,system,output,reference"]
    for pid, prompt, system, output in rows:
        cells = [pid, prompt, system, output, f"reference for {pid}"]
        lines.append(",".join('"' + c.replace('"', '""') + '"' for c in cells))
    return ("\n".join(lines) + "\n").encode()


@pytest.fixture
def world(engine):  # engine: tests/conftest.py (fresh database, env var set)
    """A study with three prompts by two systems, one empty output, one hostile output,
    an admin and two annotators."""
    with unit_of_work(engine) as s:
        study = create_study(s, name="ui-study", k=2, seed=11)
        rows = [
            ("q1", "What is 2+2?", SYS_1, "4"),
            ("q1", "What is 2+2?", SYS_2, XSS),
            ("q2", "Name a colour.", SYS_1, ""),
            ("q2", "Name a colour.", SYS_2, "Blue costs $5 and red $6."),
            ("q3", "Say hi.", SYS_1, "hi"),
            ("q3", "Say hi.", SYS_2, "hello there"),
        ]
        import_sources(s, study=study, sources=[("outputs.csv", long_csv(rows))])
        admin = create_user(s, username="boss", password="secret0-xyz-pw", role="admin")
        ann = create_user(s, username="ann1", password="secret1-xyz-pw")
        ann2 = create_user(s, username="ann2", password="secret2-xyz-pw")
        for name in ("ann1", "ann2"):  # annotators see and rate only their studies
            add_member(s, study=study, username=name)
    return {"study": study, "admin": admin, "ann": ann, "ann2": ann2, "engine": engine}


def app_as(user: User | None, script: str = APP) -> AppTest:
    at = AppTest.from_file(script, default_timeout=TIMEOUT)
    if user is not None:
        at.session_state[USER_KEY] = user.id
    return at.run()


def page_as(user: User | None, page: str) -> AppTest:
    return app_as(user, str(ROOT / "pages" / page))


def no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from walk(child)


def everything_sent(at: AppTest) -> str:
    """Every element and widget as the browser receives them (protobuf text)."""
    parts = []
    for root in (at.main, at.sidebar):
        for node in walk(root):
            proto = getattr(node, "proto", None)
            if proto is not None:
                parts.append(str(proto))
    return "\n".join(parts)


def widget_keys(at: AppTest) -> list[str]:
    keys = []
    for root in (at.main, at.sidebar):
        for node in walk(root):
            key = getattr(node, "key", None)
            if key:
                keys.append(key)
    return keys


def titles(at: AppTest) -> list[str]:
    return [t.value for t in at.title]


def ratings(engine) -> list[Rating]:
    with Session(engine) as s:
        return list(s.exec(select(Rating)))


def fill_scores(at: AppTest, value: int = 4) -> None:
    for radio in at.radio:
        if radio.key and radio.key.startswith("crit_"):
            radio.set_value(value)


def vote(at: AppTest, value: str) -> AppTest:
    return at.button(key=f"vote_{value}").click().run()


def html_bodies(at: AppTest) -> list[str]:
    """What ui.render sent: the HTML of every st.html element (untrusted text, escaped)."""
    return [h.proto.body for h in at.get("html")]


def progress_text(at: AppTest) -> str:
    return at.get("progress")[0].proto.text


# ---------------------------------------------------------------- login


def test_login_page_rejects_wrong_password_then_logs_in(world):
    at = app_as(None)
    no_exception(at)
    assert [s.value for s in at.subheader] == ["Log in"]
    at.text_input[0].input("ann1")
    at.text_input[1].input("wrong")
    at.button[0].click().run()
    assert "Wrong username or password" in at.error[0].value
    assert USER_KEY not in at.session_state
    at.text_input[0].input("ann1")
    at.text_input[1].input("secret1-xyz-pw")
    at.button[0].click().run()
    no_exception(at)
    assert at.session_state[USER_KEY] == world["ann"].id
    assert titles(at.run()) == ["Annotate"]


def test_deactivated_account_cannot_log_in_and_is_logged_out(world):
    at = app_as(world["ann"])
    assert titles(at) == ["Annotate"]
    with Session(world["engine"]) as s:
        user = s.get(User, world["ann"].id)
        user.active = False
        s.add(user)
        s.commit()
    at.run()
    assert [s.value for s in at.subheader] == ["Log in"]
    assert USER_KEY not in at.session_state
    at.text_input[0].input("ann1")
    at.text_input[1].input("secret1-xyz-pw")
    at.button[0].click().run()
    assert at.error and USER_KEY not in at.session_state


def test_invite_link_creates_account_once(world):
    with unit_of_work(world["engine"]) as s:
        token = create_invite(s, role="annotator", hours=1)
    at = AppTest.from_file(APP, default_timeout=TIMEOUT)
    at.query_params["invite"] = token
    at.run()
    assert [s.value for s in at.subheader] == ["Create your account"]
    at.text_input[0].input("newbie")
    at.text_input[1].input("pass1234-xyz")
    at.text_input[2].input("pass1234-xyz")
    at.button[0].click().run()
    no_exception(at)
    assert "invite" not in at.query_params  # the token does not linger in the URL
    with Session(world["engine"]) as s:
        newbie = s.exec(select(User).where(User.username == "newbie")).one()
    assert at.session_state[USER_KEY] == newbie.id

    again = AppTest.from_file(APP, default_timeout=TIMEOUT)
    again.query_params["invite"] = token
    again.run()
    again.text_input[0].input("second")
    again.text_input[1].input("pass1234-xyz")
    again.text_input[2].input("pass1234-xyz")
    again.button[0].click().run()
    assert "not valid or has already been used" in again.error[0].value


# ---------------------------------------------------------------- roles


def test_annotator_cannot_reach_admin_pages(world):
    at = app_as(world["ann"])
    no_exception(at)
    assert titles(at) == ["Annotate"]
    registered = {info.get("script_path", "") for info in at._registered_pages.values()}
    assert not any(p.endswith(("studies.py", "annotators.py", "progress.py")) for p in registered)
    # Even run directly (a guessed URL), every admin page stops with an error.
    for page in ("studies.py", "annotators.py", "progress.py"):
        direct = page_as(world["ann"], page)
        no_exception(direct)
        assert [e.value for e in direct.error] == ["This page is for admins only."]
        assert not direct.dataframe and not direct.button and not direct.text_input
    logged_out = page_as(None, "annotate.py")
    assert [e.value for e in logged_out.error] == ["Please log in first."]


def test_admin_sees_every_page(world):
    at = app_as(world["admin"])
    no_exception(at)
    registered = {Path(info.get("script_path", "")).name for info in at._registered_pages.values()}
    assert {"annotate.py", "studies.py", "annotators.py", "progress.py"} <= registered
    assert titles(at) == ["Studies"]  # admins land on Studies: looking around claims no pair
    with Session(world["engine"]) as s:
        assert not s.exec(select(Assignment)).all()


# ---------------------------------------------------------------- annotate


def test_annotate_page_reveals_no_system(world):
    at = app_as(world["ann"])
    no_exception(at)
    sent = everything_sent(at)
    for secret in (SYS_1, SYS_2, "system_a", "system_b", "output_a", "output_b"):
        assert secret not in sent
    allowed = re.compile(
        r"^(study|rate|skip|vote_bar|raw_\d+|scroll_together|pane_a|pane_b|top_\d+_\d+"
        r"|expand_panes|prompt_box|prompt_all|score_grid"
        r"|crit_\d+_(left|right)_\d+|comment_\d+|vote_(A|B|tie)"
        r"|skip_reason_\d+|skip_detail_\d+|FormSubmitter:skip-Skip this pair)$"
    )
    keys = widget_keys(at)
    assert keys and all(allowed.match(k) for k in keys), keys
    assert not at.query_params
    # Untrusted text goes through ui.render only; Markdown elements never allow HTML.
    for md in at.markdown:
        assert not md.proto.allow_html
    assert titles(at) == ["Annotate"]
    labels = [m.value for m in at.markdown]
    assert [x for x in labels if x in ("**Prompt**", "**Response A**", "**Response B**")] == [
        "**Prompt**",
        "**Response A**",
        "**Response B**",
    ]
    # Ctrl+Enter in the comment must not press the first vote button (a silent "A").
    forms = {f.proto.form.form_id: f.proto.form for f in at.get("form")}
    assert set(forms) == {"rate", "skip"}
    assert not any(f.enter_to_submit for f in forms.values())


def test_hostile_and_empty_outputs_render_as_text(world):
    at = app_as(world["ann"])
    shown = []
    for _ in range(3):
        shown.extend(html_bodies(at))
        fill_scores(at, 3)
        vote(at, "tie")
    flat = "\n".join(shown)
    # Shown verbatim, as escaped text: no tag of the output survives as markup.
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in flat and "<script>alert" not in flat
    assert "&lt;img src=x onerror=alert(1)&gt;" in flat and "<img" not in flat
    assert "(empty response)" in flat
    assert "Blue costs $5 and red $6." in flat  # prices are plain text, never math


def test_vote_stores_scores_and_unblinds_sides(world):
    at = app_as(world["ann"])
    assert progress_text(at) == "0 rated · about 3 left for you"
    names = default_rubric().names
    for i in range(len(names)):
        at.radio(key=f"crit_{i}_left_1").set_value(5)
        at.radio(key=f"crit_{i}_right_1").set_value(2)
    at.text_input(key="comment_1").input("left is right")
    vote(at, "A")
    no_exception(at)
    [rating] = ratings(world["engine"])
    with Session(world["engine"]) as s:
        a = s.get(Assignment, rating.assignment_id)
    assert a.status == "done" and rating.swapped == a.swapped
    left = "b" if a.swapped else "a"
    right = "a" if a.swapped else "b"
    assert rating.preference == left
    assert rating.scores == {n: {left: 5, right: 2} for n in names}
    assert rating.comment == "left is right"
    assert rating.time_spent_s is not None and rating.time_spent_s >= 0
    assert progress_text(at) == "1 rated · about 2 left for you"
    # The next pair starts with blank widgets.
    assert at.radio(key="crit_0_left_2").value is None
    assert at.text_input(key="comment_2").value == ""


def test_incomplete_scores_are_refused(world):
    at = app_as(world["ann"])
    at.radio(key="crit_0_left_1").set_value(3)
    vote(at, "B")
    assert "Score every criterion" in at.error[0].value
    assert ratings(world["engine"]) == []
    assert at.radio(key="crit_0_left_1").value == 3  # what was entered stays


def test_resume_shows_the_same_open_pair(world):
    first = app_as(world["ann"])
    shown = html_bodies(first)
    again = app_as(world["ann"])  # a new browser session, same account
    assert html_bodies(again) == shown
    with Session(world["engine"]) as s:
        mine = s.exec(select(Assignment).where(Assignment.user_id == world["ann"].id)).all()
    assert len(mine) == 1


def test_skip_with_reason_flags_pair(world):
    at = app_as(world["ann"])
    at.radio(key="skip_reason_1").set_value("Both responses are unusable")
    at.text_input(key="skip_detail_1").input("both off topic")
    at.button(key="FormSubmitter:skip-Skip this pair").click().run()
    no_exception(at)
    with Session(world["engine"]) as s:
        [a] = s.exec(select(Assignment).where(Assignment.status == "skipped")).all()
    assert a.flagged and a.reason == "Both responses are unusable: both off topic"
    assert progress_text(at) == "1 rated · about 2 left for you"


def test_other_reason_needs_details(world):
    at = app_as(world["ann"])
    at.radio(key="skip_reason_1").set_value("Other (say why below)")
    at.button(key="FormSubmitter:skip-Skip this pair").click().run()
    assert "Say briefly why" in at.error[0].value
    with Session(world["engine"]) as s:
        assert not s.exec(select(Assignment).where(Assignment.status == "skipped")).all()


def test_tie_only_when_rubric_allows(world):
    with Session(world["engine"]) as s:
        study = s.get(Study, world["study"].id)
        rubric = default_rubric().model_copy(update={"allow_ties": False})
        study.rubric = rubric.model_dump()
        s.add(study)
        s.commit()
    at = app_as(world["ann"])
    labels = [b.label for b in at.button]
    assert "A is better" in labels and "B is better" in labels and "Tie" not in labels


def test_all_done_message(world):
    at = app_as(world["ann"])
    for _ in range(3):
        fill_scores(at, 2)
        vote(at, "B")
    no_exception(at)
    assert any("finished every pair" in m.value for m in at.success)
    assert len(ratings(world["engine"])) == 3


# ---------------------------------------------------------------- studies


def test_studies_page_creates_study_and_imports(world):
    at = page_as(world["admin"], "studies.py")
    no_exception(at)
    at.text_input[0].input("second-study")
    at.number_input[0].set_value(2)
    at.button(key="FormSubmitter:create_study_0-Create study").click().run()
    no_exception(at)
    with Session(world["engine"]) as s:
        study = s.exec(select(Study).where(Study.name == "second-study")).one()
    assert study.k == 2
    assert at.selectbox(key="studies_pick").value == "second-study"
    # A confirmation, and the form comes back empty for the next study.
    assert "Study 'second-study' created" in at.success[0].value
    assert at.text_input[0].value == "" and at.number_input[0].value == 3
    table = at.dataframe[0].value
    assert list(table.loc[table["study"] == "second-study", "pairs"]) == [0]

    csv = long_csv([("p1", "Hi?", "m1", "hello"), ("p1", "Hi?", "m2", "")])
    at.file_uploader(key="import_files").set_value([("demo.csv", csv, "text/csv")])
    at.button(key=f"FormSubmitter:import_{study.id}-Import").click().run()
    no_exception(at)
    assert "1 pairs added" in at.success[0].value
    assert "1 outputs are empty" in at.success[0].value
    assert [m.value for m in at.metric][:4] == ["2", "1", "2", "1"]
    # The studies table already counts the imported pair (it used to say 0 until a reload).
    table = at.dataframe[0].value
    assert list(table.loc[table["study"] == "second-study", "pairs"]) == [1]


def test_studies_page_plans_the_number_of_prompts(world):
    at = page_as(world["admin"], "studies.py")
    sliders = {s.label.split(" (")[0]: s for s in at.slider}
    sliders["Win rate you expect"].set_value(0.6)
    sliders["Share of tied prompts"].set_value(0.0)
    at.run()
    assert any("**194 prompts** find a win rate of 0.60" in m.value for m in at.markdown)
    {s.label.split(" (")[0]: s for s in at.slider}["Share of tied prompts"].set_value(0.6)
    at.slider[0].set_value(0.9)
    at.run()
    assert any("impossible with 60% tied prompts" in w.value for w in at.warning)


def test_studies_page_shows_import_error_with_location(world):
    at = page_as(world["admin"], "studies.py")
    sid = world["study"].id
    bad = b"prompt_id,prompt,output\nx,y,z\n"
    at.file_uploader(key="import_files").set_value([("bad.csv", bad, "text/csv")])
    at.button(key=f"FormSubmitter:import_{sid}-Import").click().run()
    no_exception(at)
    message = at.error[0].value
    assert message.startswith("Nothing was imported.") and "bad.csv" in message
    assert "system" in message


def test_studies_page_edits_rubric_until_rated(world):
    at = page_as(world["admin"], "studies.py")
    sid = world["study"].id
    at.checkbox[0].uncheck()
    at.number_input[1].set_value(5)  # k of the settings form (the create form has the first)
    at.button(key=f"FormSubmitter:settings_{sid}-Save settings").click().run()
    no_exception(at)
    assert at.success[0].value == "Settings saved."
    with Session(world["engine"]) as s:
        study = s.get(Study, sid)
    assert study.k == 5 and study.rubric["allow_ties"] is False

    ann_at = app_as(world["ann"])
    fill_scores(ann_at, 3)
    vote(ann_at, "A")
    at = page_as(world["admin"], "studies.py")
    assert any("rubric is frozen" in i.value for i in at.info)
    assert at.checkbox[0].disabled


# ---------------------------------------------------------------- annotators


def test_annotators_page_manages_accounts(world):
    at = page_as(world["admin"], "annotators.py")
    no_exception(at)
    table = at.dataframe[0].value
    assert set(table["username"]) == {"boss", "ann1", "ann2"}

    at.text_input[0].input("carol")
    at.text_input[1].input("pw-sunny-tulip-9")
    at.button(key="FormSubmitter:add_user-Create account").click().run()
    assert "Created annotator 'carol'" in at.success[0].value
    assert "carol" in set(at.dataframe[0].value["username"])  # the table is already fresh

    at.button(key="FormSubmitter:invite-Create invite link").click().run()
    link = at.code[0].value
    assert re.fullmatch(r".*/\?invite=[\w-]{20,}", link)

    at.selectbox(key="manage_user").set_value("ann2").run()
    at.button(key="deactivate").click().run()
    no_exception(at)
    with Session(world["engine"]) as s:
        assert s.exec(select(User).where(User.username == "ann2")).one().active is False
        assert s.exec(select(User).where(User.username == "carol")).one().role == "annotator"


def test_admin_cannot_deactivate_self(world):
    at = page_as(world["admin"], "annotators.py")
    at.selectbox(key="manage_user").set_value("boss").run()
    assert not any(b.key in ("deactivate", "change_role") for b in at.button)


def test_admin_changes_a_role(world):
    at = page_as(world["admin"], "annotators.py")
    at.selectbox(key="manage_user").set_value("ann1").run()
    at.button(key="change_role").click().run()
    no_exception(at)
    with Session(world["engine"]) as s:
        assert s.exec(select(User).where(User.username == "ann1")).one().role == "admin"


# ---------------------------------------------------------------- progress


def test_progress_page_counts_and_offers_export(world):
    ann_at = app_as(world["ann"])
    fill_scores(ann_at, 4)
    vote(ann_at, "B")
    at = page_as(world["admin"], "progress.py")
    no_exception(at)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Pairs"] == "3" and metrics["Ratings"] == "1 / 6"
    table = at.dataframe[0].value
    assert table.loc[0, "annotator"] == "ann1" and table.loc[0, "done"] == 1
    checks = at.dataframe[1].value  # rater checks: one rating, too few for any flag
    assert checks.loc[0, "annotator"] == "ann1" and checks.loc[0, "n_ratings"] == 1
    assert list(checks.loc[0, "flags"]) == [] and not at.warning
    assert at.get("download_button")
    assert "sidebyside export ui-study --what ratings --format csv" in at.caption[-1].value


def test_progress_page_lists_flagged_pairs(world):
    ann_at = app_as(world["ann"])
    ann_at.radio(key="skip_reason_1").set_value("The prompt is broken or unclear")
    ann_at.button(key="FormSubmitter:skip-Skip this pair").click().run()
    at = page_as(world["admin"], "progress.py")
    (flagged,) = [d.value for d in at.dataframe if "reason" in d.value.columns]
    assert flagged.loc[0, "annotator"] == "ann1" and bool(flagged.loc[0, "flagged"])


# ---------------------------------------------------------------- helpers


def test_demo_data_file_is_valid_long_format():
    import csv

    with open(
        ROOT / "annotate" / "demo_data" / "demo_outputs.csv", encoding="utf-8", newline=""
    ) as fh:
        rows = list(csv.DictReader(fh))
    assert set(rows[0]) == {"prompt_id", "prompt", "system", "output", "reference", "category"}
    prompts = {r["prompt_id"] for r in rows}
    assert all(r["category"] for r in rows)  # so the demo shows the per-category results
    assert len(prompts) >= 30 and {r["system"] for r in rows} == {"base", "fine-tuned"}
    assert any(r["output"] == "" for r in rows)
    assert any("<script>alert(1)</script>" in r["output"] for r in rows)
    accounts = json.loads((ROOT / "annotate" / "demo_data" / "demo_accounts.json").read_text())
    assert {a["username"] for a in accounts} >= {"admin", "annotator1"}


# ---------------------------------------------------------------- my ratings (issue 10)


def test_my_ratings_page_is_blind_and_edits_with_history(world):
    from sidebyside.foundation.models import RatingRevision

    at = app_as(world["ann"])
    fill_scores(at, 4)
    vote(at, "A")
    sent = everything_sent(at) + "\n".join(html_bodies(at))
    assert "Undo last vote" in sent  # offered right after the vote
    mine = page_as(world["ann"], "my_ratings.py")
    no_exception(mine)
    sent = everything_sent(mine) + "\n".join(html_bodies(mine))
    for secret in (SYS_1, SYS_2, "system_a", "system_b", "output_a", "output_b"):
        assert secret not in sent
    allowed = re.compile(
        r"^(my_study|my_pick|my_search|my_pref|my_category|my_dates|edit|edit_raw_\d+"
        r"|scroll_together|pane_a|pane_b|expand_panes|prompt_box|prompt_all|score_grid"
        r"|edit_\d+_(left|right)_\d+|edit_comment_\d+"
        r"|edit_pref_\d+|FormSubmitter:edit-Save changes)$"
    )
    keys = widget_keys(mine)
    assert keys and all(allowed.match(k) for k in keys), keys
    # The stored scores come back as given; change the choice and one score.
    assert mine.radio(key="edit_0_left_1").value == 4
    mine.radio(key="edit_pref_1").set_value("B")
    mine.radio(key="edit_0_left_1").set_value(1)
    mine.button(key="FormSubmitter:edit-Save changes").click().run()
    no_exception(mine)
    assert any("Rating 1 saved" in s.value for s in mine.success)
    [rating] = ratings(world["engine"])
    with Session(world["engine"]) as s:
        a = s.get(Assignment, rating.assignment_id)
        [old] = s.exec(select(RatingRevision)).all()
    right = "a" if a.swapped else "b"
    assert rating.preference == right and old.preference != right
    # The raw toggle shows the exact text, still blind.
    mine.toggle(key="edit_raw_1").set_value(True).run()
    raw = "\n".join(html_bodies(mine))
    assert 'class="sbs-raw"' in raw and SYS_1 not in raw and SYS_2 not in raw


def test_admin_opening_annotate_claims_nothing_until_asked(world):
    at = page_as(world["admin"], "annotate.py")
    no_exception(at)
    assert [b.label for b in at.button] == ["Start annotating"]
    with Session(world["engine"]) as s:
        assert not s.exec(select(Assignment)).all()
    at.button[0].click().run()
    no_exception(at)
    with Session(world["engine"]) as s:
        assert len(s.exec(select(Assignment)).all()) == 1
