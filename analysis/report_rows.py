"""The rows of the study report: one pydantic model per kind of table row.

The sections that hold them are in ``analysis.report_models``. Field names are the JSON keys
of the documented report (docs/report.md), in the order the JSON has them; every figure that
may be undefined (no data, no resamples, a fit that failed) is ``float | None``.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

_RATE_CI = "Wilson interval (votes treated as independent)."
_BOOT_CI = "Percentile bootstrap interval resampling prompts; null without resamples."


class ReportModel(BaseModel):
    """Base of every report model: unknown keys are an error, not silently kept."""

    model_config = ConfigDict(extra="forbid")


class AlphaEstimate(ReportModel):
    """Krippendorff's alpha at one level of measurement, with its bootstrap interval."""

    alpha: float | None
    ci_low: float | None = Field(description="Bootstrap over pairs; null without resamples.")
    ci_high: float | None
    level: str = Field(description="nominal, ordinal or interval.")
    n_units: int = Field(description="Units (pairs or outputs) rated at least twice.")
    n_values: int = Field(description="Values in those pairable units.")
    reading: str = Field(description="A plain-words reading of alpha (Krippendorff's bands).")


class CriterionAlpha(ReportModel):
    """Alpha of one rubric criterion's 1–5 scores, read as ordinal and as interval."""

    ordinal: AlphaEstimate
    interval: AlphaEstimate


class AnnotatorPairKappa(ReportModel):
    """Cohen's kappa of two annotators on the items both rated."""

    annotator_1: str
    annotator_2: str
    kappa: float | None
    n: int = Field(description="Items both annotators rated.")


class FleissComplete(ReportModel):
    """Fleiss' kappa over the pairs with the most common number of ratings."""

    kappa: float | None
    n_items: int
    n_raters: int = Field(description="Ratings per pair in that subset.")


class LooAgreement(ReportModel):
    """One annotator's agreement with the majority of the other raters of the same pairs."""

    annotator: str
    agreement: float | None
    agreement_no_ties: float | None = Field(
        description="Only where both the annotator and that majority name a winner."
    )
    n: int
    n_no_ties: int


class AnnotatorQuality(ReportModel):
    """Per-annotator figures and flags worth a look (``analysis.annotators``)."""

    annotator: str
    n_ratings: int
    tie_rate: float
    first_position_rate: float | None = Field(
        description="Share of decisive votes for the response shown first."
    )
    first_position_p_value: float | None = Field(description="Two-sided sign test of it.")
    n_first_position: int = Field(description="Decisive votes with a known display order.")
    prefers_longer_rate: float | None = Field(
        description="Share of length-decisive votes for the longer response."
    )
    median_seconds: float | None = Field(description="Median seconds spent on a pair.")
    n_timed: int
    loo_agreement: float | None = Field(description="Leave-one-out agreement (as above).")
    loo_n: int
    flags: list[str] = Field(
        description="Hints for a reviewer: low agreement, position bias, fast, many ties."
    )


class PredictionPowered(ReportModel):
    """The humans' win rate of A from the human ratings on some pairs and this judge's
    verdicts on all of them (prediction-powered inference, PPI++; ``analysis.ppi``): the
    judge's bias is measured on the pairs both rated and taken out."""

    win_rate_a: float | None = Field(
        description="The estimate: one human verdict per pair (the mean over its annotators), "
        "ties as half; null with a reason."
    )
    ci_low: float | None = Field(description="Normal interval at the report's level, in [0, 1].")
    ci_high: float | None
    n_human: int = Field(description="Pairs both rated by humans and judged (the labelled set).")
    n_judge: int = Field(description="Pairs of this system pair the judge gave a verdict on.")
    n_effective: int | None = Field(
        description="Human-rated pairs a humans-only interval would need to be as narrow: "
        "n_human · (humans-only width / PPI width)²."
    )
    reason: str | None = Field(description="Why win_rate_a is null; null when it is given.")


