"""The report as one self-contained HTML file: inline CSS and inline SVG charts, no
scripts and no external resources, so it opens offline and can be mailed around."""

from __future__ import annotations

from html import escape
from typing import Any

from sidebyside.analysis import report_parity as rp
from sidebyside.analysis import svg
from sidebyside.analysis.card_render import card_html
from sidebyside.analysis.probe_render import probes_html
from sidebyside.analysis.provenance import compared_html
from sidebyside.analysis.report_css import REPORT_CSS
from sidebyside.analysis.report_md import (
    ANNOTATORS_NOTE,
    ANNOTATORS_TITLE,
    ANYTIME_HEADERS,
    ANYTIME_NOTE,
    ANYTIME_TITLE,
    CATEGORY_HEADERS,
    CATEGORY_NOTE,
    COMPARE_HEADERS,
    COMPARE_NOTE,
    HEADLINE_NOTE,
    LC_HEADERS,
    LC_NOTE,
    PAIRWISE_HEADERS,
    PPI_HEADERS,
    PPI_NOTE,
    PPI_TITLE,
    VERDICT_NAMES,
    WIN_RATE_HEADERS,
    alpha_levels,
    alpha_too_few,
    annotator_cells,
    anytime_cells,
    calibration_cells,
    category_cells,
    ci,
    comparison_cells,
    fmt,
    headline_cells,
    lc_absent,
    lc_cells,
    ppi_cells,
    row_ci,
    win_rate_cells,
)
from sidebyside.analysis.report_models import (
    AnnotatorPairKappa,
    AnytimeDecision,
    BradleyTerry,
    CategoryWinRate,
    HumanSection,
    JudgeComparison,
    JudgeSection,
    LengthControlled,
    StudyReport,
    WinRate,
)
from sidebyside.analysis.report_quality import quality_html
from sidebyside.analysis.small_samples import too_few_overlap
from sidebyside.analysis.turns import TURN_HEADERS, TURN_NOTE, TurnSection, turn_cells


def _table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(f"<td>{escape(c if isinstance(c, str) else fmt(c))}</td>" for c in r)
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _win_rate_block(rows: list[WinRate] | None, who: str) -> str:
    if not rows:
        return "<p class='muted'>No verdicts.</p>"
    cis = [row_ci(r) for r in rows]
    chart = svg.interval_chart(
        [
            (f"{r.system_a} vs {r.system_b}", r.win_rate_a, low, high)
            for r, (low, high, _) in zip(rows, cis, strict=True)
        ],
        lo=0,
        hi=1,
        ref=0.5,
        title=f"Win rate of A over B ({who}; ties = ½; 95% {cis[0][2]} CI)",
    )
    table = _table(WIN_RATE_HEADERS, win_rate_cells(rows))
    return chart + table


def _lc_block(rows: list[LengthControlled] | None, win_rates: list[WinRate] | None) -> str:
    cells = lc_cells(rows, win_rates)
    if not cells:
        return ""
    absent = lc_absent(win_rates)
    tail = f"<p class='muted'>{escape(absent)}</p>" if absent else ""
    return f"<p class='muted'>{escape(LC_NOTE)}</p>" + _table(LC_HEADERS, cells) + tail


def _anytime_block(rows: list[AnytimeDecision] | None) -> str:
    cells = anytime_cells(rows)
    if not cells:
        return ""
    head = f"<h4>{escape(ANYTIME_TITLE)}</h4><p class='muted'>{escape(ANYTIME_NOTE)}</p>"
    return head + _table(ANYTIME_HEADERS, cells)


def _category_block(rows: list[CategoryWinRate] | None) -> str:
    cells, left_out = category_cells(rows)
    if not cells:
        return ""
    more = f"<p class='muted'>{left_out} more rows in the JSON report.</p>" if left_out else ""
    return f"<p class='muted'>{escape(CATEGORY_NOTE)}</p>" + _table(CATEGORY_HEADERS, cells) + more


def _turns(sections: list[TurnSection] | None) -> str:
    """A study of conversations: the per-turn table (``analysis.turns``)."""
    cells = turn_cells(sections)
    if not cells:
        return ""
    return f"<h2>Per turn</h2><p class='muted'>{escape(TURN_NOTE)}</p>" + _table(
        TURN_HEADERS, cells
    )


