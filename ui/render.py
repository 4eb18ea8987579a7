"""The one faithful renderer of untrusted text (prompts, references, model outputs).

An output is shown as its author wrote it:

* Markdown (fences, lists, tables, headings, emphasis) is rendered by markdown-it-py with raw
  HTML *off*, so ``<script>`` or ``<img onerror>`` arrive as visible text, never as markup;
* single newlines stay line breaks (``breaks=True``) and leading indentation outside code
  blocks is kept (as non-breaking spaces), so poems, plain lists and unfenced code keep their
  shape;
* nothing remote is ever fetched: an image becomes a text placeholder naming its address, and
  a link is plain text followed by its full URL (not clickable), so an output cannot make the
  annotator's browser call out or lead them off-site;
* ``raw=True`` shows the exact characters in monospace with whitespace preserved.

Everything we emit is built by markdown-it from escaped text, then handed to ``st.html``
(which also runs DOMPurify in the browser): a second wall, not the first.
"""

from __future__ import annotations

import html
import re

import streamlit as st
from markdown_it import MarkdownIt

# A line that Markdown reads as a list item keeps its indentation (it nests the list).
_LIST_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d{1,9}[.)])(?:[ \t]|$)")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,})")
_LEADING = re.compile(r"^[ \t]+")

#: Page-wide styles for rendered text (sent once per run; a style-only st.html takes no space).
CSS = """<style>
.sbs-out { line-height: 1.5; overflow-wrap: anywhere; }
.sbs-out p { margin: 0 0 0.6em 0; }
.sbs-out pre, .sbs-raw { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 0.6em 0;
  font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em;
  background: rgba(128, 128, 128, 0.08); padding: 0.5em; border-radius: 0.3em; }
.sbs-out code { font-size: 0.9em; background: rgba(128, 128, 128, 0.12); padding: 0 0.2em;
  border-radius: 0.2em; }
.sbs-out pre code { background: none; padding: 0; }
.sbs-out table { border-collapse: collapse; margin: 0 0 0.6em 0; }
.sbs-out th, .sbs-out td { border: 1px solid rgba(128, 128, 128, 0.4); padding: 0.2em 0.5em; }
.sbs-out h1, .sbs-out h2, .sbs-out h3, .sbs-out h4 { font-size: 1.1em; margin: 0.4em 0; }
.sbs-out ul, .sbs-out ol { margin: 0 0 0.6em 0; padding-left: 1.5em; }
.sbs-remote { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 0.85em;
  opacity: 0.8; }
.sbs-empty { opacity: 0.6; font-style: italic; }
</style>"""


def _keep_indentation(text: str) -> str:
    """Leading spaces outside fenced code become ``&nbsp;`` entities, which Markdown neither
    strips nor reads as an indented code block; list items keep theirs so lists still nest."""
    out: list[str] = []
    fence: str | None = None
    for line in text.split("\n"):
        match = _FENCE.match(line)
        if fence is not None:
            if match and match.group(1)[0] == fence[0] and len(match.group(1)) >= len(fence):
                fence = None
            out.append(line)
            continue
        if match:
            fence = match.group(1)
            out.append(line)
            continue
        lead = _LEADING.match(line)
        if lead and line.strip() and not _LIST_ITEM.match(line):
            width = len(lead.group(0).replace("\t", "    "))
            line = "&nbsp;" * width + line[lead.end() :]
        out.append(line)
    return "\n".join(out)


def _render_link_open(self, tokens, idx, options, env) -> str:
    href = tokens[idx].attrGet("href") or ""
    env.setdefault("_links", []).append(href)
    return '<span class="sbs-link">'


def _render_link_close(self, tokens, idx, options, env) -> str:
    href = env["_links"].pop() if env.get("_links") else ""
    # The full address, as text: the annotator sees where it points and nothing is live.
    return f'</span> <span class="sbs-remote">({html.escape(href)})</span>'


def _render_image(self, tokens, idx, options, env) -> str:
    token = tokens[idx]
    alt = self.renderInlineAsText(token.children or [], options, env)
    src = token.attrGet("src") or ""
    label = f"[image not loaded: {alt} — {src}]" if alt else f"[image not loaded: {src}]"
    return f'<span class="sbs-remote">{html.escape(label)}</span>'


def _markdown() -> MarkdownIt:
    # linkify stays off: bare URLs are text already; "html": False escapes every tag.
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("link_close", _render_link_close)
    md.add_render_rule("image", _render_image)
    return md


_MD = _markdown()


def to_html(text: str | None, *, raw: bool = False) -> str:
    """Safe HTML for ``text`` (see the module docstring); an empty text says so.

    >>> to_html("roses\\nare red")
    '<div class="sbs-out"><p>roses<br />\\nare red</p>\\n</div>'
    >>> "<script>" in to_html("<script>alert(1)</script>")
    False
    """
    if text is None or not text.strip():
        return '<div class="sbs-out"><span class="sbs-empty">(empty response)</span></div>'
    if raw:
        return f'<pre class="sbs-raw">{html.escape(text)}</pre>'
    body = _MD.render(_keep_indentation(text), {})
    return f'<div class="sbs-out">{body}</div>'


def inject_css() -> None:
    """Once per page run, before the first ``render``."""
    st.html(CSS)


def render(text: str | None, *, raw: bool = False) -> None:
    """Show untrusted text faithfully (``raw``: the exact characters, monospace)."""
    st.html(to_html(text, raw=raw))
