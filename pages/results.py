"""Admin: who wins, can we trust the humans, can we trust each judge — charts and tables."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from sidebyside.analysis.card_frames import load_card_frames
from sidebyside.analysis.frames import data_fingerprint, load_study_frames
from sidebyside.analysis.lc_winrate import LcInputs, load_lc_inputs
from sidebyside.analysis.report import build_report, render
from sidebyside.analysis.report_md import (
    ANNOTATORS_NOTE,
    ANNOTATORS_TITLE,
    COMPARE_NOTE,
    HEADLINE_NOTE,
    LC_HEADERS,
    LC_NOTE,
    PPI_HEADERS,
    PPI_NOTE,
    PPI_TITLE,
    VERDICT_NAMES,
    alpha_levels,
    annotator_cells,
    calibration_cells,
    fmt,
    headline_cells,
    lc_absent,
    lc_cells,
    ppi_cells,
    row_ci,
)
from sidebyside.analysis.report_models import (
    AnnotatorPairKappa,
    BradleyTerry,
    ConfusionMatrix,
    HumanSection,
    JudgeAgreement,
    JudgeSection,
    ReportModel,
    StudyReport,
    WinRate,
)
from sidebyside.analysis.small_samples import too_few_overlap
from sidebyside.analysis.verdicts import scores_by_system
from sidebyside.analysis.winrates import honest_ci
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.settings import get_settings
from sidebyside.metrics.card_scoring import TEXT_SCORER
from sidebyside.ui.common import pick_study, require_admin
from sidebyside.ui.db import get_engine_cached
from sidebyside.ui.fit_table import fitted_dataframe
from sidebyside.ui.results_card import render_results_card
from sidebyside.ui.results_confidence import render_confidence_section
from sidebyside.ui.results_style import render_style_section
from sidebyside.ui.small_samples import agreement_note, small_sample_frame, too_few_note


@st.cache_data(show_spinner="Computing the analysis…", max_entries=16)
def analyse(study_id: int, fingerprint: tuple, n_boot: int) -> tuple[StudyReport, pd.DataFrame]:
    """The report (its evaluation card with the stored layers included) and the score
    distributions, recomputed only when the study's data (its fingerprint) or the number of
    resamples changes."""
    del fingerprint  # part of the cache key only
    engine = get_engine_cached()
    frames = load_study_frames(engine, study_id)
    try:  # AlpacaEval's LC win rate, where SIDEBYSIDE_ALPACA_EVAL_GLM_DIR names its files
        lc_inputs = load_lc_inputs(engine, study_id, get_settings().alpaca_eval_glm_dir)
    except InputError as exc:
        lc_inputs = LcInputs.absent(str(exc))
    report = build_report(
        frames,
        n_boot=n_boot,
        layers=load_card_frames(engine, study_id),
        scorer=TEXT_SCORER,
        lc_inputs=lc_inputs,
    )
    scores = scores_by_system(frames.human, frames.criteria)
    dist = scores.groupby(["criterion", "system", "score"]).size().rename("n").reset_index()
    return report, dist


def frame(rows: list[ReportModel]) -> pd.DataFrame:
    """A table of report rows, one column per field."""
    return pd.DataFrame([r.model_dump() for r in rows])


def win_rate_chart(rows: list[WinRate], source: str) -> alt.Chart:
    df = frame(rows).assign(pair=lambda d: d["system_a"] + " vs " + d["system_b"], source=source)
    cis = [row_ci(r) for r in rows]
    df["low"], df["high"] = [c[0] for c in cis], [c[1] for c in cis]
    base = alt.Chart(df).encode(
        y=alt.Y("pair:N", title=None, sort=None, axis=alt.Axis(labelLimit=360))
    )
    bars = base.mark_bar(opacity=0.7).encode(
        x=alt.X("win_rate_a:Q", title="win rate of A (ties = ½)", scale=alt.Scale(domain=[0, 1])),
        tooltip=[
            "pair",
            "wins_a",
            "wins_b",
            "ties",
            alt.Tooltip("win_rate_a", format=".3f"),
            alt.Tooltip("p_value_prompts", title="p (prompts)", format=".2g"),
        ],
    )
    whiskers = base.mark_rule(strokeWidth=2).encode(x="low:Q", x2="high:Q")
    half = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    return (bars + whiskers + half).properties(title=f"Win rates ({source}, {cis[0][2]} 95% CI)")


def forest_plot(sections: dict[str, list[BradleyTerry] | None]) -> alt.Chart | None:
    rows = [{**r.model_dump(), "source": src} for src, bt in sections.items() if bt for r in bt]
    if not rows:
        return None
    df = pd.DataFrame(rows)
    base = alt.Chart(df).encode(
        y=alt.Y("system:N", sort="-x", title=None), color=alt.Color("source:N", title="source")
    )
    points = base.mark_point(filled=True, size=70).encode(
        x=alt.X(
            "rating:Q", title="Bradley–Terry rating (1000 = average)", scale=alt.Scale(zero=False)
        ),
        yOffset="source:N",
        tooltip=[
            "source",
            "system",
            alt.Tooltip("rating", format=".0f"),
            alt.Tooltip("ci_low", format=".0f"),
            alt.Tooltip("ci_high", format=".0f"),
        ],
    )
    lines = base.mark_rule().encode(x="ci_low:Q", x2="ci_high:Q", yOffset="source:N")
    return (lines + points).properties(title="Bradley–Terry ratings with 95% bootstrap CIs")


def heatmap(df: pd.DataFrame, x: str, y: str, value: str, title: str, fmt: str) -> alt.Chart:
    base = alt.Chart(df).encode(x=alt.X(f"{x}:N", sort=None), y=alt.Y(f"{y}:N", sort=None))
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues")), tooltip=[x, y, value]
    )
    text = base.mark_text().encode(text=alt.Text(f"{value}:Q", format=fmt))
    return (cells + text).properties(title=title)


def kappa_heatmap(pairs: list[AnnotatorPairKappa]) -> alt.Chart:
    rows = []
    for r in pairs:
        rows.append({"annotator": r.annotator_1, "other": r.annotator_2, "kappa": r.kappa})
        rows.append({"annotator": r.annotator_2, "other": r.annotator_1, "kappa": r.kappa})
    return heatmap(
        pd.DataFrame(rows),
        "other",
        "annotator",
        "kappa",
        "Pairwise Cohen's kappa (preference)",
        ".2f",
    )


def confusion_chart(key: str, cm: ConfusionMatrix) -> alt.Chart:
    rows = [
        {"human majority": VERDICT_NAMES[h], "judge": VERDICT_NAMES[j], "pairs": cm.matrix[i][k]}
        for i, h in enumerate(cm.labels)
        for k, j in enumerate(cm.labels)
    ]
    return heatmap(
        pd.DataFrame(rows), "judge", "human majority", "pairs", f"{key} vs the human majority", "d"
    )


def human_tab(report: StudyReport, dist: pd.DataFrame) -> None:
    h = report.human
    if not h.n_ratings:
        st.info("No human ratings yet: import some (sidebyside import-ratings) or annotate.")
        return
    agr = h.agreement
    if note := agreement_note(agr):  # too few pairs rated twice (ui.small_samples)
        st.warning(note)
    few = too_few_overlap(agr.n_overlap)  # then no tile or row shows a bare figure

    def tile(value: float | None, fmt: str) -> str:
        return "—" if value is None else "too few" if few else format(value, fmt)

    pref = agr.krippendorff_alpha.preference
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Ratings", h.n_ratings)
    c2.metric("Krippendorff's α (preference)", tile(pref and pref.alpha, ".3f"), help=few)
    c3.metric("Fleiss' κ", tile(agr.fleiss_kappa, ".3f"), help=few)
    c4.metric("Percent agreement", tile(agr.percent_agreement, ".1%"), help=few)
    if pref is not None:
        st.caption(f"Reading: {few or pref.reading}")
    rows = [
        {"measure": name, "level": level, "alpha": None if few else a.alpha,
         "ci_low": None if few else a.ci_low, "ci_high": None if few else a.ci_high,
         "units": a.n_units, "note": few or ""}
        for name, level, a in alpha_levels(agr.krippendorff_alpha)
        if a is not None
    ]  # fmt: skip
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    if agr.pairwise_cohen_kappa:
        st.altair_chart(kappa_heatmap(agr.pairwise_cohen_kappa), width="stretch")
    if h.loo_agreement:
        st.markdown(f"**{ANNOTATORS_TITLE}**")
        st.caption(ANNOTATORS_NOTE)
        headers, cells = annotator_cells(h)
        st.dataframe(pd.DataFrame(cells, columns=headers), hide_index=True, width="stretch")
    if not dist.empty:
        chart = (
            alt.Chart(dist)
            .mark_bar()
            .encode(
                x=alt.X("score:O"),
                y=alt.Y("n:Q", title="ratings"),
                color="system:N",
                xOffset="system:N",
                column=alt.Column("criterion:N", title=None),
                tooltip=["criterion", "system", "score", "n"],
            )
            .properties(width=160, title="Criterion score distributions")
        )
        st.altair_chart(chart)
        st.dataframe(frame(h.criteria or []), hide_index=True, width="stretch")


def category_section(sections: dict[str, HumanSection | JudgeSection]) -> None:
    """Win rate per prompt category for one system pair, every source in one chart."""
    rows = [
        {**r.model_dump(), "source": src}
        for src, sec in sections.items()
        for r in sec.by_category or []
    ]
    if not rows:
        return
    df = pd.DataFrame(rows).assign(pair=lambda d: d["system_a"] + " vs " + d["system_b"])
    pairs = list(dict.fromkeys(df["pair"]))
    pair = (
        st.selectbox("By prompt category", pairs, key="category_pair")
        if len(pairs) > 1
        else pairs[0]
    )
    part = df[df["pair"] == pair].copy()
    cis = [honest_ci(r) for r in part.to_dict("records")]
    part["low"], part["high"] = [c[0] for c in cis], [c[1] for c in cis]
    base = alt.Chart(part).encode(
        y=alt.Y("category:N", title=None, axis=alt.Axis(labelLimit=240)),
        yOffset="source:N",
        color=alt.Color("source:N", title="source"),
    )
    points = base.mark_point(filled=True, size=60).encode(
        x=alt.X("win_rate_a:Q", scale=alt.Scale(domain=[0, 1]), title="win rate of A (ties = ½)"),
        tooltip=["category", "source", "n_prompts", alt.Tooltip("win_rate_a", format=".3f"),
                 alt.Tooltip("p_value_prompts", title="p (prompts)", format=".2g")],
    )  # fmt: skip
    half = alt.Chart(pd.DataFrame({"x": [0.5]})).mark_rule(strokeDash=[4, 3]).encode(x="x:Q")
    st.altair_chart(
        (base.mark_rule().encode(x="low:Q", x2="high:Q") + points + half).properties(
            title=f"{pair}: win rate of A by prompt category (95% CI)"
        ),
        width="stretch",
    )


def wins_tab(report: StudyReport) -> None:
    headers, rows = headline_cells(report, compact=True)
    if rows:
        st.dataframe(pd.DataFrame(rows, columns=headers), hide_index=True, width="stretch")
        st.caption(HEADLINE_NOTE + ' "(length?)": the equal-length win rate calls it differently.')
        with st.expander("The figures behind each call"):
            headers, rows = headline_cells(report)
            fitted_dataframe(pd.DataFrame(rows, columns=headers))
    sections: dict[str, HumanSection | JudgeSection] = {"humans": report.human}
    sections.update(report.judges)
    for source, sec in sections.items():
        if sec.win_rates:
            st.altair_chart(win_rate_chart(sec.win_rates, source), width="stretch")
            if note := too_few_note(sec.win_rates):
                st.warning(note)
    if ppi_rows := ppi_cells(report):  # beside the humans' own win rate
        st.markdown(f"**{PPI_TITLE}**")
        st.caption(PPI_NOTE)
        fitted_dataframe(pd.DataFrame(ppi_rows, columns=PPI_HEADERS))
    category_section(sections)
    forest = forest_plot({src: sec.bradley_terry for src, sec in sections.items()})
    if forest is not None:
        st.altair_chart(forest, width="stretch")
    elif report.human.win_rates or report.judges:
        st.caption("Bradley–Terry ratings need three or more systems.")
    render_style_section(report)
    for source, sec in sections.items():
        if sec.win_rates:
            with st.expander(f"Win-rate table: {source}"):
                st.dataframe(small_sample_frame(sec.win_rates), hide_index=True, width="stretch")
                if sec.length_controlled:
                    st.caption(LC_NOTE)
                    cells = lc_cells(sec.length_controlled, sec.win_rates)
                    fitted_dataframe(pd.DataFrame(cells, columns=LC_HEADERS))
                    if absent := lc_absent(sec.win_rates):
                        st.caption(absent)
    if not any(sec.win_rates for sec in sections.values()):
        st.info("No verdicts yet.")


def agreement_chart(rows: list[JudgeAgreement]) -> alt.Chart:
    """Each judge's agreement with the human majority, with and without ties, and its CI."""
    long = pd.DataFrame(
        [
            {"judge": r.judge, "counting": label, "agreement": value, "low": low, "high": high}
            for r in rows
            for label, value, low, high in (
                ("ties count", r.agreement, r.ci_low, r.ci_high),
                ("without ties", r.agreement_no_ties, r.ci_low_no_ties, r.ci_high_no_ties),
            )
            if value is not None
        ]
    )
    base = alt.Chart(long).encode(
        y=alt.Y("judge:N", sort=[r.judge for r in rows], title=None,
                axis=alt.Axis(labelLimit=360)),
        yOffset="counting:N",
        color=alt.Color("counting:N", title=None),
    )  # fmt: skip
    points = base.mark_point(filled=True, size=70).encode(
        x=alt.X("agreement:Q", scale=alt.Scale(domain=[0, 1]), title="agreement with humans"),
        tooltip=["judge", "counting", alt.Tooltip("agreement", format=".3f")],
    )
    return (base.mark_rule().encode(x="low:Q", x2="high:Q") + points).properties(
        title="Agreement with the human majority (95% bootstrap CI)"
    )


