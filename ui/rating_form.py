"""The blind pair on screen and its score grid, shared by Annotate and My ratings.

Widget keys are neutral (``crit_0_left_3``): they carry a criterion index, a side as shown
and a per-browser-session counter, never an id or a system name.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Callable

import streamlit as st

from sidebyside.foundation.rubric import Rubric
from sidebyside.ui.pane_cues import PANE_BOUND, bound_css, inject_cues, prompt_limit
from sidebyside.ui.render import render

#: Most and least height (px) of a conversation's earlier-turn panes (``ui.conversation``):
#: both sides of a turn get one height, so the turns stay level; longer answers scroll.
PANE_MAX, PANE_MIN = 250, 110
#: Rough line metrics of a half-width pane, to size it to its text.
_CHARS_PER_LINE, _LINE_PX, _PANE_PAD_PX = 62, 24, 34
#: A prompt longer than this (characters or lines) shows its first lines and "Show all".
LONG_PROMPT_CHARS, LONG_PROMPT_LINES = 500, 8

#: The container of the score rows, on Annotate and My ratings alike.
GRID_KEY = "score_grid"
#: On wide screens the grid has its "Response A/B" header, so each radio's own label is
#: hidden; on a phone the columns stack and every row shows its label ("Accuracy · A").
GRID_CSS = """<style>
@media (min-width: 641px) {
  .st-key-score_grid [data-testid="stWidgetLabel"] { display: none; }
}
@media (max-width: 640px) { .sbs-grid-header { display: none; } }
.sbs-missing { color: #d33; font-weight: 600; }
/* Our behaviour-only scripts take no room (no gap) in the layout. */
[data-testid="stElementContainer"]:has(.sbs-js) { display: none; }
[data-testid="stMainBlockContainer"] { padding-top: 2rem !important; }
/* Compact: the title, and the gaps inside the rating form (rows of radios, comment, votes). */
[data-testid="stMainBlockContainer"] h1 { font-size: 2rem; padding: 0 0 0.5rem 0; }
[data-testid="stForm"] [data-testid="stVerticalBlock"] { gap: 0.35rem; }
</style>"""


# Keeps the two panes at the same scroll position while "Scroll together" is on. Our own
# constant script (no untrusted text); one capturing listener serves every later pair too.
_SYNC_JS = """<div class="sbs-js"></div><script>
if (!window.__sbsSync) {
  window.__sbsSync = true;
  const scroller = (key) => {
    const box = document.querySelector('.st-key-' + key);
    if (!box) return null;
    for (let el = box; el; el = el.parentElement) {
      if (el.scrollHeight > el.clientHeight + 1) return el;
      if (el.dataset && el.dataset.testid === 'stMain') break;
    }
    return box;
  };
  let busy = false;
  document.addEventListener('scroll', (event) => {
    // The toggle itself says whether to sync (a re-rendered script would not run again).
    const on = document.querySelector('.st-key-scroll_together input');
    if (!on || !on.checked || busy) return;
    const a = scroller('pane_a'), b = scroller('pane_b');
    const other = event.target === a ? b : event.target === b ? a : null;
    if (!other) return;
    busy = true;
    other.scrollTop = event.target.scrollTop;
    requestAnimationFrame(() => { busy = false; });
  }, true);
}
</script>"""


# Half-entered scores survive a reload of the same pair: each pick is kept in the tab's
# sessionStorage under an opaque per-pair token (an HMAC, no id), and put back when the pair is
# drawn again. Our own constant script; the token is hex.
_DRAFT_JS = """<div id="sbs-draft" class="sbs-js" data-token="%s"></div><script>
(() => {
  const token = () => (document.getElementById('sbs-draft') || {dataset: {}}).dataset.token;
  const rows = () => [...document.querySelectorAll('[class*="st-key-crit_"]')];
  const rowName = (box) => [...box.classList].find(c => c.startsWith('st-key-crit_'))
    .replace(/_[0-9]+$/, '');
  if (!window.__sbsDraft) {
    window.__sbsDraft = true;
    const save = () => {
      const t = token();
      if (!t) return;
      const picked = {};
      for (const box of rows()) {
        const radios = [...box.querySelectorAll('input[type=radio]')];
        const i = radios.findIndex(r => r.checked);
        if (i >= 0) picked[rowName(box)] = i;
      }
      // Never overwrite a kept draft with nothing (a reload before the restore has run).
      if (!Object.keys(picked).length) return;
      sessionStorage.setItem('sbs-draft-' + t, JSON.stringify(picked));
    };
    // A click or a key on a score row: read the rows once the pick has landed.
    for (const kind of ['click', 'keyup', 'change']) {
      document.addEventListener(kind, (event) => {
        if (event.target.closest && event.target.closest('[class*="st-key-crit_"]')) {
          setTimeout(save, 50);
        }
      }, true);
    }
    // A pick made while a rerun redraws the rows can be read before it shows: read again
    // every second, so the draft catches up whatever the timing.
    setInterval(save, 1000);
  }
  const saved = JSON.parse(sessionStorage.getItem('sbs-draft-' + token()) || '{}');
  let tries = 0;
  const restore = () => {
    const boxes = rows();
    const ready = boxes.length > 0 && boxes.every(b => b.querySelector('input[type=radio]'));
    if (!ready) { if (tries++ < 600) setTimeout(restore, 100); return; }
    let pending = false;
    for (const box of boxes) {
      const i = saved[rowName(box)];
      const radios = [...box.querySelectorAll('input[type=radio]')];
      if (i !== undefined && radios[i] && !radios.some(r => r.checked)) {
        radios[i].click();
        pending = true;
      }
    }
    // A pick put back while a rerun redraws the rows can be lost: look again until all hold.
    if (pending && tries++ < 600) setTimeout(restore, 500);
  };
  if (Object.keys(saved).length) restore();
})();
</script>"""
_DRAFT_SECRET = secrets.token_bytes(32)


def keep_draft(pair_handle: int) -> None:
    """Keep this pair's half-entered scores across a reload (see ``_DRAFT_JS``)."""
    token = hmac.new(_DRAFT_SECRET, str(pair_handle).encode(), hashlib.sha256).hexdigest()[:32]
    st.html(_DRAFT_JS % token, unsafe_allow_javascript=True)


def show_pair(
    prompt: str,
    reference: str | None,
    left: str,
    right: str,
    *,
    raw: bool,
    prompt_label: str = "Prompt",
    prompt_key: str | None = None,
) -> None:
    """Prompt, optional reference and the two responses side by side (``prompt_label`` and
    ``prompt_key``: a conversation's judged turn, ``ui.conversation``).

    Each response pane is sized to its own content up to a bound and scrolls past it, with a
    "more below" cue (``ui.pane_cues``); *Show whole answers* opens both panes to their full
    height together, so they stay side by side. A long prompt shows its first lines and
    *Show all*. The keys are neutral (``pane_a``, ``pane_b``, ``expand_panes``)."""
    inject_cues()
    long_prompt = len(prompt) > LONG_PROMPT_CHARS or prompt.count("\n") > LONG_PROMPT_LINES
    # "Show all" only for a long prompt; otherwise its room goes to the label (a turn's is long).
    widths = [1.5, 1.2, 1.7, 2.1, 1.4] if long_prompt else [2.7, 1.7, 2.1, 1.4]
    label, *whole, together, expand, ref = st.columns(widths, vertical_alignment="bottom")
    label.markdown(f"**{prompt_label}**")
    show_all = long_prompt and whole[0].toggle("Show all", key="prompt_all")
    # Read by the script from the page itself (a re-rendered script would not run again).
    together.toggle("Scroll together", key="scroll_together", help="Scroll both responses at once.")
    expanded = expand.toggle(
        "Show whole answers", key="expand_panes", help="Both responses at full length."
    )
    st.html(_SYNC_JS, unsafe_allow_javascript=True)
    if reference:  # one click away, without a row of its own
        with ref.popover("Reference answer", width="stretch"):
            render(reference, raw=raw)
    box_key = prompt_key or "prompt_box"
    if long_prompt and not show_all:
        st.html(bound_css(box_key, prompt_limit()))
    with st.container(border=True, key=box_key):
        render(prompt, raw=raw)
    left_col, right_col = st.columns(2, gap="small")
    panes = ((left_col, "Response A", left, "pane_a"), (right_col, "Response B", right, "pane_b"))
    for column, title, text, key in panes:
        st.html(bound_css(key, None if expanded else PANE_BOUND))
        with column:
            st.markdown(f"**{title}**")
            with st.container(border=True, key=key):
                render(text, raw=raw)


def pane_height(*texts: str) -> int:
    r"""Pixels for panes that show the longer text whole when it is short, else scroll.

    >>> pane_height("hi", "a\nb"), pane_height("x" * 5000, "")
    (110, 250)
    """
    lines = max(
        sum(max(1, -(-len(line) // _CHARS_PER_LINE)) for line in (t or "").split("\n"))
        for t in texts
    )
    return int(min(PANE_MAX, max(PANE_MIN, lines * _LINE_PX + _PANE_PAD_PX)))


def score_grid(
    rubric: Rubric,
    key: Callable[[int, str], str],
    *,
    missing: set[tuple[int, str]] = frozenset(),  # type: ignore[assignment]
    given: dict[str, dict[str, int]] | None = None,
) -> None:
    """One row per criterion, a 1..N radio per response. ``missing`` marks rows (criterion
    index, side) the last vote left empty; ``given`` pre-selects earlier scores."""
    st.html(GRID_CSS)
    # One keyed box for the rows, whatever the radios' keys (Annotate's crit_…, My ratings'
    # edit_…), so the compact layout applies on both pages.
    with st.container(key=GRID_KEY):
        scale = list(range(rubric.scale_min, rubric.scale_max + 1))
        header = st.columns([2, 3, 3])
        header[1].html('<b class="sbs-grid-header">Response A</b>')
        header[2].html('<b class="sbs-grid-header">Response B</b>')
        for i, criterion in enumerate(rubric.criteria):
            row = st.columns([2, 3, 3], vertical_alignment="center")
            sides_missing = [letter for (j, letter) in sorted(missing) if j == i]
            mark = (
                f'<br><span class="sbs-missing">Score {" and ".join(sides_missing)}</span>'
                if sides_missing
                else ""
            )
            # The description is a hover away (a title, not a focusable "?" that would sit between
            # the score rows in the Tab order) and always in the sidebar's guidelines.
            row[0].html(
                f'<b title="{html.escape(criterion.description)}">{html.escape(criterion.name)}</b>'
                + mark
            )
            for col, side, letter in ((row[1], "left", "A"), (row[2], "right", "B")):
                before = (given or {}).get(criterion.name, {}).get(letter)
                col.radio(
                    f"{criterion.name} · {letter}",
                    scale,
                    index=scale.index(before) if before in scale else None,
                    horizontal=True,
                    key=key(i, side),
                )


def read_scores(
    rubric: Rubric, key: Callable[[int, str], str]
) -> tuple[dict[str, dict[str, int]], set[tuple[int, str]]]:
    """The grid's values in shown terms, and the (criterion index, side) rows left empty."""
    scores: dict[str, dict[str, int]] = {}
    missing: set[tuple[int, str]] = set()
    for i, name in enumerate(rubric.names):
        for side, letter in (("left", "A"), ("right", "B")):
            value = st.session_state.get(key(i, side))
            if value is None:
                missing.add((i, letter))
            else:
                scores.setdefault(name, {})[letter] = int(value)
    return scores, missing


def missing_message(rubric: Rubric, missing: set[tuple[int, str]]) -> str:
    names = rubric.names
    rows = ", ".join(f"{names[i]} ({letter})" for i, letter in sorted(missing))
    return f"Score every criterion for both responses first. Missing: {rows}."
