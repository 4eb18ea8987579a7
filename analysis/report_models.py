"""The study report, typed: pydantic models of every section (rows in ``analysis.report_rows``).

``build_report`` returns a ``StudyReport``; ``report.model_dump(mode="json")`` is the
documented JSON report (docs/report.md), whose schema is generated from these models and
committed as docs/report.schema.json. Regenerate it after changing a model::

    python -m sidebyside.analysis.report_models > docs/report.schema.json
"""

from __future__ import annotations

import json
from typing import Any

from pydantic import ConfigDict, Field

from sidebyside.analysis.probe_models import ProbeResult
from sidebyside.analysis.provenance import WhatWasCompared
from sidebyside.analysis.report_graded import GoldSection, GradedSection, LabelsInfo
from sidebyside.analysis.report_rows import (
    AlphaEstimate,
    AnnotatorPairKappa,
    AnnotatorQuality,
    AnytimeDecision,
    BradleyTerry,
    Calibration,
    CardRow,
    CategoryWinRate,
    ConfidenceBin,
    ConfidenceLevel,
    ConfusionMatrix,
    CriterionAlpha,
    CriterionMean,
    EvaluationCard,
    FleissComplete,
    HeadlineEntry,
    JudgeAgreement,
    JudgeConfidence,
    JudgePair,
    LengthControlled,
    LooAgreement,
    ReportModel,
    ScoreCorrelation,
    SelfPreference,
    StyleControl,
    StyleRating,
    Verdict,
    WinRate,
    WinRateMatrix,
)
from sidebyside.analysis.turns import TurnSection

__all__ = [
    "CardRow",
    "EvaluationCard",
    "AlphaEstimate",
    "AnytimeDecision",
    "AnnotatorPairKappa",
    "AnnotatorQuality",
    "BradleyTerry",
    "Calibration",
    "CategoryWinRate",
    "ConfidenceBin",
    "ConfidenceLevel",
    "ConfusionMatrix",
    "CriterionAlpha",
    "CriterionMean",
    "FleissComplete",
    "HeadlineEntry",
    "JudgeAgreement",
    "JudgeConfidence",
    "JudgePair",
    "LengthControlled",
    "LooAgreement",
    "ReportModel",
    "ScoreCorrelation",
    "SelfPreference",
    "StyleControl",
    "StyleRating",
    "Verdict",
    "WinRate",
    "WinRateMatrix",
    "StudyInfo",
    "ReportSettings",
    "KrippendorffAlphas",
    "SwapSymmetricAgreement",
    "HumanAgreement",
    "HumanSection",
    "JudgeSection",
    "JudgeComparison",
    "StudyReport",
    "GradedSection",
    "GoldSection",
    "report_schema",
    "schema_text",
]

SCHEMA_VERSION = 1


class StudyInfo(ReportModel):
    """What was compared."""

    id: int
    name: str
    systems: list[str]
    criteria: list[str] = Field(description="The rubric's criterion names.")
    scale_min: int
    scale_max: int
    k: int = Field(description="Ratings wanted per pair.")
    n_pairs: int
    n_prompts: int


class ReportSettings(ReportModel):
    """How the figures were computed."""

    n_boot: int = Field(description="Bootstrap resamples (0: no bootstrap intervals).")
    seed: int
    confidence: float = Field(description="Level of every interval, e.g. 0.95.")


#: Prefix of a criterion's key in ``KrippendorffAlphas`` where its name is not the key.
_ESCAPED = "crit:"


def alpha_key(criterion: str) -> str:
    """A criterion's key in the ``krippendorff_alpha`` object: its name, except that a
    criterion named ``preference`` (the fixed key) or ``crit:…`` gets a ``crit:`` prefix.

    >>> alpha_key("Accuracy"), alpha_key("preference")
    ('Accuracy', 'crit:preference')
    """
    escape = criterion == "preference" or criterion.startswith(_ESCAPED)
    return f"{_ESCAPED}{criterion}" if escape else criterion