class WinRate(ReportModel):
    """One compared system pair: votes, the win rate of A (ties as half) and its tests."""

    system_a: str
    system_b: str
    wins_a: int
    wins_b: int
    ties: int
    n: int = Field(description="Votes.")
    n_prompts: int
    win_rate_a: float | None = Field(description="(wins_a + ties / 2) / n.")
    ci_low: float | None = Field(description=_RATE_CI)
    ci_high: float | None
    boot_ci_low: float | None = Field(description=_BOOT_CI)
    boot_ci_high: float | None
    p_value: float | None = Field(description="Two-sided sign test over decisive votes.")
    prompts_a: int = Field(description="Prompts where more votes went to A.")
    prompts_b: int = Field(description="Prompts where more votes went to B.")
    p_value_prompts: float | None = Field(
        description="Sign test over prompts: honest when a prompt has several votes."
    )
    preference_win_rate_a: float | None = Field(
        default=None,
        description="Mean of P(A better) = 2 − preference over the votes with a continuous "
        "preference (AlpacaEval's win_rate / 100); null without any.",
    )
    preference_se: float | None = Field(
        default=None, description="Its standard error: sample SD / √n_preference."
    )
    n_preference: int = Field(default=0, description="Votes with a continuous preference.")
    lc_win_rate: float | None = Field(
        default=None,
        description="AlpacaEval 2's length-controlled win rate of A against the reference B "
        "(length_controlled_v1, AlpacaEval's length_controlled_winrate / 100); null with "
        "lc_reason.",
    )
    lc_se: float | None = Field(
        default=None, description="Its standard error (AlpacaEval's lc_standard_error / 100)."
    )
    lc_reason: str | None = Field(
        default=None,
        description="Why lc_win_rate is null (no GLM files, not AlpacaEval's instructions, B "
        "is not its reference); null when it is given, and in by_category rows.",
    )
    ppi: PredictionPowered | None = Field(
        default=None,
        description="On a judge's rows: the prediction-powered human win rate of A with this "
        "judge (null figures with a reason where it cannot be had); null on the humans' rows "
        "and per category.",
    )


class _Category(ReportModel):
    # Listed first in CategoryWinRate's bases' MRO so ``category`` leads its JSON keys.
    category: str = Field(description='The prompt category; "(no category)" for the rest.')


class CategoryWinRate(WinRate, _Category):
    """A win-rate row within one prompt category, with the headline's call."""

    winner: str | None = Field(description="The system the headline rule names; null if none.")


class LengthControlled(ReportModel):
    """The equal-length win rate: the win rate of A had both answers been equally long, from
    a per-pair logistic regression on the length difference (null where it cannot be fit).
    A simple adjustment, not AlpacaEval 2's length-controlled win rate."""

    system_a: str
    system_b: str
    win_rate_a: float | None = Field(description="The raw win rate, as in win_rates.")
    lc_win_rate_a: float | None = Field(description="The equal-length win rate of A.")
    ci_low: float | None = Field(description="Prompt-clustered interval of lc_win_rate_a.")
    ci_high: float | None
    length_coef: float | None = Field(
        description="Logistic coefficient of tanh(length difference / sd); > 0: longer wins."
    )
    length_p_value: float | None
    length_sd: float | None = Field(description="Scale of the length difference (characters).")
    method: str | None = Field(
        default=None,
        description='"maximum likelihood", or "firth" (penalised) where maximum likelihood has '
        "no finite estimate; null: no fit.",
    )
    reason: str | None = Field(
        default=None,
        description="Why Firth's fit was used (perfect separation, one side never wins) or "
        "why there is no figure (fewer than 3 pairs, no length variation); null otherwise.",
    )
    n_pairs: int


