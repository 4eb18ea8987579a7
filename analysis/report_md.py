"""The report as Markdown: the same sections as the HTML page, as tables."""

from __future__ import annotations

from typing import Any

from sidebyside.analysis import report_parity as rp
from sidebyside.analysis.anytime import decision_text
from sidebyside.analysis.card_render import card_md
from sidebyside.analysis.probe_render import probes_md
from sidebyside.analysis.provenance import compared_md
from sidebyside.analysis.report_models import (
    AlphaEstimate,
    AnytimeDecision,
    BradleyTerry,
    Calibration,
    CategoryWinRate,
    HumanSection,
    JudgeComparison,
    JudgeSection,
    KrippendorffAlphas,
    LengthControlled,
    StudyReport,
    WinRate,
)
from sidebyside.analysis.report_quality import quality_md
from sidebyside.analysis.small_samples import overlap_cell, too_few_overlap, too_few_prompts
from sidebyside.analysis.turns import TURN_HEADERS, TURN_NOTE, TurnSection, turn_cells
from sidebyside.analysis.winrates import honest_ci
from sidebyside.foundation.enums import Preference


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a table; '—' for missing.

    >>> fmt(0.12345), fmt(None), fmt(7), fmt(1e-6)
    ('0.123', '—', '7', '1e-06')
    """
    if x is None:
        return "—"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if x != 0 and abs(x) < 10 ** (-digits):
            return f"{x:.0e}"
        return f"{x:.{digits}f}"
    return str(x).replace("|", "\\|")


def ci(low: Any, high: Any, digits: int = 3) -> str:
    return "—" if low is None or high is None else f"[{fmt(low, digits)}, {fmt(high, digits)}]"


def table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += [
        "| " + " | ".join(fmt(c) if not isinstance(c, str) else c for c in r) + " |" for r in rows
    ]
    return "\n".join(out)


WIN_RATE_HEADERS = [
    "A",
    "B",
    "wins A",
    "wins B",
    "ties",
    "win rate A",
    "95% CI (Wilson)",
    "95% CI (bootstrap)",
    "p (votes)",
    "p (prompts)",
]


def row_ci(row: WinRate) -> tuple[Any, Any, str]:
    """``analysis.winrates.honest_ci`` of a typed win-rate row: (low, high, which interval)."""
    return honest_ci(row.model_dump())


def win_rate_cells(rows: list[WinRate]) -> list[list[Any]]:
    """Cells of the win-rate table, shared by the Markdown and HTML reports. A pair of
    systems compared on too few prompts says so instead of a figure (``small_samples``)."""
    cells = []
    for r in rows:
        few = too_few_prompts(r.n_prompts)
        cells.append(
            [
                r.system_a,
                r.system_b,
                r.wins_a,
                r.wins_b,
                r.ties,
                few or r.win_rate_a,
                "—" if few else ci(r.ci_low, r.ci_high),
                "—" if few else ci(r.boot_ci_low, r.boot_ci_high),
                r.p_value,
                r.p_value_prompts,
            ]
        )
    return cells


HEADLINE_NOTE = (
    "A source names a winner when its 95% interval for the win rate (bootstrap over prompts) "
    "excludes ½ and the exact sign test over prompts agrees (p < 0.05); the figure is the "
    "win rate of A (ties = ½) with that interval. Where the equal-length win rate calls "
    "it differently, the cell says so. Without a clear winner, it estimates the prompts "
    "needed to settle the question (80% power, if the observed prompt-level outcome were the "
    "truth)."
)


def headline_cells(
    report: StudyReport, *, compact: bool = False
) -> tuple[list[str], list[list[str]]]:
    """Headers and cells of the "who wins" table (one row per system pair, one column per
    source), shared by the Markdown and HTML reports. ``compact`` cells hold the call only,
    marked "(length?)" when the length-controlled call differs (for narrow screens)."""
    from sidebyside.analysis.headline import sources

    names = sources(report)
    rows = []
    for e in report.headline:
        cells = [f"{e.system_a} vs {e.system_b}"]
        for name in names:
            v = e.verdicts.get(name)
            if v is None:
                cells.append("—")
                continue
            if few := too_few_prompts(v.n_prompts):  # no call, figure or interval from so few
                cells.append(few)
                continue
            call = v.winner if v.winner else "no clear winner"
            length_differs = v.length_controlled and v.winner_at_equal_length != v.winner
            if compact:
                cells.append(f"{call} (length?)" if length_differs else call)
                continue
            cell = f"{call} · A {fmt(v.win_rate_a)} {ci(v.ci_low, v.ci_high)}"
            if v.prompts_needed:
                cell += f" · ~{v.prompts_needed:,} prompts to settle"
            if length_differs:
                cell += f" · at equal length: {v.winner_at_equal_length or 'no clear winner'}"
            cells.append(cell)
        cells.append({True: "yes", False: "NO", None: "—"}[e.agree])
        rows.append(cells)
    return ["A vs B", *names, "sources agree"], rows


def headline_md(report: StudyReport) -> list[str]:
    headers, rows = headline_cells(report)
    if not rows:
        return []
    return ["## Who wins", "", HEADLINE_NOTE, "", table(headers, rows), ""]


LC_HEADERS = [
    "A", "B", "win rate A", "at equal length", "95% CI", "length effect", "p (length)", "fit",
    "AlpacaEval LC ± SE",
]  # fmt: skip
LC_NOTE = (
    "Equal-length win rate: the win rate of A had both answers been equally long, from one "
    "logistic regression per system pair of the vote on tanh of the length difference "
    "(prompt-clustered interval; Firth's penalised fit where the votes separate perfectly). "
    "A positive length effect means longer answers win more often. AlpacaEval LC is AlpacaEval "
    "2's own length-controlled win rate (length_controlled_v1), for its instructions against "
    "its reference only: its GLM adds each instruction's difficulty and is pulled toward two "
    "gamed baselines, so it usually reads lower than the equal-length figure (1.4 to 17.8 "
    "points on five leaderboard models); it is the one to compare with the leaderboard."
)


def _fit_note(r: LengthControlled) -> str:
    """How the equal-length figure was fitted: blank for maximum likelihood."""
    if r.method == "firth":
        return "Firth (penalised)"
    return (r.reason or "") if r.method is None else ""


def _alpaca_lc(w: WinRate | None) -> str:
    if w is None or w.lc_win_rate is None:
        return "—"
    return f"{fmt(w.lc_win_rate)} ± {fmt(w.lc_se)}"


def lc_cells(
    rows: list[LengthControlled] | None, win_rates: list[WinRate] | None = None
) -> list[list[Any]]:
    """Cells of the length-controlled table (the equal-length fit beside AlpacaEval's LC win
    rate from ``win_rates``), shared by the Markdown and HTML reports and the Results page."""
    alpaca = {(w.system_a, w.system_b): w for w in win_rates or []}

    def few(r: LengthControlled) -> str | None:  # the pair's prompts, as its win rate's row
        w = alpaca.get((r.system_a, r.system_b))
        return too_few_prompts(w.n_prompts) if w is not None else None

    return [
        [
            r.system_a,
            r.system_b,
            few(r) or r.win_rate_a,
            few(r) or r.lc_win_rate_a,
            few(r) or ci(r.ci_low, r.ci_high),
            r.length_coef,
            r.length_p_value,
            _fit_note(r),
            _alpaca_lc(alpaca.get((r.system_a, r.system_b))),
        ]
        for r in rows or []
    ]


def lc_absent(win_rates: list[WinRate] | None) -> str | None:
    """One line saying why AlpacaEval's LC win rate is absent (each distinct reason once)."""
    reasons = list(dict.fromkeys(w.lc_reason for w in win_rates or [] if w.lc_reason))
    return "AlpacaEval LC absent: " + "; ".join(reasons) + "." if reasons else None


