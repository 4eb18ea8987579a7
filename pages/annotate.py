"""Rate one blind pair at a time.

Only text reaches the browser: the prompt, the two responses (as "A" and "B") and the rubric.
Widget keys are neutral ("crit_0_left_1"), the pair's identity stays in server-side session
state, and the URL carries nothing.
"""

import time

import streamlit as st

from annotate.assignment import (
    AssignmentError,
    blind_view,
    next_assignment,
    progress,
    skip_assignment,
    submit_rating,
)
from foundation.enums import Preference
from foundation.rubric import rubric_of
from ui.common import db_session, pick_study, render_untrusted, require_user

#: (value as shown, button label, shortcut). Alt-chords work even while a score or the
#: comment has the focus; plain letters would not.
PREFERENCES = (
    ("A", "A is better", "Alt+A"),
    (Preference.TIE.value, "Tie", "Alt+T"),
    ("B", "B is better", "Alt+B"),
)
#: Skip reasons, and whether each flags the pair for the study's admin.
SKIP_REASONS = {
    "Both responses are unusable": True,
    "The prompt is broken or unclear": True,
    "I cannot judge this (outside my expertise)": False,
    "Other (say why below)": False,
}

state = st.session_state


def crit_key(i: int, side: str) -> str:
    # The suffix counts the pairs shown in this browser session: each pair gets brand-new
    # widgets, so nothing typed for one pair can linger into the next.
    return f"crit_{i}_{side}_{state.get('_gen', 0)}"


def comment_key() -> str:
    return f"comment_{state.get('_gen', 0)}"


def flash(kind: str, message: str) -> None:
    state["_flash"] = (kind, message)


def on_vote(assignment_id: int, user_id: int, names: list[str], preference: str) -> None:
    """Store the vote (preference as shown: "A", "B" or "tie") with the form's scores. The
    callback's unit of work commits it before the page reruns and draws the next pair."""
    if assignment_id in state.get("_submitted", set()):
        return  # a double click: the first submit already counted
    missing = [
        f"{name} ({side_name})"
        for i, name in enumerate(names)
        for side, side_name in (("left", "A"), ("right", "B"))
        if state.get(crit_key(i, side)) is None
    ]
    if missing:
        flash("error", "Score every criterion for both responses first: " + ", ".join(missing))
        return
    scores = {
        name: {"A": int(state[crit_key(i, "left")]), "B": int(state[crit_key(i, "right")])}
        for i, name in enumerate(names)
    }
    try:
        with db_session() as session:
            submit_rating(
                session,
                assignment_id=assignment_id,
                user_id=user_id,
                preference=preference,
                scores=scores,
                comment=state.get(comment_key()) or "",
                time_spent_s=time.monotonic() - state.get("_shown_at", time.monotonic()),
            )
    except AssignmentError as exc:
        flash("error", str(exc))
        return
    state.setdefault("_submitted", set()).add(assignment_id)
    flash("success", "Saved. Here is the next pair.")


def on_skip(assignment_id: int, user_id: int) -> None:
    gen = state.get("_gen", 0)
    reason = state.get(f"skip_reason_{gen}") or ""
    detail = (state.get(f"skip_detail_{gen}") or "").strip()
    if reason.startswith("Other") and not detail:
        flash("error", "Say briefly why you skip this pair.")
        return
    text = reason if not detail else f"{reason}: {detail}"
    try:
        with db_session() as session:
            skip_assignment(
                session,
                assignment_id=assignment_id,
                user_id=user_id,
                reason=text,
                flag=SKIP_REASONS.get(reason, False),
            )
    except AssignmentError as exc:
        flash("error", str(exc))
        return
    flash("success", "Skipped. Here is the next pair.")


user = require_user()
st.title("Annotate")
study = pick_study("Study")
if study is None:
    st.stop()
rubric = rubric_of(study)
names = rubric.names