class AnytimeDecision(ReportModel):
    """One system pair's anytime-valid decision (``analysis.anytime``): a confidence sequence
    for A's human win rate, updated vote by vote, that may be checked after every vote."""

    system_a: str
    system_b: str
    decided: bool = Field(description="Whether the sequence has left 0.5 (it stays out).")
    winner: str | None = Field(description="The decided system; null before a decision.")
    at_vote: int | None = Field(
        description="The vote (1-based, in the order cast) at which it first left 0.5."
    )
    n_votes: int
    win_rate_a: float | None = Field(description="(wins_a + ties / 2) / n_votes.")
    cs_low: float | None = Field(
        description="The confidence sequence after the last vote (running intersection)."
    )
    cs_high: float | None
    more_votes: int | None = Field(
        description="Not yet decided: the further votes that would decide it if the win "
        "rate stayed where it is; null once decided, or when it is exactly 0.5."
    )
    planned_votes: int = Field(
        description="The votes the boundary is tuned for: the study's pairs × k per system pair."
    )
    alpha: float = Field(description="1 − confidence: the chance it ever excludes the truth.")


class BradleyTerry(ReportModel):
    """A system's Bradley–Terry rating on the Elo-style scale (1000 = average system)."""

    system: str
    rating: float | None
    ci_low: float | None = Field(description=_BOOT_CI)
    ci_high: float | None
    strength: float | None = Field(description="Natural-log strength, mean 0.")


class StyleRating(ReportModel):
    """One system's Bradley–Terry rating as observed and style-controlled (Chatbot Arena's
    scale: 1000 + 400·β, 400 points = 10:1 odds)."""

    system: str
    rating: float = Field(description="As observed: no style covariates.")
    ci_low: float | None = Field(description="Percentile bootstrap over prompts.")
    ci_high: float | None
    rank: int = Field(description="1 + systems whose interval lies wholly above this one's.")
    style_rating: float = Field(description="At equal length, headers, lists and bold.")
    style_ci_low: float | None
    style_ci_high: float | None
    style_rank: int


class StyleControl(ReportModel):
    """Bradley–Terry with style control, as Chatbot Arena fits it (analysis.style_control)."""

    ratings: list[StyleRating] = Field(description="Best style-controlled rating first.")
    coefficients: dict[str, float] = Field(
        description="Logistic coefficient of each standardised style difference; > 0: "
        "more of it wins."
    )
    n: int = Field(description="Votes fitted.")
    n_prompts: int
    n_boot: int = Field(description="Bootstrap resamples (one Newton step each) behind the CIs.")
    ties: str = Field(description="How a tie counts: half a win for each side.")


class WinRateMatrix(ReportModel):
    """Row system's win rate over column system (ties as half; null where never compared)."""

    systems: list[str]
    win_rate: list[list[float | None]]
    n: list[list[int]] = Field(description="Votes between the row and column systems.")


class CriterionMean(ReportModel):
    """Mean human score of one system on one criterion, with a Student-t interval."""

    system: str
    criterion: str
    mean: float
    ci_low: float | None
    ci_high: float | None
    sd: float | None
    n: int


class ConfusionMatrix(ReportModel):
    """Human majority (rows) against the judge (columns) over the labels a / tie / b."""

    labels: list[str]
    rows: str
    columns: str
    matrix: list[list[int]]


class ScoreCorrelation(ReportModel):
    """Correlation of a single-mode judge's scores with the mean human score (per output)."""

    criterion: str
    spearman: float | None
    spearman_p: float | None
    kendall: float | None
    kendall_p: float | None
    n: int