def _lc(rows: list[LengthControlled] | None, win_rates: list[WinRate] | None) -> list[str]:
    cells = lc_cells(rows, win_rates)
    if not cells:
        return []
    absent = lc_absent(win_rates)
    return [LC_NOTE, "", table(LC_HEADERS, cells), "", *([absent, ""] if absent else [])]


ANYTIME_TITLE = "Decided yet? (anytime-valid)"
ANYTIME_HEADERS = ["A", "B", "votes", "win rate A", "confidence sequence", "decision"]
ANYTIME_NOTE = (
    "A confidence sequence for the win rate of A, updated with every vote in the order cast "
    "(Howard et al. 2021's normal mixture): unlike the intervals above, it may be checked "
    "after every vote and the study stopped the moment it leaves ½, with at most a 5% chance "
    "(at the 95% setting) of ever naming a winner that is not one. Not yet decided, the "
    "projection assumes the votes to come keep the current win rate. It treats votes as "
    "independent, like the Wilson interval; with several votes per prompt read it beside the "
    "prompt-level figures."
)


def anytime_cells(rows: list[AnytimeDecision] | None) -> list[list[Any]]:
    """Cells of the anytime-valid decisions table, shared by the Markdown and HTML reports."""
    return [
        [r.system_a, r.system_b, r.n_votes, r.win_rate_a, ci(r.cs_low, r.cs_high),
         decision_text(r)]
        for r in rows or []
    ]  # fmt: skip


