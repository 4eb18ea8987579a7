"""A conversation's pair on the annotator's screen: the earlier turns, collapsed but one click
away, each response's *own* earlier answers on its own side, and the judged turn marked.

Everything untrusted goes through ``ui.render`` (Markdown with HTML off); the labels are
"Response A/B" only, so the page carries no system name.
"""

from __future__ import annotations

import streamlit as st

from sidebyside.annotate.conversation_view import BlindHistory
from sidebyside.ui.rating_form import pane_height
from sidebyside.ui.render import render

#: The key of the judged turn's prompt box (``show_pair``'s ``prompt_key``).
JUDGED_KEY = "judged_prompt"
#: The judged turn stands out: a coloured edge on its prompt box (``show_pair``'s key).
CSS = """<style>
.st-key-judged_prompt { border-left: 4px solid #ff4b4b !important;
  background: rgba(255, 75, 75, 0.04); }
.sbs-turn-label { font-size: 0.8em; opacity: 0.75; margin: 0.3em 0 0.1em 0; }
</style>"""


def turn_label(history: BlindHistory | None) -> str:
    """The judged prompt's heading.

    >>> turn_label(None)
    'Prompt'
    >>> turn_label(BlindHistory(2, 2, None, ()))
    'Turn 2 of 2 (judged): the user asks'
    """
    if history is None:
        return "Prompt"
    return f"Turn {history.turn} of {history.turns} (judged): the user asks"


def _label(text: str) -> None:
    st.html(f'<div class="sbs-turn-label">{text}</div>')  # our constant text, no user data


def show_history(history: BlindHistory, *, raw: bool) -> None:
    """The system message and the earlier turns, in a collapsed expander: the left column is
    Response A's conversation, the right one Response B's (they share the user turns)."""
    st.html(CSS)
    if not history.earlier and not history.system_message:
        return
    n = len(history.earlier)
    title = (
        f"Earlier in this conversation: {n} turn{'s' if n != 1 else ''}, each response with "
        "its own answers"
        if n
        else "The conversation's system message"
    )
    with st.expander(title, expanded=False):
        if history.system_message:
            _label("System message")
            with st.container(border=True):
                render(history.system_message, raw=raw)
        if not n:
            return
        columns = st.columns(2, gap="small")
        for column, letter, side in ((columns[0], "A", "left"), (columns[1], "B", "right")):
            with column:
                st.markdown(f"**Response {letter}'s conversation**")
                for k, turn in enumerate(history.earlier, start=1):
                    _label(f"Turn {k} · user")
                    with st.container(border=True):
                        render(turn.user, raw=raw)
                    _label(f"Turn {k} · Response {letter}")
                    # Both sides' answers of a turn get one height; a long one scrolls.
                    height = pane_height(turn.left, turn.right)
                    with st.container(border=True, height=height, key=f"hist_{side}_{k}"):
                        render(getattr(turn, side), raw=raw)
