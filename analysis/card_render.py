"""The evaluation card as Markdown and HTML (a section of the report, or a page of its own).

System and model names are untrusted text: escaped for HTML, pipes escaped for Markdown."""

from __future__ import annotations

from html import escape

from sidebyside.analysis.report_css import REPORT_CSS
from sidebyside.analysis.report_rows import CardRow, EvaluationCard
from sidebyside.analysis.small_samples import TOO_FEW

HEADERS = ["layer", "metric", "base", "base value", "system", "value [95% CI]"]
HEADERS += ["difference [95% CI]", "test", "verdict"]
TITLE = "Evaluation card"


def _is_rate(row: CardRow) -> bool:
    return row.layer == "benchmark" or row.key.endswith(".win_rate")


def number(row: CardRow, x: float | None, *, signed: bool = False) -> str:
    """A figure of a row in its natural unit: rates as percentages, the rest to 4 digits."""
    if x is None:
        return "—"
    if _is_rate(row):
        return (f"{x * 100:+.1f} pts" if signed else f"{x:.1%}").replace("-", "−")
    return (f"{x:+.4g}" if signed else f"{x:.4g}").replace("-", "−")


def _interval(row: CardRow, low: float | None, high: float | None, *, signed: bool) -> str:
    if low is None or high is None:
        return ""
    return f" [{number(row, low, signed=signed)}, {number(row, high, signed=signed)}]"


def test_cell(row: CardRow) -> str:
    """How the row's verdict was reached: "paired over 30 prompts", or why unpaired."""
    if row.paired:
        return row.method.replace("paired bootstrap over ", f"paired over {row.n_items} ")
    return row.method


def _value_cell(row: CardRow) -> str:
    """The figure and its interval; a win rate from too few prompts says so instead."""
    if row.verdict.startswith(TOO_FEW):  # a win rate or an alpha from too few
        return row.verdict.split(":")[0]
    return number(row, row.value) + _interval(row, row.ci_low, row.ci_high, signed=False)


def card_cells(card: EvaluationCard) -> list[list[str]]:
    """The card's table as text cells (the columns of ``HEADERS``)."""
    cells = []
    for r in card.rows:
        cells.append(
            [
                r.layer,
                r.metric,
                r.base or "—",
                number(r, r.base_value),
                r.system or "—",
                _value_cell(r),
                (number(r, r.diff, signed=True) if r.diff is not None else "—")
                + _interval(r, r.diff_low, r.diff_high, signed=True),
                test_cell(r),
                r.verdict,
            ]
        )
    return cells


def card_md(card: EvaluationCard | None) -> list[str]:
    """The card as Markdown lines (a level-2 section)."""
    if card is None:
        return []
    out = [f"## {TITLE}", ""]
    if not card.rows:
        return [
            *out,
            "_No figures yet: add metrics, perplexity, benchmarks, judges or ratings._",
            "",
        ]
    out.append("| " + " | ".join(HEADERS) + " |")
    out.append("|" + "---|" * len(HEADERS))
    for row in card_cells(card):
        out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
    out.append("")
    out += [f"- {note}" for note in card.notes]
    return [*out, ""]


CSS = """
.card td.clear-no{color:#777}.card td.flag{color:#b00020;font-weight:600}
.card td:nth-child(-n+3),.card td:nth-child(5),.card td:nth-last-child(-n+2)
{text-align:left}
"""


def card_html(card: EvaluationCard | None, *, heading: bool = True) -> str:
    """The card as an HTML fragment (a level-2 section); rows without a clear change are
    greyed, flagged ones (forgetting, capability lost) in red."""
    if card is None:
        return ""
    out = (f"<h2>{TITLE}</h2>" if heading else "") + f"<style>{CSS}</style>"
    if not card.rows:
        return out + "<p class='muted'>No figures yet.</p>"
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = []
    for r, cells in zip(card.rows, card_cells(card), strict=True):
        cls = "flag" if r.flag else ("clear-no" if r.clear is False else "")
        tds = "".join(f"<td>{escape(c)}</td>" for c in cells[:-1])
        body.append(f"<tr>{tds}<td class='{cls}'>{escape(cells[-1])}</td></tr>")
    out += f"<table class='card'><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody>"
    out += "</table><ul class='muted'>"
    return out + "".join(f"<li>{escape(n)}</li>" for n in card.notes) + "</ul>"


def card_page(card: EvaluationCard, study: str, *, preface: str = "") -> str:
    """A self-contained HTML page of the card alone; ``preface``: an HTML fragment above it
    (what was compared)."""
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{TITLE}: {escape(study)}</title><style>{REPORT_CSS}</style></head><body>"
        f"<h1>{TITLE}: {escape(study)}</h1>"
        + preface
        + card_html(card, heading=False)
        + "</body></html>\n"
    )