def _anytime(rows: list[AnytimeDecision] | None) -> list[str]:
    cells = anytime_cells(rows)
    if not cells:
        return []
    return [f"#### {ANYTIME_TITLE}", "", ANYTIME_NOTE, "", table(ANYTIME_HEADERS, cells), ""]


PPI_TITLE = "Human win rates sharpened by each judge (prediction-powered)"
PPI_HEADERS = ["judge", "A", "B", "humans alone", "humans 95% CI", "judge alone",
               "PPI win rate A", "PPI 95% CI", "human pairs", "judged pairs",
               "worth (human pairs)", "why absent"]  # fmt: skip
PPI_NOTE = (
    "The humans' win rate of A (ties = ½) from their ratings on some pairs plus the judge's "
    "verdicts on every pair it judged (prediction-powered inference, PPI++). The judge's bias "
    "is measured on the pairs both rated and taken out, so the interval holds for a biased "
    "judge, and it is narrower than the humans' alone the more the judge agrees with them. "
    '"Worth" is how many human-rated pairs a humans-only interval would need to be as '
    "narrow. It assumes the human-rated pairs are a random subset of the judged ones."
)


def ppi_cells(report: StudyReport) -> list[list[Any]]:
    """One row per judge and system pair with a prediction-powered win rate (or the reason
    there is none), beside the humans' own win rate of the same A; empty without human
    ratings. Shared by the Markdown and HTML reports and the Results page."""
    if not report.human.n_ratings:
        return []
    human = {frozenset((r.system_a, r.system_b)): r for r in report.human.win_rates or []}
    rows = []
    for key, j in report.judges.items():
        for r in j.win_rates or []:
            if r.ppi is None:
                continue
            h, p = human.get(frozenset((r.system_a, r.system_b))), r.ppi
            rate = low = high = None
            if h is not None:
                rate, (low, high, _) = h.win_rate_a, row_ci(h)
                if h.system_a != r.system_a and rate is not None:  # A of the judge's row
                    rate = 1.0 - rate
                    low, high = (None, None) if low is None else (1.0 - high, 1.0 - low)
            rows.append(
                [key, r.system_a, r.system_b, rate, ci(low, high), r.win_rate_a, p.win_rate_a,
                 ci(p.ci_low, p.ci_high), p.n_human, p.n_judge, p.n_effective, p.reason or "—"]
            )  # fmt: skip
    return rows


def ppi_md(report: StudyReport) -> list[str]:
    rows = ppi_cells(report)
    return [f"### {PPI_TITLE}", "", PPI_NOTE, "", table(PPI_HEADERS, rows), ""] if rows else []


COMPARE_HEADERS = ["judge", "agreement with human majority", "95% CI", "without ties", "95% CI",
                   "pairs", "ECE", "Brier"]  # fmt: skip
#: How a preference code of a confusion matrix (judge against human majority) reads.
VERDICT_NAMES = {Preference.A: "A wins", Preference.TIE: "tie", Preference.B: "B wins"}
PAIRWISE_HEADERS = ["better", "worse", "difference", "95% CI", "only better agrees",
                    "only worse agrees", "p (McNemar)", "shared pairs"]  # fmt: skip
