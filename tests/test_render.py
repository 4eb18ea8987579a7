"""ui/render.py: untrusted text shown as written, nothing remote, HTML inert."""

from __future__ import annotations

import re

from sidebyside.ui.render import to_html


def test_single_newlines_become_line_breaks():
    out = to_html("Roses are red,\nViolets are blue,\nSugar is sweet,\nAnd so are you.")
    assert out.count("<br />") == 3 and out.count("<p>") == 1


def test_indentation_outside_code_is_kept():
    out = to_html("def f(x):\n    if x:\n        return 1")
    assert "<br />\n\u00a0\u00a0\u00a0\u00a0if x:" in out
    assert "\u00a0" * 8 + "return 1" in out


def test_lists_tables_fences_and_headings_render():
    text = (
        "Steps:\n- one\n  - nested\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
        "```py\n  x = 1\n```\n# Title"
    )
    out = to_html(text)
    assert out.count("<ul>") == 2 and "<table>" in out and "<h1>Title</h1>" in out
    assert '<pre><code class="language-py">  x = 1\n</code></pre>' in out


def test_html_is_inert_and_nothing_remote_is_live():
    out = to_html(
        "<script>alert(1)</script> <img src=x onerror=alert(1)> "
        "![cat](http://img.invalid/c.png) [site](http://evil.invalid/) <http://auto.invalid/>"
    )
    assert "<script" not in out and "<img" not in out and "<a " not in out
    assert "&lt;script&gt;" in out
    assert "[image not loaded: cat — http://img.invalid/c.png]" in out
    assert "(http://evil.invalid/)" in out and "(http://auto.invalid/)" in out
    # Attributes only inside escaped text (&lt;img src=x...), never on a real tag.
    assert not re.search(r"<[^>]*\b(src|href)=", out)


def test_raw_is_exact_and_escaped():
    text = "a  <b>\n\tc &amp;"
    out = to_html(text, raw=True)
    assert out == '<pre class="sbs-raw">a  &lt;b&gt;\n\tc &amp;amp;</pre>'


def test_empty_text_says_so():
    assert "(empty response)" in to_html("  \n")
    assert "(empty response)" in to_html(None)
