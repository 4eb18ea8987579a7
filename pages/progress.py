"""Admin: progress per study and per annotator, skipped/flagged pairs, and exports."""

import shlex

import pandas as pd
import streamlit as st

from sidebyside.analysis.frames import data_fingerprint
from sidebyside.analysis.report_md import ANNOTATORS_NOTE
from sidebyside.annotate.export import FORMATS, WHATS, export_frame, write_export
from sidebyside.annotate.my_ratings import rating_history
from sidebyside.annotate.progress import (
    anytime_progress,
    rater_checks,
    skipped_pairs,
    study_progress,
)
from sidebyside.ui.common import pick_study, require_admin
from sidebyside.ui.db import db_session, get_engine_cached
from sidebyside.ui.gold_panel import gold_panel

MIME = {"csv": "text/csv", "jsonl": "application/jsonl", "parquet": "application/octet-stream"}
#: Rater-check columns as people read them, with what each means (hover the header).
CHECK_COLUMNS = {
    "annotator": st.column_config.TextColumn("Annotator"),
    "n_ratings": st.column_config.NumberColumn("Ratings", help="Ratings this annotator gave."),
    "loo_agreement": st.column_config.NumberColumn(
        "Agrees with others",
        format="percent",
        help="How often their preference matches the majority of the other annotators on "
        "the same pairs (leave-one-out). Low = worth a look.",
    ),
    "loo_n": st.column_config.NumberColumn("Pairs compared", help="Pairs behind that figure."),
    "tie_rate": st.column_config.NumberColumn("Ties", format="percent", help="Share of ties."),
    "first_position_rate": st.column_config.NumberColumn(
        "Picks A",
        format="percent",
        help="Share of their non-tie votes that went to the response shown first (A). Far "
        "from 50% suggests position bias.",
    ),
    "first_position_p_value": st.column_config.NumberColumn(
        "Position bias p",
        format="%.3f",
        help="Sign test of that share against 50%: a small value means the bias is unlikely "
        "to be chance.",
    ),
    "prefers_longer_rate": st.column_config.NumberColumn(
        "Picks longer",
        format="percent",
        help="Share of their non-tie votes for the longer response.",
    ),
    "median_seconds": st.column_config.NumberColumn(
        "Median s / pair", format="%.0f", help="Median seconds spent per rated pair."
    ),
    "flags": st.column_config.ListColumn("Flags", help="Checks this annotator tripped."),
}
PROGRESS_COLUMNS = {
    "annotator": st.column_config.TextColumn("Annotator"),
    "done": st.column_config.NumberColumn("Rated", help="Pairs rated."),
    "skipped": st.column_config.NumberColumn("Skipped", help="Pairs skipped (flagged or not)."),
    "flagged": st.column_config.NumberColumn(
        "Flagged", help="Skipped pairs marked unusable (listed below)."
    ),
    "open": st.column_config.NumberColumn("Open", help="Pairs on their screen right now."),
    "median_seconds": st.column_config.NumberColumn(
        "Median s / pair", format="%.0f", help="Median seconds spent per rated pair."
    ),
}
WHAT_HELP = {
    "ratings": "one row per human rating, unblinded",
    "judgments": "one row per LLM judge call (each order)",
    "verdicts": "humans and reconciled judges in one tidy table",
    "dpo": "prompt / chosen / rejected pairs with a clear human majority",
}


@st.cache_data(show_spinner="Checking the raters…", max_entries=16)
def cached_rater_checks(study_id: int, fingerprint: tuple) -> list[dict] | None:
    """Per-annotator habits and flags, recomputed only when the study's ratings change."""
    del fingerprint  # part of the cache key only
    return rater_checks(get_engine_cached(), study_id)


@st.cache_data(show_spinner="Checking for a winner…", max_entries=16)
def cached_anytime(study_id: int, fingerprint: tuple) -> list[dict]:
    """Per system pair, decided or not yet (anytime-valid), recomputed when ratings change."""
    del fingerprint  # part of the cache key only
    return anytime_progress(get_engine_cached(), study_id)