def _bt_block(rows: list[BradleyTerry] | None, who: str) -> str:
    if rows is None:
        return "<p class='muted'>Bradley–Terry ratings need three or more systems.</p>"
    finite = [v for r in rows for v in (r.rating, r.ci_low, r.ci_high) if v is not None]
    lo, hi = min(finite) - 20, max(finite) + 20
    return svg.interval_chart(
        [(r.system, r.rating, r.ci_low, r.ci_high) for r in rows],
        lo=lo,
        hi=hi,
        ref=1000.0,
        bars=False,
        digits=0,
        title=f"Bradley–Terry rating ({who}; 1000 = average; 95% bootstrap CI)",
    )


def _kappa_heatmap(pairs: list[AnnotatorPairKappa]) -> str:
    names = sorted({r.annotator_1 for r in pairs} | {r.annotator_2 for r in pairs})
    idx = {n: i for i, n in enumerate(names)}
    m: list[list[Any]] = [[1.0 if i == j else None for j in names] for i in names]
    few = []
    for r in pairs:
        i, j = idx[r.annotator_1], idx[r.annotator_2]
        if note := too_few_overlap(r.n):  # no colour from so few shared pairs
            few.append(f"{r.annotator_1} and {r.annotator_2}: {note}")
        m[i][j] = m[j][i] = None if note else r.kappa
    chart = svg.heatmap(
        names,
        names,
        m,
        vmin=-0.2,
        vmax=1.0,
        title="Pairwise Cohen's kappa between annotators (preference)",
    )
    if few:
        chart += f"<p class='muted'>Left blank: {escape('; '.join(few))}.</p>"
    return chart


def _human(h: HumanSection) -> str:
    if not h.n_ratings:
        return "<h2>Human ratings</h2><p class='muted'>No human ratings yet.</p>"
    agr = h.agreement
    alpha_rows = [
        [name, level, few, "—", few]  # no alpha, interval or reading from so few
        if (few := alpha_too_few(a, agr.n_overlap))
        else [name, level, a.alpha, ci(a.ci_low, a.ci_high), a.reading]
        for name, level, a in alpha_levels(agr.krippendorff_alpha)
        if a is not None
    ]
    out = [
        "<h2>Human ratings</h2>",
        f"<p>{h.n_ratings} ratings by {h.n_annotators} annotators on {h.n_pairs_rated} pairs.</p>",
        "<h3>Agreement</h3>",
        f"<p class='muted'>{escape(rp.SWAP_NOTE)}</p>",
        _table(["measure", "level", "Krippendorff's alpha", "95% CI", "reading"], alpha_rows),
        _table(
            ["measure", "value"],
            [
                *[list(row) for row in rp.agreement_lines(agr)],
                ["P(prefers the longer response)", h.prefers_longer_rate],
                ["P(prefers the response shown first)", h.first_position_rate],
            ],
        ),
    ]
    if agr.pairwise_cohen_kappa:
        out.append(_kappa_heatmap(agr.pairwise_cohen_kappa))
    if h.loo_agreement:
        out.append(
            f"<h4>{ANNOTATORS_TITLE}</h4><p class='muted'>{escape(ANNOTATORS_NOTE)}</p>"
            + _table(*annotator_cells(h))
        )
    out += [
        "<h3>Who wins (humans)</h3>",
        _win_rate_block(h.win_rates, "humans"),
        _lc_block(h.length_controlled, h.win_rates),
        _anytime_block(h.anytime),
        _category_block(h.by_category),
        _bt_block(h.bradley_terry, "humans"),
        _parity_block(h.win_rates, h.style_control),
    ]
    if h.criteria:
        out.append("<h3>Criterion scores</h3><div class='charts'>")
        for crit in dict.fromkeys(r.criterion for r in h.criteria):
            rows = [r for r in h.criteria if r.criterion == crit]
            lo = min(r.ci_low if r.ci_low is not None else r.mean for r in rows)
            hi = max(r.ci_high if r.ci_high is not None else r.mean for r in rows)
            out.append(
                svg.interval_chart(
                    [(r.system, r.mean, r.ci_low, r.ci_high) for r in rows],
                    lo=max(lo - 0.5, 0),
                    hi=hi + 0.5,
                    bars=False,
                    title=f"{crit}: mean (95% CI)",
                )
            )
        out.append("</div>")
    return "".join(out)