COMPARE_NOTE = (
    "Judges ranked by agreement with the human majority; intervals from one bootstrap of "
    "pairs shared by all judges. Each two judges are compared on the pairs both judged, with "
    "the exact McNemar test on the pairs where only one of them agrees with the humans. ECE "
    "and Brier (judges with log-probabilities only) say whether a judge's confidence can be "
    "taken at its word."
)


def comparison_cells(cmp: JudgeComparison) -> tuple[list[list[Any]], list[list[Any]]]:
    """Cells of the two judge-comparison tables, shared by the Markdown and HTML reports."""
    # agreement with the humans from too few shared pairs says so (``small_samples``)
    ranked = [
        [r.judge, overlap_cell(r.agreement, r.n), overlap_cell(ci(r.ci_low, r.ci_high), r.n),
         overlap_cell(r.agreement_no_ties, r.n_no_ties),
         overlap_cell(ci(r.ci_low_no_ties, r.ci_high_no_ties), r.n_no_ties), r.n, r.ece, r.brier]
        for r in cmp.judges
    ]  # fmt: skip
    pairwise = [
        [r.judge_1, r.judge_2, overlap_cell(r.difference, r.n_shared),
         overlap_cell(ci(r.ci_low, r.ci_high), r.n_shared), r.only_1, r.only_2,
         r.p_value, r.n_shared]
        for r in cmp.pairwise
    ]  # fmt: skip
    return ranked, pairwise


def comparison_md(cmp: JudgeComparison | None) -> list[str]:
    if not cmp:
        return []
    ranked, pairwise = comparison_cells(cmp)
    out = ["### Judges compared", "", COMPARE_NOTE, "", table(COMPARE_HEADERS, ranked), ""]
    if pairwise:
        out += [table(PAIRWISE_HEADERS, pairwise), ""]
    return out


ANNOTATORS_TITLE = "Each annotator"
ANNOTATORS_NOTE = (
    "Agreement with the majority of the *other* raters of the same pairs (a careless rater "
    "stands out low), the share of ties, how often the response shown first won (p: sign "
    "test), how often the longer one won, and the median seconds per pair. Flags are hints "
    "for a reviewer (see docs/report.md)."
)


def annotator_cells(h: HumanSection) -> tuple[list[str], list[list[Any]]]:
    """The per-annotator table, shared by the Markdown and HTML reports."""
    quality = {r.annotator: r for r in h.annotators or []}
    headers = ["annotator", "agreement", "without ties", "n", "ties", "first shown wins",
               "p (first)", "longer wins", "median s", "flags"]  # fmt: skip
    rows = []
    for r in h.loo_agreement or []:
        q = quality.get(r.annotator)
        figures = (
            [q.tie_rate, q.first_position_rate, q.first_position_p_value,
             q.prefers_longer_rate, fmt(q.median_seconds, 1), ", ".join(q.flags) or "—"]
            if q is not None
            else [None, None, None, None, fmt(None, 1), "—"]
        )  # fmt: skip
        agreement = overlap_cell(r.agreement, r.n)  # each rater's own overlap with the others
        rows.append(
            [r.annotator, agreement, overlap_cell(r.agreement_no_ties, r.n_no_ties), r.n, *figures]
        )
    return headers, rows


CATEGORY_HEADERS = ["category", "A", "B", "win rate A", "95% CI", "prompts", "call"]
CATEGORY_NOTE = (
    "Win rates per prompt category, each with a bootstrap interval over that category's "
    "prompts; a category names a winner by the same rule as the headline (its interval "
    "excludes ½ and the sign test over its prompts agrees)."
)
MAX_CATEGORY_ROWS = 150


def category_cells(rows: list[CategoryWinRate] | None) -> tuple[list[list[Any]], int]:
    """Cells of the per-category table (at most ``MAX_CATEGORY_ROWS``) and how many rows were
    left out, shared by the Markdown and HTML reports."""
    cells = []
    for r in (rows or [])[:MAX_CATEGORY_ROWS]:
        low, high, _ = row_ci(r)
        few = too_few_prompts(r.n_prompts)  # no figure, interval or call from so few
        cells.append(
            [r.category, r.system_a, r.system_b, few or r.win_rate_a, few or ci(low, high),
             r.n_prompts, few or r.winner or "no clear winner"]
        )  # fmt: skip
    return cells, max(0, len(rows or []) - MAX_CATEGORY_ROWS)


