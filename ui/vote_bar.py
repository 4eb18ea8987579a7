"""The Annotate page's vote bar stays on screen (issue 22): at 1440×900 and 1366×768 with an
article-length prompt the vote buttons used to sit below the fold. The row of vote buttons
(the ``vote_bar`` container of the rating form) sticks to the bottom of the window while the
form is on screen, over a solid background, so a vote never needs a scroll. Layout only: our
own constant CSS, no script."""

from __future__ import annotations

import streamlit as st

#: The key of the container holding the vote buttons (``st-key-vote_bar`` in the page).
VOTE_BAR_KEY = "vote_bar"

# Sticky on the container's wrapper: an element sticks only within its parent's box, and the
# container's own parent is a wrapper exactly its height; the wrapper's parent is the form.
VOTE_BAR_CSS = f"""<style>
div:has(> .st-key-{VOTE_BAR_KEY}) {{
  position: sticky;
  bottom: 0;
  z-index: 20;
  background: var(--background-color, #fff);
  padding: 0.35rem 0 0.45rem 0;
  box-shadow: 0 -8px 10px -8px rgba(0, 0, 0, 0.25);
}}
.st-key-{VOTE_BAR_KEY} {{ background: var(--background-color, #fff); }}
</style>"""


def inject_vote_bar_css() -> None:
    st.html(VOTE_BAR_CSS)