class Calibration(ReportModel):
    """Can we trust this judge? Human-dependent figures are null without human ratings."""

    agreement_with_majority: float | None = Field(
        description="Share of pairs where the judge's verdict equals the human majority."
    )
    agreement_with_majority_no_ties: float | None
    cohen_kappa_vs_majority: float | None = Field(
        description="Cohen's kappa against the human majority on a / b / tie (stored order)."
    )
    cohen_kappa_vs_majority_swap_symmetric: float | None = Field(
        default=None, description="The same with every pair also counted with A and B swapped."
    )
    confusion_matrix: ConfusionMatrix | None
    n_with_humans: int = Field(description="Pairs judged and rated by humans.")
    small_sample: str | None = Field(
        default=None,
        description='"too few to say (n = …)" when n_with_humans is below '
        "SIDEBYSIDE_MIN_OVERLAP (default 20): the agreement figures are then no evidence.",
    )
    n_no_ties: int
    agreement_with_loo_majority: float | None = Field(
        description="Agreement with the leave-one-out majority, on the rows of the humans'."
    )
    agreement_with_loo_majority_no_ties: float | None
    human_loo_agreement: float | None = Field(
        description="The humans' own leave-one-out agreement on the same rows."
    )
    human_loo_agreement_no_ties: float | None
    position_consistency: float | None = Field(
        description="Share of pairs judged in both orders with the same verdict."
    )
    n_both_orders: int
    first_position_rate: float | None
    n_first_position: int
    prefers_longer_rate: float | None
    n_length_decisive: int
    human_prefers_longer_rate: float | None
    tie_rate: float | None
    inconsistent_rate: float | None = Field(
        description="Share of verdicts whose two orders disagreed (reconciled to a tie)."
    )
    score_correlation: list[ScoreCorrelation] | None
    n: int = Field(description="Verdicts.")
    n_unparsed: int = Field(
        default=0, description="Pairs answered without a readable verdict (never a vote)."
    )
    unparsed_rate: float | None = Field(default=None, description="n_unparsed / (n + n_unparsed).")


class JudgeAgreement(ReportModel):
    """A judge's agreement with the human majority, with paired bootstrap intervals."""

    judge: str
    agreement: float | None
    ci_low: float | None
    ci_high: float | None
    agreement_no_ties: float | None
    ci_low_no_ties: float | None
    ci_high_no_ties: float | None
    n: int
    n_no_ties: int
    ece: float | None = Field(
        default=None,
        description="The judge's expected calibration error (judges.<key>.confidence); null "
        "for a judge without probabilities.",
    )
    brier: float | None = Field(default=None, description="The judge's Brier score, likewise.")
    n_confidence: int | None = Field(
        default=None, description="Pairs behind ece and brier (judges.<key>.confidence.n)."
    )


class JudgePair(ReportModel):
    """Two judges compared on the pairs both judged (the better one first)."""

    judge_1: str
    judge_2: str
    difference: float = Field(description="Agreement of judge_1 minus judge_2.")
    ci_low: float | None
    ci_high: float | None
    only_1: int = Field(description="Pairs where only judge_1 agrees with the humans.")
    only_2: int = Field(description="Pairs where only judge_2 agrees with the humans.")
    p_value: float | None = Field(description="Exact McNemar test on only_1 against only_2.")
    n_shared: int


class Verdict(ReportModel):
    """One source's answer for one system pair, expressed from the entry's system_a."""

    winner: str | None = Field(description='The winning system; null: "no clear winner".')
    prompts_needed: int | None = Field(
        description="Without a winner: prompts needed at 80% power if the observed "
        "prompt-level outcome were the truth."
    )
    win_rate_a: float | None
    ci_low: float | None
    ci_high: float | None
    evidence: Literal["bootstrap", "sign test"]
    n_prompts: int | None
    winner_at_equal_length: str | None = Field(
        description="The call of the length-controlled interval."
    )
    length_controlled: bool = Field(description="Whether a length-controlled fit exists.")


class HeadlineEntry(ReportModel):
    """Who wins one system pair, according to the humans and to each judge."""

    system_a: str
    system_b: str
    verdicts: dict[str, Verdict] = Field(description='Keyed by "humans" or a judge key.')
    agree: bool | None = Field(
        description="False: two sources name different winners; true: all name the same; "
        "null otherwise."
    )


