"""Rate one blind pair at a time.

Only text reaches the browser: the prompt, the two responses (as "A" and "B") and the rubric.
Widget keys are neutral ("crit_0_left_1"), the pair's identity stays in server-side session
state, and the URL carries nothing.
"""

import time

import streamlit as st

from sidebyside.annotate.assignment import skip_assignment, submit_rating
from sidebyside.annotate.blinding import blind_view
from sidebyside.annotate.conversation_view import blind_history
from sidebyside.annotate.gold import qualification
from sidebyside.annotate.membership import claim_next
from sidebyside.annotate.my_ratings import UNDO_WINDOW, last_undoable, undo_last_vote
from sidebyside.annotate.progress import my_progress
from sidebyside.foundation.enums import Preference, Role
from sidebyside.foundation.rubric import Rubric, rubric_of
from sidebyside.ui.common import require_user
from sidebyside.ui.conversation import JUDGED_KEY, show_history, turn_label
from sidebyside.ui.crowd_view import completed, own_study
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import error_text, shown_as_message
from sidebyside.ui.graded_vote import shortcut_help, vote_buttons
from sidebyside.ui.rating_form import (
    keep_draft,
    missing_message,
    read_scores,
    score_grid,
    show_pair,
)
from sidebyside.ui.render import inject_css
from sidebyside.ui.study_pick import pick_visible_study
from sidebyside.ui.vote_bar import VOTE_BAR_KEY, inject_vote_bar_css

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
# After a vote the next pair starts at the top. Our own constant script (no untrusted text);
# the counter in the comment makes each one a new element, so it runs once per vote.
SCROLL_TOP = (
    '<div class="sbs-js"></div><script>/*{n}*/ window.scrollTo(0, 0); '
    "document.querySelectorAll('[data-testid=stMain], [data-testid=stAppViewContainer]')"
    ".forEach(e => e.scrollTo(0, 0));</script>"
)

state = st.session_state


def crit_key(i: int, side: str) -> str:
    # The suffix counts the pairs shown in this browser session: each pair gets brand-new
    # widgets, so nothing typed for one pair can linger into the next.
    return f"crit_{i}_{side}_{state.get('_gen', 0)}"


def comment_key() -> str:
    return f"comment_{state.get('_gen', 0)}"


def flash(kind: str, message: str) -> None:
    state["_flash"] = (kind, message)


def on_vote(
    assignment_id: int, user_id: int, preference: str, rubric: Rubric, strength: int | None = None
) -> None:
    """Store the vote (preference as shown: "A", "B" or "tie", graded by ``strength`` in a
    five-level study) with the form's scores. The callback's unit of work commits it before
    the page reruns and draws the next pair."""
    if assignment_id in state.get("_submitted", set()):
        return  # a double click: the first submit already counted
    scores, missing = read_scores(rubric, crit_key)
    if missing:
        state["_missing"] = (state.get("_gen", 0), missing)
        flash("error", missing_message(rubric, missing))
        return
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
                strength=strength,
            )
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an id and a retry
        flash("error", error_text(exc, "saving your vote"))
        return
    state.setdefault("_submitted", set()).add(assignment_id)
    state["_scroll_top"] = True
    flash("success", "Saved. Here is the next pair.")


def on_undo(study_id: int, user_id: int) -> None:
    from sidebyside.foundation.lookup import get_study

    try:
        with db_session() as session:
            given = undo_last_vote(session, study=get_study(session, study_id), user_id=user_id)
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an id and a retry
        flash("error", error_text(exc, "taking your vote back"))
        return
    state["_prefill"] = given
    state["_submitted"] = set()  # the reopened pair takes a vote again
    state["_scroll_top"] = True
    flash("info", "Your last vote was taken back: change it and vote again.")


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
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an id and a retry
        flash("error", error_text(exc, "skipping the pair"))
        return
    state["_scroll_top"] = True
    flash("success", "Skipped. Here is the next pair.")


def duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


user = require_user()
inject_css()
inject_vote_bar_css()
# One compact row on top: title, study, progress, raw toggle (the pair must fit a laptop).
top_title, top_study, top_progress, top_raw = st.columns(
    [1.4, 2, 3.6, 1.3], vertical_alignment="center"
)
top_title.title("Annotate")
with top_study:
    study = own_study(user) or pick_visible_study(
        user, "Study"
    )  # a crowd participant sees theirs only
if study is None:
    st.stop()
rubric = rubric_of(study)

# Always one click away, on every pair (an expander in the page collapsed after a vote).
with st.sidebar, st.expander("Guidelines", expanded=True):
    st.markdown(rubric.guidelines or "Rate both responses, then choose the better one.")
    tie_key = ", **Alt+T** a tie" if rubric.allow_ties else ""
    st.caption(
        f"Scores run from {rubric.scale_min} (worst) to {rubric.scale_max} (best). "
        "Keyboard: **Tab** moves between scores and the arrow keys pick one; "
        f"**Alt+A** votes for A, **Alt+B** for B{tie_key} (⌥ instead of Alt on a Mac). "
        "A vote submits the scores and the comment with it."
    )
    if five_levels := shortcut_help(study, rubric):
        st.caption(five_levels)
    for criterion in rubric.criteria:
        st.markdown(f"- **{criterion.name}**: {criterion.description}")