def _judge(key: str, j: JudgeSection) -> str:
    c = j.calibration
    out = [
        f"<h3>{escape(key)}</h3><p>Mode: {escape(str(j.mode))}; {j.n} verdicts.</p>",
        _table(
            ["calibration", "value"],
            calibration_cells(c),
        ),
    ]
    cm = c.confusion_matrix
    if cm:
        labels = [VERDICT_NAMES[x] for x in cm.labels]
        top = max(max(r) for r in cm.matrix) or 1
        out.append(
            svg.heatmap(
                labels,
                labels,
                cm.matrix,
                vmin=0,
                vmax=top,
                title=f"{key} vs the human majority",
                row_title="human majority",
                col_title=key,
            )
        )
    if c.score_correlation:
        out.append(
            _table(
                ["criterion", "Spearman", "Kendall", "n"],
                [[r.criterion, r.spearman, r.kendall, r.n] for r in c.score_correlation],
            )
        )
    out += [
        _win_rate_block(j.win_rates, key),
        _lc_block(j.length_controlled, j.win_rates),
        _category_block(j.by_category),
        _bt_block(j.bradley_terry, key),
        _parity_block(j.win_rates, j.style_control),
    ]
    return "".join(out)


def _parity_block(rates, style) -> str:
    """AlpacaEval's mean-preference win rates and the style-controlled ratings, if any."""
    out = ""
    if cells := rp.preference_cells(rates):
        out += f"<p class='muted'>{escape(rp.PREFERENCE_NOTE)}</p>"
        out += _table(rp.PREFERENCE_HEADERS, cells)
    if cells := rp.style_cells(style):
        out += f"<p class='muted'>{escape(rp.STYLE_NOTE)}</p>" + _table(rp.STYLE_HEADERS, cells)
        out += f"<p class='muted'>{escape(rp.style_coefficients(style))}</p>"
    return out


def _headline(report: StudyReport) -> str:
    headers, rows = headline_cells(report)
    if not rows:
        return ""
    return f"<h2>Who wins</h2><p class='muted'>{escape(HEADLINE_NOTE)}</p>" + _table(headers, rows)


def _ppi(report: StudyReport) -> str:
    rows = ppi_cells(report)
    if not rows:
        return ""
    note = f"<p class='muted'>{escape(PPI_NOTE)}</p>"
    return f"<h3>{escape(PPI_TITLE)}</h3>" + note + _table(PPI_HEADERS, rows)


def _comparison(cmp: JudgeComparison | None) -> str:
    if not cmp:
        return ""
    ranked, pairwise = comparison_cells(cmp)
    out = f"<h3>Judges compared</h3><p class='muted'>{escape(COMPARE_NOTE)}</p>"
    out += _table(COMPARE_HEADERS, ranked)
    return out + (_table(PAIRWISE_HEADERS, pairwise) if pairwise else "")


def to_html(report: StudyReport) -> str:
    st, settings = report.study, report.settings
    judges = "".join(_judge(k, j) for k, j in report.judges.items())
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>Report: {escape(st.name)}</title><style>{REPORT_CSS}</style></head><body>"
        f"<h1>Report: {escape(st.name)}</h1>"
        f"<p>Systems: {escape(', '.join(st.systems) or '—')}. {st.n_pairs} pairs over "
        f"{st.n_prompts} prompts. <span class='muted'>Generated "
        f"{escape(report.generated_at)}; {settings.n_boot} bootstrap "
        f"resamples; {settings.confidence:.0%} intervals.</span></p>"
        + compared_html(report.compared)
        + _headline(report)
        + card_html(report.card)
        + _human(report.human)
        + _ppi(report)
        + _turns(report.by_turn)
        + quality_html(report)
        + "<h2>Judges</h2>"
        + _comparison(report.judge_comparison)
        + probes_html(report.probes)
        + (judges or "<p class='muted'>No judge verdicts yet.</p>")
        + "</body></html>\n"
    )