def _categories(rows: list[CategoryWinRate] | None) -> list[str]:
    cells, left_out = category_cells(rows)
    if not cells:
        return []
    out = [CATEGORY_NOTE, "", table(CATEGORY_HEADERS, cells), ""]
    if left_out:
        out += [f"_{left_out} more rows in the JSON report (`by_category`)._", ""]
    return out


def _turns(sections: list[TurnSection] | None) -> list[str]:
    """A study of conversations: the per-turn table (``analysis.turns``)."""
    cells = turn_cells(sections)
    if not cells:
        return []
    return ["## Per turn", "", TURN_NOTE, "", table(TURN_HEADERS, cells), ""]


def _win_rates(rows: list[WinRate] | None) -> str:
    if not rows:
        return "_No verdicts._"
    return table(WIN_RATE_HEADERS, win_rate_cells(rows))


def _bt(rows: list[BradleyTerry] | None) -> str:
    if rows is None:
        return "_Bradley–Terry needs three or more systems._"
    return table(
        ["system", "rating", "95% CI"],
        [[r.system, fmt(r.rating, 1), ci(r.ci_low, r.ci_high, 1)] for r in rows],
    )


def alpha_levels(alphas: KrippendorffAlphas) -> list[tuple[str, str, AlphaEstimate | None]]:
    """(measure, level, estimate): the preference (nominal), then every criterion that has
    an alpha at its ordinal and interval levels. Shared by the reports and the Results page."""
    out: list[tuple[str, str, AlphaEstimate | None]] = [
        ("preference", "nominal", alphas.preference)
    ]
    for name, entry in alphas.criteria.items():
        if entry is not None:
            out += [(name, "ordinal", entry.ordinal), (name, "interval", entry.interval)]
    return out


def alpha_too_few(a: AlphaEstimate, n_overlap: int) -> str | None:
    """ "too few to say (n = …)" for an alpha from too few pairs rated at least twice: a
    criterion's units are the pair's two outputs, so its n is capped by the pairs."""
    return too_few_overlap(min(a.n_units, n_overlap))


def _alpha_rows(alphas: KrippendorffAlphas, n_overlap: int) -> list[list[Any]]:
    rows = []
    for name, level, a in alpha_levels(alphas):
        if a is None:
            rows.append([name, level, None, "—", "—"])
        elif few := alpha_too_few(a, n_overlap):  # no alpha, interval or reading from so few
            rows.append([name, level, few, "—", few])
        else:
            rows.append([name, level, a.alpha, ci(a.ci_low, a.ci_high), a.reading.split(":")[0]])
    return rows


def human_md(h: HumanSection) -> list[str]:
    out = ["## Human ratings", ""]
    if not h.n_ratings:
        return out + ["_No human ratings yet._", ""]
    agr = h.agreement
    out += [
        f"{h.n_ratings} ratings by {h.n_annotators} annotators on {h.n_pairs_rated} pairs.",
        "",
        "### Agreement",
        "",
        rp.SWAP_NOTE,
        "",
        table(
            ["measure", "level", "alpha", "95% CI", "reading"],
            _alpha_rows(agr.krippendorff_alpha, agr.n_overlap),
        ),
        "",
        *(f"- {label}: {fmt(value)}" for label, value in rp.agreement_lines(agr)),
        f"- P(prefers the longer response): {fmt(h.prefers_longer_rate)}",
        f"- P(prefers the response shown first): {fmt(h.first_position_rate)}",
        "",
    ]
    if agr.pairwise_cohen_kappa:
        out += [
            "#### Pairwise Cohen's kappa (preference)",
            "",
            table(
                ["annotator 1", "annotator 2", "kappa", "shared"],
                [
                    [r.annotator_1, r.annotator_2, overlap_cell(r.kappa, r.n), r.n]
                    for r in agr.pairwise_cohen_kappa
                ],
            ),
            "",
        ]
    if h.loo_agreement:
        headers, rows = annotator_cells(h)
        out += [f"#### {ANNOTATORS_TITLE}", "", ANNOTATORS_NOTE, "", table(headers, rows), ""]
    out += [
        "### Who wins (humans)",
        "",
        _win_rates(h.win_rates),
        "",
        *_lc(h.length_controlled, h.win_rates),
        *_anytime(h.anytime),
        *_categories(h.by_category),
        _bt(h.bradley_terry),
        "",
        *parity_md(h.win_rates, h.style_control),
    ]
    if h.criteria:
        out += [
            "### Criterion scores",
            "",
            table(
                ["system", "criterion", "mean", "95% CI", "n"],
                [[r.system, r.criterion, r.mean, ci(r.ci_low, r.ci_high), r.n] for r in h.criteria],
            ),
            "",
        ]
    return out


