"""The stylesheet shared by the HTML report and the card's page of its own.

A module of its own so that both renderers import it without importing each other."""

REPORT_CSS = """
body{font-family:system-ui,sans-serif;max-width:980px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.6em 0 1.2em}td,th{border:1px solid #ddd;padding:3px 8px;
text-align:right}th{background:#f4f4f4}td:first-child,th:first-child{text-align:left}
h2{border-bottom:2px solid #3b6ea8;padding-bottom:.2em;margin-top:2em}.muted{color:#777}
.charts{display:flex;flex-wrap:wrap;gap:1em}
"""