with shown_as_message("loading your progress"), db_session() as session:
    mine = my_progress(session, study=study, user_id=user.id)

annotating_key = f"_annotating_{study.id}"
if user.role == Role.ADMIN and not mine.has_open and not state.get(annotating_key):
    # Looking around must not claim a pair and count the admin as an annotator.
    st.info(
        "You are an admin: opening this page claims nothing. Start annotating to be handed "
        "pairs of this study like any annotator."
    )
    if st.button("Start annotating", type="primary"):
        state[annotating_key] = True
        st.rerun()
    st.stop()

with shown_as_message("checking your qualification"), db_session() as session:
    qualified = qualification(session, study=study, user_id=user.id)
if qualified.failed:  # told so, and no further pairs (annotate/gold.py)
    st.warning(qualified.message())
    st.stop()
if completed(user):  # a crowd participant's quota is done: code or way back (ui/crowd_view.py)
    st.stop()

with shown_as_message("loading your next pair"), db_session() as session:
    # Membership checked, the study remembered, claims left on other studies released.
    assignment = claim_next(session, study=study, user=user)
    view = blind_view(session, assignment) if assignment is not None else None
    history = blind_history(session, assignment) if assignment is not None else None
    mine = my_progress(session, study=study, user_id=user.id)
    undoable = last_undoable(session, study=study, user_id=user.id) is not None

if mine.total:
    top_progress.progress(
        mine.done / mine.total, text=f"{mine.done} rated · about {mine.left} left for you"
    )
    if mine.median_seconds is not None:
        top_progress.caption(
            f"Median {duration(mine.median_seconds)} per pair · "
            f"about {duration(mine.seconds_left or 0)} left at that pace"
        )

kind, message = state.pop("_flash", (None, None))
if kind == "success" and assignment is None:
    message = "Saved."  # there is no next pair
if kind in ("success", "info") or undoable:
    # An inline line instead of a toast: nothing ever covers Response B.
    done_line, undo_col = st.columns([5, 1], vertical_alignment="center")
    if kind == "info":
        done_line.info(message)
    elif kind == "success":
        done_line.success(message)
    if undoable:
        undo_col.button(
            "Undo last vote",
            key="undo_last",
            on_click=on_undo,
            args=(study.id, user.id),
            help=f"Takes your latest vote back, for {UNDO_WINDOW.seconds // 60} minutes after "
            "you gave it. Older ratings can be changed on My ratings.",
        )

if state.pop("_scroll_top", False):
    # A container keyed per pair: a new element each time, so the browser runs the script again.
    with st.container(key=f"top_{state.get('_gen', 0)}_{time.monotonic_ns()}"):
        st.html(SCROLL_TOP.format(n=state.get("_gen", 0)), unsafe_allow_javascript=True)

if assignment is None or view is None:
    if kind == "error":
        st.error(message)
    if mine.total == 0:
        st.info("This study has no pairs for you to rate yet.")
    else:
        st.success("You have finished every pair available to you in this study. Thank you!")
    st.stop()

if state.get("_aid") != assignment.id:  # a new pair (or a resumed one) starts a fresh form
    state["_aid"] = assignment.id
    state["_shown_at"] = time.monotonic()
    state["_gen"] = state.get("_gen", 0) + 1
    state["_given"] = state.pop("_prefill", None)
gen = state["_gen"]
given = state.get("_given") or {}

raw = top_raw.toggle(
    "Raw text", key=f"raw_{gen}", help="The exact characters, without Markdown formatting."
)
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

missing_gen, missing = state.get("_missing", (None, set()))
# One form per vote: scores and comment travel with the click (or key) that casts the vote,
# so nothing typed is lost and the page reruns once per pair, not once per score.
# enter_to_submit=False: Ctrl+Enter in the comment would otherwise press the form's first
# button, a silent vote for A.
keep_draft(assignment.id)  # an opaque token reaches the browser, never the id
with st.form("rate", border=False, enter_to_submit=False):
    score_grid(
        rubric,
        crit_key,
        missing=missing if missing_gen == gen else set(),
        given=given.get("scores"),
    )
    # One line is enough for most comments and keeps the vote buttons on screen.
    st.text_input("Comment (optional)", value=given.get("comment", ""), key=comment_key())
    # The buttons say it all ("A is better" ...): no heading row above them.
    options = vote_buttons(study, rubric, PREFERENCES)  # three or five (ui/graded_vote.py)
    bar = st.container(key=VOTE_BAR_KEY)  # sticks to the window's bottom (ui/vote_bar.py)
    for col, button in zip(bar.columns(len(options)), options, strict=True):
        with col:
            st.form_submit_button(
                button.label,
                key=button.key,
                type="primary",
                shortcut=button.shortcut,
                on_click=on_vote,
                args=(assignment.id, user.id, button.value, rubric, button.strength),
                width="stretch",
            )
    # Right below the buttons, where the eye is after pressing one (in the sticky bar).
    if kind == "error":
        bar.error(message)

with st.expander("Skip or flag this pair"), st.form("skip", border=False, enter_to_submit=False):
    st.radio("Reason", list(SKIP_REASONS), key=f"skip_reason_{gen}")
    st.text_input("Details (optional)", key=f"skip_detail_{gen}")
    st.form_submit_button("Skip this pair", on_click=on_skip, args=(assignment.id, user.id))