def calibration_frame(report: StudyReport) -> pd.DataFrame:
    """The judges' calibration figures as the reports label them, a row per figure and a
    column per judge: judges are few and figures many (a row per judge ran 3,300 px wide).
    The matrix and the score correlations are drawn apart."""
    cells = {key: calibration_cells(j.calibration) for key, j in report.judges.items()}
    first = next(iter(cells.values()))
    data = {"figure": [label for label, _ in first]}
    for key, rows in cells.items():
        data[key] = [value if isinstance(value, str) else fmt(value) for _, value in rows]
    return pd.DataFrame(data)


def judges_tab(report: StudyReport) -> None:
    if not report.judges:
        st.info("No judge verdicts yet: run `sidebyside judge` or import some.")
        return
    st.markdown("**Calibration** (can each judge be trusted?)")
    fitted_dataframe(calibration_frame(report), all_rows=True)
    cmp = report.judge_comparison
    if cmp:
        st.markdown("**Judges compared** (agreement with the human majority)")
        st.caption(COMPARE_NOTE)
        st.altair_chart(agreement_chart(cmp.judges), width="stretch")
        fitted_dataframe(frame(cmp.judges))
        if cmp.pairwise:
            fitted_dataframe(frame(cmp.pairwise))
    render_confidence_section(report)
    cols = st.columns(2)
    for n, (key, j) in enumerate(report.judges.items()):
        cm = j.calibration.confusion_matrix
        if cm:
            cols[n % 2].altair_chart(confusion_chart(key, cm), width="stretch")


