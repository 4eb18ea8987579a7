"""The stress-probe section in the Markdown and HTML reports (and its cells for the page)."""

from __future__ import annotations

from html import escape

from sidebyside.analysis.probe_models import ProbeResult

TITLE = "Stress probes"
NOTE = (
    "Each probe perturbs the losing response of pairs the judge decided and judges them again "
    "in both orders (`sidebyside judge-probe`); the flip rate is the share whose verdict went "
    "to the perturbed loser, with a Wilson interval. The control perturbs the winner the same "
    "way: a judge swayed by the perturbation flips often and almost never in the control; a "
    "fair judge does neither."
)
HEADERS = ["judge", "probe", "pairs", "flips", "flip rate", "95% CI", "ties", "control flips",
           "control rate", "control 95% CI"]  # fmt: skip


def _rate(x: float | None) -> str:
    return "—" if x is None else f"{x:.3f}"


def _ci(lo: float | None, hi: float | None) -> str:
    return "—" if lo is None or hi is None else f"[{lo:.3f}, {hi:.3f}]"


def probe_cells(results: list[ProbeResult]) -> list[list[str]]:
    return [
        [r.judge, r.probe, str(r.n), str(r.flips), _rate(r.flip_rate), _ci(r.ci_low, r.ci_high),
         str(r.ties), f"{r.control_flips}/{r.control_n}", _rate(r.control_rate),
         _ci(r.control_ci_low, r.control_ci_high)]
        for r in results
    ]  # fmt: skip


def _md_cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def probes_md(results: list[ProbeResult]) -> list[str]:
    if not results:
        return []
    rows = probe_cells(results)
    out = [f"### {TITLE}", "", NOTE, "", "| " + " | ".join(HEADERS) + " |",
           "|" + "---|" * len(HEADERS)]  # fmt: skip
    out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    out.append("")
    for r in results:
        for ex in r.examples:
            out.append(
                f"- {_md_cell(r.judge)}, {r.probe}, pair {ex.pair_id}: {ex.winner} → "
                f"{ex.verdict} — “{_md_cell(ex.reasoning[:160])}”"
            )
    return out + ([""] if any(r.examples for r in results) else [])


def probes_html(results: list[ProbeResult]) -> str:
    if not results:
        return ""
    head = "".join(f"<th>{escape(h)}</th>" for h in HEADERS)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
        for row in probe_cells(results)
    )
    return (
        f"<h3>{TITLE}</h3><p>{escape(NOTE)}</p>"
        f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    )
