"""My ratings: revisit and change a past rating. The annotator sees their own ratings as they
gave them (A/B as shown to them, a neutral number per rating, never a system or an id); a
change keeps the replaced version with its time, and analyses read the latest."""

import streamlit as st

from sidebyside.annotate.my_ratings import edit_rating, my_ratings, rated_history, rated_pair
from sidebyside.annotate.my_ratings_filter import category_options, filter_ratings
from sidebyside.foundation.enums import Preference
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.rubric import Rubric, rubric_of
from sidebyside.ui.common import require_user
from sidebyside.ui.conversation import JUDGED_KEY, show_history, turn_label
from sidebyside.ui.crowd_view import own_study
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import error_text
from sidebyside.ui.rating_form import missing_message, read_scores, score_grid, show_pair
from sidebyside.ui.render import inject_css
from sidebyside.ui.study_pick import pick_visible_study

state = st.session_state
CHOICES = {"A": "A is better", Preference.TIE.value: "Tie", "B": "B is better"}


def edit_key(i: int, side: str) -> str:
    return f"edit_{i}_{side}_{state.get('_edit_gen', 0)}"


def on_save(study_id: int, user_id: int, number: int, rubric: Rubric) -> None:
    scores, missing = read_scores(rubric, edit_key)
    if missing:
        state["_edit_msg"] = ("error", missing_message(rubric, missing))
        return
    gen = state.get("_edit_gen", 0)
    try:
        with db_session() as session:
            edit_rating(
                session,
                study=get_study(session, study_id),
                user_id=user_id,
                number=number,
                preference=state[f"edit_pref_{gen}"],
                scores=scores,
                comment=state.get(f"edit_comment_{gen}") or "",
            )
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an id and a retry
        state["_edit_msg"] = ("error", error_text(exc, "saving your change"))
        return
    state["_edit_msg"] = ("success", f"Rating {number} saved. The earlier version is kept.")


user = require_user()
inject_css()
st.title("My ratings")
study = own_study(user) or pick_visible_study(
    user, "Study", key="my_study"
)  # participants: theirs only
if study is None:
    st.stop()
rubric = rubric_of(study)
with db_session() as session:
    rows = my_ratings(session, study=study, user_id=user.id)
if not rows:
    st.info("You have not rated any pair of this study yet.")
    st.stop()

st.caption("Pick a rating to see its pair again and change it. Analyses use your latest version.")
# Find one among many: words of the prompt, its id, the category or your comment.
f_text, f_choice, f_category, f_dates = st.columns([3, 2, 2, 2])
search = f_text.text_input("Search", key="my_search", placeholder="a word of the prompt…")
chosen = f_choice.multiselect("Your choice", list(CHOICES), format_func=CHOICES.get, key="my_pref")
categories = category_options(rows)
picked_categories = (
    f_category.multiselect("Category", categories, key="my_category") if len(categories) > 1 else []
)
days = f_dates.date_input("Rated between", value=(), key="my_dates")
since, until = (days[0], days[-1]) if isinstance(days, tuple | list) and days else (None, None)
shown = filter_ratings(
    rows,
    text=search or "",
    choices=set(chosen),
    categories=set(picked_categories),
    since=since,
    until=until,
)
if not shown:
    st.info(f"None of your {len(rows)} ratings in this study match.")
    st.stop()
st.dataframe(
    [
        {
            "#": r.number,
            "prompt id": r.prompt_id,
            "category": r.category or "",
            "prompt": r.prompt[:80] + ("…" if len(r.prompt) > 80 else ""),
            "your choice": CHOICES.get(r.preference, r.preference),
            "rated (UTC)": r.rated_at.strftime("%Y-%m-%d %H:%M"),
            "changed (UTC)": r.changed_at.strftime("%Y-%m-%d %H:%M") if r.changed_at else "",
        }
        for r in shown
    ],
    hide_index=True,
    height=min(36 * (len(shown) + 1) + 2, 250),
)
if len(shown) < len(rows):
    st.caption(f"{len(shown)} of your {len(rows)} ratings match.")
numbers = [r.number for r in shown]
number = st.selectbox(
    "Rating to change",
    numbers,
    index=len(numbers) - 1,
    format_func=lambda n: f"#{n} · {rows[n - 1].prompt_id}: {rows[n - 1].prompt[:60]}",
    key="my_pick",
)
picked = rows[number - 1]
if state.get("_edit_for") != number:  # fresh widgets, filled from the stored rating
    state["_edit_for"] = number
    state["_edit_gen"] = state.get("_edit_gen", 0) + 1
gen = state["_edit_gen"]
with db_session() as session:
    view = rated_pair(session, study=study, user_id=user.id, number=number)
    history = rated_history(session, study=study, user_id=user.id, number=number)

raw = st.toggle("Raw text", key=f"edit_raw_{gen}")
if history is not None:  # a conversation's turn: the earlier turns, each side its own
    show_history(history, raw=raw)
show_pair(
    view.prompt,
    view.reference,
    view.left,
    view.right,
    raw=raw,
    prompt_label=turn_label(history),
    prompt_key=JUDGED_KEY if history is not None else None,
)
with st.form("edit", border=False, enter_to_submit=False):
    score_grid(rubric, edit_key, given=picked.scores)
    st.text_area("Comment (optional)", value=picked.comment, key=f"edit_comment_{gen}")
    allowed = [p for p in CHOICES if p != Preference.TIE or rubric.allow_ties]
    st.radio(
        "Which response is better overall?",
        allowed,
        index=allowed.index(picked.preference) if picked.preference in allowed else 0,
        format_func=CHOICES.get,
        horizontal=True,
        key=f"edit_pref_{gen}",
    )
    st.form_submit_button(
        "Save changes", type="primary", on_click=on_save, args=(study.id, user.id, number, rubric)
    )
    kind, message = state.pop("_edit_msg", (None, None))
    if kind == "error":
        st.error(message)
    elif kind == "success":
        st.success(message)