require_admin()
st.title("Results")
study = pick_study("Study", key="results_study")
if study is None:
    st.stop()
n_boot = st.sidebar.select_slider("Bootstrap resamples", options=[200, 500, 1000], value=1000)
fingerprint = data_fingerprint(get_engine_cached(), study.id)
report, dist = analyse(study.id, fingerprint, n_boot)
# The card in a tab of its own (the first): above the tabs it pushed them below the fold.
card, wins, humans, judges, metrics, download = st.tabs(
    ["Card", "Who wins", "Humans", "Judges", "Perplexity & metrics", "Report"]
)
with card:
    render_results_card(report)
with wins:
    wins_tab(report)
with humans:
    human_tab(report, dist)
with judges:
    judges_tab(report)
with metrics:
    from sidebyside.ui.metrics_section import render_metrics_section  # lazy: only this tab needs it

    render_metrics_section(study.id)
with download:
    st.write("The full report; the HTML file is self-contained and opens offline.")
    for fmt, mime in (("html", "text/html"), ("md", "text/markdown"), ("json", "application/json")):
        st.download_button(
            f"Download {fmt.upper()}",
            # Rendered when pressed, not on every rerun of the page.
            lambda fmt=fmt: render(report, fmt),
            file_name=f"{study.name}-report.{fmt}",
            mime=mime,
            key=f"report_{fmt}",
        )
