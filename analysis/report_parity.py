"""Cells of the report's field-standard figures (issue #11), shared by the Markdown and HTML
reports and the Results page: the swap-symmetric agreement, AlpacaEval's mean-preference
win rate, and Bradley–Terry as observed and style-controlled (Chatbot Arena)."""

from __future__ import annotations

from typing import Any

from sidebyside.analysis.report_models import HumanAgreement, StyleControl, WinRate
from sidebyside.analysis.small_samples import overlap_cell

SWAP_NOTE = (
    "Agreement is computed on the preference relative to each pair's stored order (A / B / "
    "tie), the field's coding (PandaLM, MT-Bench). Swap-symmetric: every pair counted twice, "
    "as stored and with A and B swapped, so the figure does not depend on which system was "
    "stored first."
)

PREFERENCE_HEADERS = ["A", "B", "mean-preference win rate A", "± SE", "n", "discrete win rate A"]
PREFERENCE_NOTE = (
    "Continuous preferences (AlpacaEval's convention, 1 = A better, 2 = B better): the "
    "mean-preference win rate is the mean of 2 − preference over the verdicts that have one "
    "(AlpacaEval's win_rate), with its standard error; the discrete win rate counts a "
    "preference past 1.5 as a win and exactly 1.5 as half (AlpacaEval's discrete_win_rate)."
)

STYLE_HEADERS = [
    "system",
    "as observed",
    "95% CI (observed)",
    "rank (observed)",
    "style-controlled",
    "95% CI (style-controlled)",
    "rank (style-controlled)",
]
STYLE_NOTE = (
    "Bradley–Terry ratings as Chatbot Arena computes them (1000 + 400·β; 400 points = 10:1 "
    "odds), as observed and with style control: covariates for the normalised differences "
    "in length, Markdown headers, list items and bold spans. A tie counts as half a win. "
    "Intervals: bootstrap over prompts; rank = 1 + the systems whose interval lies wholly "
    "above."
)


def _ci(low: float | None, high: float | None, digits: int = 1) -> str:
    if low is None or high is None:
        return "—"
    return f"[{low:.{digits}f}, {high:.{digits}f}]"


def swap_symmetric_lines(agr: HumanAgreement) -> list[tuple[str, Any]]:
    """(label, value) rows of the swap-symmetric agreement (empty without one)."""
    sym = agr.swap_symmetric
    if sym is None:
        return []
    # counted by pairs, not their two oriented rows (``report._swap_symmetric``)
    return [
        ("alpha (preference, swap-symmetric)", overlap_cell(sym.krippendorff_alpha, sym.n_units)),
        ("Fleiss' kappa (preference, swap-symmetric)", overlap_cell(sym.fleiss_kappa, sym.n_units)),
    ]


def agreement_lines(agr: HumanAgreement) -> list[tuple[str, Any]]:
    """(label, value) rows of the preference agreement beside the alpha table: Fleiss' kappa,
    percent agreement and the swap-symmetric figures, each "too few to say (n = …)" when
    fewer pairs than the minimum were rated at least twice (``small_samples``)."""
    return [
        ("Fleiss' kappa (preference)", overlap_cell(agr.fleiss_kappa, agr.n_overlap)),
        ("Percent agreement (preference)", overlap_cell(agr.percent_agreement, agr.n_overlap)),
        *swap_symmetric_lines(agr),
    ]


def preference_cells(rows: list[WinRate] | None) -> list[list[Any]]:
    """Rows with continuous preferences only (empty when no verdict carries one)."""
    return [
        [r.system_a, r.system_b, r.preference_win_rate_a,
         "—" if r.preference_se is None else f"{r.preference_se:.3f}", r.n_preference,
         r.win_rate_a]
        for r in rows or []
        if r.n_preference
    ]  # fmt: skip


def style_cells(sc: StyleControl | None) -> list[list[Any]]:
    """One row per system, best style-controlled first (empty without a fit)."""
    if sc is None:
        return []
    return [
        [r.system, f"{r.rating:.1f}", _ci(r.ci_low, r.ci_high), r.rank,
         f"{r.style_rating:.1f}", _ci(r.style_ci_low, r.style_ci_high), r.style_rank]
        for r in sc.ratings
    ]  # fmt: skip


def style_coefficients(sc: StyleControl | None) -> str:
    """The style coefficients in one line (empty without a fit)."""
    if sc is None:
        return ""
    parts = ", ".join(f"{k} {v:+.3f}" for k, v in sc.coefficients.items())
    return (
        f"Style coefficients (> 0: more of it wins): {parts}; {sc.n} votes, {sc.n_boot} resamples."
    )