def calibration_cells(c: Calibration) -> list[list[Any]]:
    """(label, value) rows of a judge's calibration, shared by the Markdown and HTML reports;
    its agreement with the humans from too few shared pairs says so instead of a figure."""

    def vs_humans(value: Any) -> Any:
        return overlap_cell(value, c.n_with_humans) if c.n_with_humans else value

    return [
        ["agreement with human majority", vs_humans(c.agreement_with_majority)],
        ["… without ties", vs_humans(c.agreement_with_majority_no_ties)],
        ["Cohen's kappa vs majority (a / b / tie)", vs_humans(c.cohen_kappa_vs_majority)],
        ["… swap-symmetric", vs_humans(c.cohen_kappa_vs_majority_swap_symmetric)],
        ["agreement with leave-one-out majority", vs_humans(c.agreement_with_loo_majority)],
        ["humans' leave-one-out agreement (same rows)", vs_humans(c.human_loo_agreement)],
        ["position consistency", c.position_consistency],
        ["P(prefers the response shown first)", c.first_position_rate],
        ["P(prefers the longer response)", c.prefers_longer_rate],
        ["… humans", c.human_prefers_longer_rate],
        ["tie rate", c.tie_rate],
        ["pairs judged", c.n],
        ["unparsed answers (never votes)", c.n_unparsed],
        ["unparsed rate", c.unparsed_rate],
        ["pairs also rated by humans", c.n_with_humans],
    ]


def judge_md(key: str, j: JudgeSection) -> list[str]:
    c = j.calibration
    rows = calibration_cells(c)
    out = [
        f"### {key}",
        "",
        f"Mode: {j.mode}; {j.n} verdicts.",
        "",
        table(["calibration", "value"], rows),
        "",
    ]
    if c.score_correlation:
        out += [
            table(
                ["criterion", "Spearman", "Kendall", "n"],
                [[r.criterion, r.spearman, r.kendall, r.n] for r in c.score_correlation],
            ),
            "",
        ]
    out += [_win_rates(j.win_rates), "", *_lc(j.length_controlled, j.win_rates)]
    out += _categories(j.by_category)
    out += [_bt(j.bradley_terry), ""]
    out += parity_md(j.win_rates, j.style_control)
    return out


def parity_md(rates, style) -> list[str]:
    """AlpacaEval's mean-preference win rates and the style-controlled ratings, if any."""
    out = []
    if cells := rp.preference_cells(rates):
        out += [rp.PREFERENCE_NOTE, "", table(rp.PREFERENCE_HEADERS, cells), ""]
    if cells := rp.style_cells(style):
        out += [rp.STYLE_NOTE, "", table(rp.STYLE_HEADERS, cells), ""]
        out += [rp.style_coefficients(style), ""]
    return out


def to_markdown(report: StudyReport) -> str:
    st, settings = report.study, report.settings
    out = [
        f"# Report: {st.name}",
        "",
        f"Systems: {', '.join(st.systems) or '—'}. {st.n_pairs} pairs over "
        f"{st.n_prompts} prompts. Generated {report.generated_at}; "
        f"{settings.n_boot} bootstrap resamples, {settings.confidence:.0%} intervals.",
        "",
        *compared_md(report.compared),
        *headline_md(report),
        *card_md(report.card),
        *human_md(report.human),
        *ppi_md(report),
        *_turns(report.by_turn),
        *quality_md(report),
        "## Judges",
        "",
        *comparison_md(report.judge_comparison),
        *probes_md(report.probes),
    ]
    if not report.judges:
        out += ["_No judge verdicts yet._", ""]
    for key, j in report.judges.items():
        out += judge_md(key, j)
    return "\n".join(out).rstrip() + "\n"
