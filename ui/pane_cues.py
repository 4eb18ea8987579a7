"""Panes that say when more follows (issue 22).

A response pane is sized to its own content up to a bound (``PANE_BOUND``) and scrolls past
it; a long prompt shows its first few lines (``PROMPT_LINES``). Where a box holds more than it
shows, a fade and a small "▼ more below" label sit on its bottom edge, and go away once it is
scrolled to the end (or expanded). Our own constant CSS and script: the script only measures
boxes and sets a ``data-sbs-more`` attribute on them; the label is CSS text, so no untrusted
text ever reaches a script or a style (outputs are rendered by ``ui.render`` only).
"""

from __future__ import annotations

import json

import streamlit as st

#: The most a response pane shows before it scrolls: a share of the window, so prompt, panes
#: and the first score rows fit 1366x768 and 1440x900 (the vote bar sticks, ui/vote_bar.py).
PANE_BOUND = "clamp(180px, 36vh, 420px)"
#: Lines of a long prompt shown before "Show all" (at ``ui.render``'s line height of 1.5).
PROMPT_LINES = 5
#: Keys of the boxes that get the cue (prefixes of Streamlit's ``st-key-…`` classes).
CUE_KEYS = ("pane_", "hist_", "prompt_box", "judged_prompt")

CUE_CSS = """<style>
/* The cue sits on the box's wrapper (which does not scroll), over the box's bottom edge. */
div:has(> [data-sbs-more]) { position: relative; }
[data-testid="stElementContainer"]:has(.sbs-js) { display: none; }
div:has(> [data-sbs-more="1"])::after {
  content: "\\25BC  more below";
  position: absolute; left: 1px; right: 1px; bottom: 1px; height: 2.6em;
  display: flex; align-items: flex-end; justify-content: center; padding-bottom: 0.25em;
  font-size: 0.78rem; font-weight: 600; color: #555; pointer-events: none;
  border-radius: 0 0 0.5rem 0.5rem;
  background: linear-gradient(to bottom, rgba(255, 255, 255, 0),
    var(--background-color, #fff) 75%);
}
</style>"""

# Measures every cue box, now, on any scroll inside the page, on a resize and every half
# second (a rerun redraws boxes without telling us). One capturing listener for all pairs.
CUE_JS = """<div class="sbs-js"></div><script>
if (!window.__sbsCue) {
  window.__sbsCue = true;
  const keys = %s;
  const selector = keys.map(k => '[class*="st-key-' + k + '"]').join(',');
  const mark = (box) => {
    const more = box.scrollHeight - box.scrollTop - box.clientHeight > 4;
    const value = more ? '1' : '0';
    if (box.dataset.sbsMore !== value) box.dataset.sbsMore = value;
  };
  const all = () => document.querySelectorAll(selector).forEach(mark);
  document.addEventListener('scroll', (event) => {
    const box = event.target;
    if (box && box.matches && box.matches(selector)) mark(box);
  }, true);
  window.addEventListener('resize', all);
  setInterval(all, 500);
  all();
}
</script>"""


def inject_cues() -> None:
    """Once per page run where panes or a long prompt are shown."""
    st.html(CUE_CSS)
    st.html(CUE_JS % json.dumps(list(CUE_KEYS)), unsafe_allow_javascript=True)


def bound_css(key: str, max_height: str | None) -> str:
    """A box (``st-key-<key>``) that scrolls past ``max_height``; ``None``: its whole content.

    >>> "max-height: 7.5em" in bound_css("prompt_box", "7.5em")
    True
    >>> "max-height: none" in bound_css("pane_a", None)
    True
    """
    limit = f"max-height: {max_height}; overflow-y: auto;" if max_height else "max-height: none;"
    return f"<style>.st-key-{key} {{ {limit} }}</style>"


def prompt_limit(lines: int = PROMPT_LINES) -> str:
    """The height of a prompt's first ``lines`` lines, with the box's padding."""
    return f"calc({lines * 1.5}em + 2rem)"
