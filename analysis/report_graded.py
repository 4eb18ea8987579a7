"""The report's graded section, typed (figures from ``analysis.graded``)."""

from __future__ import annotations

from pydantic import Field

from sidebyside.analysis.report_rows import AlphaEstimate, ReportModel


class WeightedWinRate(ReportModel):
    """Arena-hard's strong-weighted win rate of system_a against system_b."""

    system_a: str
    system_b: str
    n: int = Field(description="Votes on the pair.")
    n_strong: int = Field(description="Strong decisive votes (A>>B or B>>A) among them.")
    weighted_win_rate_a: float | None = Field(
        description="Σ w·s / Σ w: a strong vote weighs strong_weight, any other 1; ties half."
    )
    win_rate_a: float | None = Field(description="Every vote once, ties half.")
    n_prompts: int | None = Field(
        default=None,
        description="Prompts behind the votes; below SIDEBYSIDE_MIN_PROMPTS the reports say "
        '"too few to say (n = …)" instead of the win rates.',
    )


class WeightedRating(ReportModel):
    """A Bradley–Terry rating fitted on the strong-weighted win matrix (1000 = average)."""

    system: str
    rating: float | None


class GradedVotes(ReportModel):
    """One source's (the humans' or a judge's) strong-weighted figures."""

    unit: str = Field(
        description="What one vote is: a verdict (a rating, a judge's reconciled verdict) or "
        "an order (each of a judge's two presentation orders, as arena-hard counts its games)."
    )
    n_graded: int = Field(description="Verdicts carrying a grade (a strength).")
    win_rates: list[WeightedWinRate]
    bradley_terry: list[WeightedRating] | None


class GradedSection(ReportModel):
    """Figures that use the grade of a preference (five levels: A>>B, A>B, A=B, B>A, B>>A);
    every other figure of the report reads only its direction."""

    preference_levels: int = Field(description="3 or 5: the study's setting.")
    strong_weight: float = Field(description="Weight of a strong verdict (arena-hard: 3).")
    ordinal_alpha: AlphaEstimate | None = Field(
        description="Krippendorff's alpha of the human preference on the five-level ordinal "
        "scale (+2 output_a much better .. −2 output_b much better); null without ratings."
    )
    human: GradedVotes | None
    judges: dict[str, GradedVotes]


class GoldRater(ReportModel):
    """One rater's answers on the gold pairs."""

    annotator: str
    n: int = Field(description="Ratings of gold pairs.")
    right: int = Field(description="Of them, answers the gold pair accepts.")
    accuracy: float
    ci_low: float | None = Field(description="Wilson interval.")
    ci_high: float | None
    passed: bool = Field(description="Accuracy at least the threshold.")


class GoldExclusion(ReportModel):
    """What ``--exclude-failed-gold`` left out of every other figure of this report."""

    raters: list[str]
    n_raters: int
    n_ratings: int = Field(description="Their ratings of ordinary pairs, left out.")


class GoldSection(ReportModel):
    """Known-answer (gold) pairs: never counted in any other figure of the report."""

    n_gold_pairs: int = Field(description="Gold pairs with at least one answer.")
    n_answers: int
    threshold: float = Field(description="The accuracy a rater needs (the study's setting).")
    raters: list[GoldRater]
    excluded: GoldExclusion | None = Field(
        description="Set when the report was recomputed without the raters below threshold."
    )


class LabelsInfo(ReportModel):
    """Which human labels this report read: every rating, or adjudicated verdicts in place
    of the ratings of the pairs a reviewer settled (``report --labels adjudicated``)."""

    labels: str = Field(description="adjudicated")
    n_pairs: int = Field(description="Rated pairs whose ratings the verdict replaced.")
    n_ratings_replaced: int
    n_adjudicated: int = Field(description="Pairs with an adjudicated verdict in the study.")
