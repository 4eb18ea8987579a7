"""The report's stress-probe section (``judge-probe``; figures: analysis/probes.py)."""

from __future__ import annotations

from pydantic import Field

from sidebyside.analysis.report_rows import ReportModel


class ProbeExample(ReportModel):
    pair_id: int
    winner: str = Field(description="The judge's verdict before (a | b, canonical).")
    verdict: str = Field(description="Its verdict with the loser perturbed.")
    reasoning: str = Field(description="The judge's reasoning on the perturbed pair (cut).")


class ProbeResult(ReportModel):
    """One probe on one judge: how often perturbing the losing response made it win, and how
    often perturbing the winning one instead made it lose (the control)."""

    judge: str
    probe: str
    n: int = Field(description="Probed pairs with both orders answered.")
    flips: int = Field(description="Pairs whose verdict went to the perturbed loser.")
    ties: int = Field(description="Pairs whose verdict became a tie (not flips).")
    flip_rate: float | None
    ci_low: float | None = Field(description="Wilson interval of the flip rate.")
    ci_high: float | None
    control_n: int
    control_flips: int = Field(description="Winner perturbed: verdicts that went to the loser.")
    control_rate: float | None
    control_ci_low: float | None
    control_ci_high: float | None
    examples: list[ProbeExample] = Field(default_factory=list)
