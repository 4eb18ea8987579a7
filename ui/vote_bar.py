"""The Annotate page's vote bar stays on screen (issue 22): at 1440×900 and 1366×768 with an
article-length prompt the vote buttons used to sit below the fold. The row of vote buttons
(the ``vote_bar`` container of the rating form) sticks to the bottom of the window while the
form is on screen, over a solid background, so a vote never needs a scroll. When the form
itself starts below the window (both answers opened to full length), a sticky bar cannot rise
above the form's top, so our own constant script pins it to the window's bottom instead, at
the form's width, until the form comes into view. No untrusted text in either."""

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
div[data-sbs-pinned="1"]:has(> .st-key-{VOTE_BAR_KEY}) {{
  position: fixed;
  left: var(--sbs-bar-left, 0);
  width: var(--sbs-bar-width, 100%);
}}
[data-testid="stElementContainer"]:has(.sbs-js) {{ display: none; }}
</style>"""

# Pins the bar while the form's top is below the window's bottom (see the module docstring);
# checked on every scroll inside the page, on a resize and every quarter second (a rerun or
# an expanded pane moves the form without telling us).
VOTE_BAR_JS = f"""<div class="sbs-js"></div><script>
if (!window.__sbsBar) {{
  window.__sbsBar = true;
  const check = () => {{
    const bar = document.querySelector('.st-key-{VOTE_BAR_KEY}');
    if (!bar) return;
    const wrap = bar.parentElement, form = wrap.parentElement;
    const box = form.getBoundingClientRect();
    const pinned = box.top + wrap.offsetHeight > window.innerHeight;
    const value = pinned ? '1' : '0';
    if (pinned) {{
      const root = document.documentElement.style;
      root.setProperty('--sbs-bar-left', box.left + 'px');
      root.setProperty('--sbs-bar-width', box.width + 'px');
    }}
    if (wrap.dataset.sbsPinned !== value) wrap.dataset.sbsPinned = value;
  }};
  document.addEventListener('scroll', check, true);
  window.addEventListener('resize', check);
  setInterval(check, 250);
  check();
}}
</script>"""


def inject_vote_bar_css() -> None:
    st.html(VOTE_BAR_CSS)
    st.html(VOTE_BAR_JS, unsafe_allow_javascript=True)