class KrippendorffAlphas(ReportModel):
    """Alpha for the preference (nominal) and, keyed by criterion name, for each criterion
    (null when the criterion was never scored twice); a criterion named ``preference`` is
    keyed ``crit:preference`` (``alpha_key``)."""

    # The JSON object mixes the fixed "preference" key with one key per criterion: the
    # criteria are typed extras (JSON schema: additionalProperties), read through .criteria.
    model_config = ConfigDict(extra="allow")
    __pydantic_extra__: dict[str, CriterionAlpha | None] = Field(init=False)

    preference: AlphaEstimate | None

    @property
    def criteria(self) -> dict[str, CriterionAlpha | None]:
        """Alpha per rubric criterion, by criterion name, in rubric order."""
        return {
            key.removeprefix(_ESCAPED) if key.startswith(_ESCAPED) else key: value
            for key, value in (self.__pydantic_extra__ or {}).items()
        }


class SwapSymmetricAgreement(ReportModel):
    """Preference agreement with each pair counted twice, as stored and with A and B swapped
    (a tie stays a tie), so it does not depend on which system was stored first."""

    krippendorff_alpha: float | None = Field(description="Nominal, over a / b / tie.")
    fleiss_kappa: float | None
    pairwise_cohen_kappa: list[AnnotatorPairKappa] | None
    n_units: int = Field(
        description="Pairs rated at least twice (each pair once, though counted in both "
        "orientations: the doubling adds no evidence)."
    )
    small_sample: str | None = Field(
        default=None,
        description='"too few to say (n = …)" when fewer pairs than SIDEBYSIDE_MIN_OVERLAP '
        "(default 20) were rated at least twice: the figures here are then no evidence.",
    )


class HumanAgreement(ReportModel):
    """Can we trust the humans? Inter-annotator agreement (null without ratings)."""

    krippendorff_alpha: KrippendorffAlphas
    fleiss_kappa: float | None = Field(
        description="Preference; null unless every rated pair has the same number (≥ 2) of ratings."
    )
    fleiss_kappa_complete: FleissComplete | None
    pairwise_cohen_kappa: list[AnnotatorPairKappa] | None = Field(
        description="Every two annotators, on the preference."
    )
    pairwise_weighted_kappa: dict[str, list[AnnotatorPairKappa]] | None = Field(
        description="Per criterion, quadratic weights over the rubric scale."
    )
    percent_agreement: float | None = Field(
        description="Share of agreeing rater pairs per pair, averaged."
    )
    swap_symmetric: SwapSymmetricAgreement | None = Field(
        default=None,
        description="The preference figures with every pair counted in both orientations.",
    )
    n_overlap: int = Field(
        default=0, description="Pairs rated by at least two annotators: the n of every figure here."
    )
    small_sample: str | None = Field(
        default=None,
        description='"too few to say (n = …)" when n_overlap is below SIDEBYSIDE_MIN_OVERLAP '
        "(default 20): the figures here are then no evidence of agreement or disagreement.",
    )


class HumanSection(ReportModel):
    """Everything from the human ratings; figures are null when there are none."""

    n_ratings: int
    n_annotators: int
    n_pairs_rated: int
    agreement: HumanAgreement
    loo_agreement: list[LooAgreement] | None
    annotators: list[AnnotatorQuality] | None
    prefers_longer_rate: float | None = Field(
        description="Share of length-decisive votes for the longer response."
    )
    first_position_rate: float | None = Field(
        description="Share of decisive votes for the response shown first."
    )
    win_rates: list[WinRate] | None
    length_controlled: list[LengthControlled] | None
    by_category: list[CategoryWinRate] | None = Field(
        description="Null when no prompt has a category."
    )
    bradley_terry: list[BradleyTerry] | None = Field(
        description="Best first; null with fewer than three systems."
    )
    win_rate_matrix: WinRateMatrix | None
    criteria: list[CriterionMean] | None
    style_control: StyleControl | None = Field(
        default=None, description="Null with fewer than three systems."
    )
    anytime: list[AnytimeDecision] | None = Field(
        default=None,
        description="Per system pair, the anytime-valid decision from the votes in the order "
        "cast; null without ratings.",
    )