with db_session() as session:
    assignment = next_assignment(session, study=study, user=user)
    view = blind_view(session, assignment) if assignment is not None else None
    prog = progress(session, study=study, user=user)

if prog.total:
    st.progress(prog.done / prog.total, text=f"Progress: {prog.done} / {prog.total} pairs done")

# Always present, so an error appearing does not shift (and remount) the widgets below it.
notice = st.empty()
kind, message = state.pop("_flash", (None, None))
if kind == "success":
    st.toast(message, icon=":material/check_circle:")
elif kind == "error":
    notice.error(message)

if assignment is None or view is None:
    if prog.total == 0:
        st.info("This study has no pairs for you to rate yet.")
    else:
        st.success("You have finished every pair available to you in this study. Thank you!")
    st.stop()

if state.get("_aid") != assignment.id:  # a new pair (or a resumed one) starts a fresh form
    state["_aid"] = assignment.id
    state["_shown_at"] = time.monotonic()
    state["_gen"] = state.get("_gen", 0) + 1

with st.expander("Guidelines", expanded=prog.done == 0):
    st.markdown(rubric.guidelines or "Rate both responses, then choose the better one.")
    tie_key = ", **Alt+T** a tie" if rubric.allow_ties else ""
    st.caption(
        f"Scores run from {rubric.scale_min} (worst) to {rubric.scale_max} (best). "
        "Keyboard: **Tab** moves between scores and the arrow keys pick one; "
        f"**Alt+A** votes for A, **Alt+B** for B{tie_key} (⌥ instead of Alt on a Mac). "
        "A vote submits the scores and the comment with it."
    )

st.subheader("Prompt")
with st.container(border=True):
    render_untrusted(view.prompt)
if view.reference:
    with st.expander("Reference answer"):
        render_untrusted(view.reference)

left, right = st.columns(2, gap="medium")
for column, title, text in ((left, "Response A", view.left), (right, "Response B", view.right)):
    with column:
        st.subheader(title)
        with st.container(border=True):
            render_untrusted(text)

# One form per vote: scores and comment travel with the click (or key) that casts the vote,
# so nothing typed is lost and the page reruns once per pair, not once per score.
scale = list(range(rubric.scale_min, rubric.scale_max + 1))
# enter_to_submit=False: Ctrl+Enter in the comment would otherwise press the form's first
# button, a silent vote for A.
with st.form("rate", border=False, enter_to_submit=False):
    st.subheader("Scores")
    header = st.columns([2, 3, 3])
    header[1].markdown("**Response A**")
    header[2].markdown("**Response B**")
    for i, criterion in enumerate(rubric.criteria):
        row = st.columns([2, 3, 3], vertical_alignment="center")
        row[0].markdown(f"**{criterion.name}**  \n{criterion.description}")
        for col, side, letter in ((row[1], "left", "A"), (row[2], "right", "B")):
            col.radio(
                f"{criterion.name}, response {letter}",
                scale,
                index=None,
                horizontal=True,
                key=crit_key(i, side),
                label_visibility="collapsed",
            )
    st.text_area("Comment (optional)", key=comment_key(), height=80)
    st.subheader("Which response is better overall?")
    options = [p for p in PREFERENCES if p[0] != Preference.TIE or rubric.allow_ties]
    for col, (value, label, shortcut) in zip(st.columns(len(options)), options, strict=True):
        with col:
            st.form_submit_button(
                label,
                key=f"vote_{value}",
                type="primary",
                shortcut=shortcut,
                on_click=on_vote,
                args=(assignment.id, user.id, names, value),
                width="stretch",
            )

with st.expander("Skip or flag this pair"), st.form("skip", border=False, enter_to_submit=False):
    st.radio("Reason", list(SKIP_REASONS), key=f"skip_reason_{state['_gen']}")
    st.text_input("Details (optional)", key=f"skip_detail_{state['_gen']}")
    st.form_submit_button("Skip this pair", on_click=on_skip, args=(assignment.id, user.id))