class CardRow(ReportModel):
    """One line of the evaluation card: a figure of the base and of one other system."""

    layer: Literal["text", "perplexity", "benchmark", "judge", "human"]
    key: str = Field(description='Stable name, e.g. "text.rougeL", "benchmark.mmlu.acc".')
    metric: str = Field(description="What is measured, in words.")
    base: str | None = Field(description="The base system or model; null for a study figure.")
    system: str | None = Field(description="The compared system or model.")
    base_value: float | None
    value: float | None
    ci_low: float | None = Field(description="Interval of value, where one exists.")
    ci_high: float | None
    change: float | None = Field(
        description="value − base_value (win rates: value − 0.5, the no-preference point)."
    )
    diff: float | None = Field(
        description="The difference system − base on the n_items items both were measured on "
        "(equals change where they share every item; win rates: win rate − 0.5)."
    )
    diff_low: float | None = Field(
        description="Interval of diff: a paired bootstrap over the shared items where paired; "
        "null where the verdict falls back to the two intervals' overlap."
    )
    diff_high: float | None
    paired: bool = Field(description="Whether diff's interval resamples the items both share.")
    n_items: int | None = Field(
        description="Items paired (prompts, texts or benchmark items); null when unpaired."
    )
    method: str = Field(
        description='How the verdict was reached, e.g. "paired bootstrap over prompts", '
        '"unpaired: the two intervals overlap (per-item scores not stored)".'
    )
    relative_change: float | None = Field(description="value / base_value − 1.")
    clear: bool | None = Field(
        description="False: 0 lies in diff's interval (unpaired: the two intervals overlap); "
        "null: no interval to tell."
    )
    direction: Literal["better", "worse"] | None = Field(
        description="A clear change read with the metric's direction (lower perplexity is "
        "better); null when not clear."
    )
    flag: str | None = Field(description='"forgetting", "capability lost" or null.')
    verdict: str = Field(
        description='E.g. "better (+63%)", "no clear change", "worse (+11%, forgetting)", '
        '"wins 65%".'
    )
    n: int | None = Field(description="Items behind the figure (prompts, texts, votes).")


class EvaluationCard(ReportModel):
    """Every layer of the evaluation stack in one table: the base against each other system."""

    base: str | None = Field(description="The base system of the study (first system).")
    rows: list[CardRow]
    notes: list[str] = Field(description="How to read the card.")


class ConfidenceBin(ReportModel):
    """One equal-width bin of judge confidence (a point of the reliability diagram)."""

    lo: float
    hi: float
    count: int = Field(description="Calls whose confidence falls in [lo, hi).")
    confidence: float | None = Field(description="Mean confidence in the bin; null if empty.")
    agreement: float | None = Field(description="Share of the bin's calls humans agree with.")


class ConfidenceLevel(ReportModel):
    """Calls at least ``threshold`` sure, and how often the human majority agrees."""

    threshold: float
    count: int
    agreement: float | None


class JudgeConfidence(ReportModel):
    """Is a confident judge right? The judge's continuous preference (from its verdict
    tokens' log-probabilities, both orders averaged) against the human majority; pairs the
    humans tied are left out (analysis/confidence.py)."""

    n: int = Field(description="Pairs with a judge probability and a decisive human majority.")
    n_human_ties: int = Field(description="Pairs left out: the human majority is a tie.")
    ece: float | None = Field(
        description="Expected calibration error: the count-weighted mean over equal-width "
        "confidence bins of |agreement - mean confidence|."
    )
    brier: float | None = Field(description="Mean of (P(b preferred) - [humans prefer b])².")
    mean_confidence: float | None
    agreement: float | None = Field(description="Share of calls the human majority agrees with.")
    bins: list[ConfidenceBin] = Field(description="The reliability diagram, empty bins too.")
    by_confidence: list[ConfidenceLevel] = Field(
        description="Agreement among calls at least this sure (0.5, 0.6, ... 0.9)."
    )


class SelfPreference(ReportModel):
    """Does the judge favour its own model family? Its win rate for the family's outputs
    against other families' versus the humans' on the same pairs (ties count half)."""

    family: str = Field(description="The judge's declared model family.")
    n_pairs_judged: int = Field(description="Own-vs-other pairs the judge gave a verdict on.")
    judge_own_win_rate_all: float = Field(description="The judge's own-family win rate on them.")
    n_pairs: int = Field(description="Those pairs that humans rated too.")
    n_ratings: int = Field(description="Human ratings on those pairs.")
    judge_own_win_rate: float | None = Field(description="The judge's rate on the rated pairs.")
    human_own_win_rate: float | None = Field(description="The humans' rate on the same pairs.")
    self_preference: float | None = Field(
        description="judge − human own-family win rate: > 0 favours its own family more than "
        "people do."
    )