class JudgeSection(ReportModel):
    """One judge (the spec, or the name given in an imported file; "ensemble" too). The vote
    tables mean what they mean for the humans; the judge's own figures are always present."""

    mode: str | list[str] = Field(description="pairwise, single or imported (a list if mixed).")
    n: int = Field(description="Verdicts.")
    win_rates: list[WinRate] | None
    length_controlled: list[LengthControlled] | None
    by_category: list[CategoryWinRate] | None
    bradley_terry: list[BradleyTerry] | None
    win_rate_matrix: WinRateMatrix | None
    style_control: StyleControl | None = Field(
        default=None, description="Null with fewer than three systems."
    )
    calibration: Calibration
    confidence: JudgeConfidence | None = Field(
        default=None,
        description="Calibration of the judge's confidence against the humans; null for a "
        "judge without log-probabilities or a study without human ratings.",
    )
    vote_confidence: JudgeConfidence | None = Field(
        default=None,
        description="A sampled judge (--samples K) that also gave log-probabilities: the "
        "calibration of its vote fractions (confidence is its log-probabilities'); null "
        "otherwise.",
    )
    self_preference: SelfPreference | None = Field(
        default=None,
        description="Its own-family win rate against the humans'; null unless the judge and "
        "the systems have declared model families (sidebyside families).",
    )


class JudgeComparison(ReportModel):
    """Which judge should we trust? Each judge against the human majority, best first, and
    every two judges compared on the pairs both judged."""

    judges: list[JudgeAgreement]
    pairwise: list[JudgePair]


class StudyReport(ReportModel):
    """The full report of one study. ``model_dump(mode="json")`` is the JSON report."""

    schema_version: int = Field(description="1; bumped on a breaking change of this schema.")
    generated_at: str = Field(description="ISO 8601 time, UTC, to the second.")
    study: StudyInfo
    settings: ReportSettings
    human: HumanSection
    judges: dict[str, JudgeSection] = Field(description="Keyed by judge, in study order.")
    judge_comparison: JudgeComparison | None = Field(
        description="Null without human ratings or without judges."
    )
    headline: list[HeadlineEntry] = Field(
        description="The answer first: one entry per compared system pair."
    )
    card: EvaluationCard | None = Field(
        default=None,
        description="Every layer of the evaluation stack, base against each other system.",
    )
    compared: WhatWasCompared | None = Field(
        default=None,
        description="What was compared: each generated system's provenance and the eval set's "
        "version (null for a study without prompts).",
    )
    by_turn: list[TurnSection] | None = Field(
        default=None,
        description="A study of conversations: win rates, agreement and judge calibration "
        "per turn (the sections above pool every turn); null for a single-turn study.",
    )
    probes: list[ProbeResult] = Field(
        default_factory=list,
        description="Stress probes (sidebyside judge-probe): per judge and probe, the flip "
        "rate with the loser perturbed and the control's with the winner perturbed.",
    )
    labels: LabelsInfo | None = Field(
        default=None,
        description="Set when adjudicated verdicts replaced the ratings of settled pairs.",
    )
    gold: GoldSection | None = Field(
        default=None,
        description="Per-rater accuracy on the gold pairs (analysis.gold); null without any.",
    )
    graded: GradedSection | None = Field(
        default=None,
        description="Figures that use the grade of a preference: the ordinal alpha and the "
        "strong-weighted win rates (analysis.graded).",
    )


def report_schema() -> dict[str, Any]:
    """The JSON schema of the JSON report (the dumped form of ``StudyReport``)."""
    schema = StudyReport.model_json_schema(mode="serialization")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


def schema_text() -> str:
    """The committed docs/report.schema.json, byte for byte."""
    return json.dumps(report_schema(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    print(schema_text(), end="")