require_admin()
st.title("Progress")
study = pick_study("Study", key="progress_study")
if study is None:
    st.stop()

with db_session() as session:
    p = study_progress(session, study=study)
    skipped = skipped_pairs(session, study=study)

c1, c2, c3, c4 = st.columns(4)
c1.metric("Pairs", p["pairs"])
c2.metric("Annotators per pair (k)", p["k"])
c3.metric("Ratings", f"{p['ratings']} / {p['ratings_needed']}")
c4.metric("Pairs with k ratings", p["pairs_complete"])
if p["share"] is not None:
    st.progress(p["share"], text=f"{p['share']:.0%} of the ratings this study needs")

# One look at what changed since the last run keys both cached panels below.
fingerprint = data_fingerprint(get_engine_cached(), study.id)
decisions = cached_anytime(study.id, fingerprint)
if decisions:
    st.subheader("Decided yet?")
    st.caption(
        "Per pair of systems, a confidence sequence for the human win rate, updated with every "
        "vote: you may look after each vote and stop once a winner is decided, with at most a "
        "5% chance of naming one that is not (re-checking an ordinary interval every vote "
        "would be wrong far more often). The projection assumes the win rate stays where it "
        "is. The report's human.anytime holds the figures."
    )
    for d in decisions:
        (st.success if d["decided"] else st.info)(d["line"])

st.subheader("Per annotator")
if p["annotators"]:
    st.dataframe(
        pd.DataFrame(p["annotators"]),
        hide_index=True,
        width="stretch",
        column_config=PROGRESS_COLUMNS,
        column_order=list(PROGRESS_COLUMNS),
    )
else:
    st.info("Nobody has opened a pair of this study yet.")

st.subheader("Rater checks")
st.caption(ANNOTATORS_NOTE)
checks = cached_rater_checks(study.id, fingerprint)
if checks:
    flagged = [r for r in checks if r["flags"]]
    if flagged:
        st.warning(
            "Worth a look: "
            + "; ".join(f"{r['annotator']} ({', '.join(r['flags'])})" for r in flagged)
        )
    st.dataframe(
        pd.DataFrame(checks),
        hide_index=True,
        width="stretch",
        column_config=CHECK_COLUMNS,
        column_order=list(CHECK_COLUMNS),  # counts behind the rates stay in the export
    )
else:
    st.info("No ratings yet.")

gold_panel(study)  # accuracy on the gold pairs, when the study has any (ui/gold_panel.py)

if skipped:
    st.subheader("Skipped and flagged pairs")
    st.dataframe(pd.DataFrame(skipped), hide_index=True, width="stretch")

st.subheader("Export")
left, right = st.columns(2)
what = left.selectbox("Table", WHATS, format_func=lambda w: f"{w}: {WHAT_HELP.get(w, '')}")
fmt = right.radio("Format", FORMATS, horizontal=True)
study_id, study_name, engine = study.id, study.name, get_engine_cached()


def build() -> bytes:
    """Runs only when the button is pressed (Streamlit calls it in its own thread)."""
    return write_export(export_frame(engine, study_id, what), fmt)


st.download_button(
    f"Download {what} ({fmt})",
    data=build,
    file_name=f"{study_name}-{what}.{fmt}",
    mime=MIME[fmt],
    type="primary",
    icon=":material/download:",
)
st.caption(
    f"The same from a shell: `sidebyside export {shlex.quote(study_name)} --what {what} "
    f"--format {fmt} --out FILE`"
)

with db_session() as session:
    history = rating_history(session, study=study)
if history:
    # Ratings changed on My ratings: the export above holds the latest version of each; this
    # holds every replaced one, with when it was made and replaced (canonical sides a/b).
    st.download_button(
        f"Download rating history ({len(history)} earlier versions, CSV)",
        data=pd.DataFrame(history).to_csv(index=False).encode(),
        file_name=f"{study_name}-rating-history.csv",
        mime="text/csv",
        icon=":material/history:",
    )
