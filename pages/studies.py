"""Admin: create studies, import model outputs, and set the rubric, k and the allocation."""

import json

import pandas as pd
import streamlit as st
from pydantic import ValidationError
from sqlmodel import select

from sidebyside.analysis.power import prompts_needed
from sidebyside.annotate.importing import import_sources
from sidebyside.annotate.progress import studies_overview
from sidebyside.annotate.studies import (
    allocation_note,
    create_study,
    study_has_ratings,
    update_study,
)
from sidebyside.foundation.enums import Allocation
from sidebyside.foundation.lookup import list_studies
from sidebyside.foundation.models import System
from sidebyside.foundation.rubric import NAME_MAX, Criterion, Rubric, rubric_error, rubric_of
from sidebyside.ui.common import require_admin
from sidebyside.ui.db import db_session
from sidebyside.ui.errors import show_error

require_admin()
st.title("Studies")

ALLOCATIONS = [a.value for a in Allocation]
ALLOCATION_HELP = (
    "uniform: each annotator works through their own shuffle of the pairs. adaptive (three "
    "or more systems): first the pairs of the system pairs whose next vote narrows the widest "
    "Bradley–Terry intervals most, so the ranking needs fewer votes when the systems differ "
    "a lot; with two systems it is uniform. Fixed once the first rating is in."
)


with db_session() as session:
    studies = list_studies(session)
    overview = studies_overview(session)
if overview:
    st.dataframe(pd.DataFrame(overview), hide_index=True, width="stretch")

if created_name := st.session_state.pop("_created", None):  # after the rerun that shows it
    st.success(f"Study {created_name!r} created. Import its outputs below.")
# A new form key after each creation: the form comes back empty.
create_n = st.session_state.get("_create_n", 0)
with (
    st.expander("Create a study", expanded=not studies),
    st.form(f"create_study_{create_n}"),
):
    name = st.text_input("Name", help="Annotators see this name; keep system names out of it.")
    description = st.text_area("Description (optional)", height=80)
    k = st.number_input("Annotators per pair (k)", min_value=1, max_value=100, value=3)
    allocation = st.selectbox(
        "Pair allocation", ALLOCATIONS, help=ALLOCATION_HELP, key=f"new_allocation_{create_n}"
    )
    rubric_file = st.file_uploader(
        "Rubric JSON (optional; the default rubric otherwise)", type=["json"], key="new_rubric"
    )
    if st.form_submit_button("Create study", type="primary"):
        try:
            rubric = None
            if rubric_file is not None:
                # the one reader of input files: BOM, depth, duplicate keys (foundation.readers)
                rubric = Rubric.from_bytes(rubric_file.name, rubric_file.getvalue())
            with db_session() as session:
                created = create_study(
                    session,
                    name=name,
                    rubric=rubric,
                    k=int(k),
                    description=description,
                    allocation=allocation,
                )
        except ValidationError as exc:
            st.error(f"{rubric_file.name}: not a valid rubric: {rubric_error(exc)}")
        except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
            show_error(exc, "creating the study")
        else:
            st.session_state["studies_pick"] = created.name
            st.session_state["_created"] = created.name
            st.session_state["_create_n"] = create_n + 1
            st.rerun()

with st.expander("How many prompts does a study need?"):
    left, mid, right = st.columns(3)
    expected = left.slider("Win rate you expect (ties = ½)", 0.51, 0.90, 0.60, 0.01)
    tie_share = mid.slider("Share of tied prompts", 0.0, 0.6, 0.1, 0.05)
    power_goal = right.slider("Power", 0.5, 0.95, 0.8, 0.05)
    try:
        needed = prompts_needed(expected, tie_rate=tie_share, power=power_goal)
    except ValueError as exc:  # analysis.power is pure: its check of these very sliders
        st.warning(str(exc))
    else:
        st.markdown(
            f"**{needed:,} prompts** find a win rate of {expected:.2f} with {power_goal:.0%} "
            "power (two-sided sign test over prompts at 5%). Each prompt counts once however "
            "many annotators rate it; more annotators per pair make each prompt's call surer, "
            "not the study larger. Same from a shell: "
            f"`sidebyside power --win-rate {expected:.2f} --tie-rate {tie_share:.2f}`."
        )

if not studies:
    st.stop()

names = [s.name for s in studies]
if st.session_state.get("studies_pick") not in names:
    st.session_state["studies_pick"] = names[-1]
chosen = st.selectbox("Study", names, key="studies_pick")
study = studies[names.index(chosen)]

tab_import, tab_settings = st.tabs(["Import outputs", "Rubric and settings"])

with tab_import:
    st.markdown(
        "Upload one or more files (format detected by extension):\n"
        "- **long** CSV/JSONL: `prompt_id, prompt, system, output` (optional `reference`)\n"
        "- **pairs** CSV/JSONL: `prompt_id, prompt, system_a, output_a, system_b, output_b` "
        "(optional `reference`)\n"
        "- **alpaca_eval** JSON: a list of `{instruction, output, generator}`, one file per system"
        "\n\nAn import is all or nothing, and importing the same file again changes nothing."
    )
    with st.form(f"import_{study.id}", clear_on_submit=False):
        files = st.file_uploader(
            "Files", type=["csv", "jsonl", "json"], accept_multiple_files=True, key="import_files"
        )
        pairing = st.radio(
            "Pairs from long and alpaca_eval files",
            ["all", "baseline"],
            format_func={
                "all": "every pair of systems on each prompt",
                "baseline": "only pairs against a baseline system",
            }.get,
            horizontal=True,
        )
        baseline = st.text_input("Baseline system (for baseline pairing)")
        submitted = st.form_submit_button("Import", type="primary")
    if submitted:
        if not files:
            st.error("Choose at least one file to import.")
        else:
            try:
                with db_session() as session:
                    report = import_sources(
                        session,
                        study=study,
                        sources=[(f.name, f.getvalue()) for f in files],
                        pairing=pairing,
                        baseline=baseline.strip() or None,
                    )
            except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
                show_error(exc, "importing the files", prefix="Nothing was imported. ")
            else:
                # Rerun so the studies table above counts the new pairs; the report follows.
                st.session_state["_import_report"] = (study.id, report)
                st.rerun()
    shown_id, report = st.session_state.pop("_import_report", (None, None))
    if report is not None and shown_id == study.id:
        st.success(f"Imported: {report.summary()}.")
        cols = st.columns(5)
        for col, (label, value) in zip(
            cols,
            [
                ("systems added", report.systems_added),
                ("prompts added", report.prompts_added),
                ("outputs added", report.outputs_added),
                ("pairs added", report.pairs_added),
                ("empty outputs", report.empty_outputs),
            ],
            strict=True,
        ):
            col.metric(label, value)
        if report.files:
            st.caption("Formats: " + ", ".join(f"{name} ({fmt})" for name, fmt in report.files))
        if report.unchanged:
            st.info(f"{report.unchanged} outputs were already in the study (unchanged).")

with tab_settings:
    with db_session() as session:
        locked = study_has_ratings(session, study.id)
        system_names = list(
            session.exec(select(System.name).where(System.study_id == study.id).order_by(System.id))
        )
    rubric = rubric_of(study)
    FIRST = "(the first system)"
    base_choices = [FIRST, *system_names]
    if locked:
        st.info(
            "This study already has ratings, so its rubric is frozen (ratings given so far were "
            "against it) and so is its pair allocation. k and the description can still change."
        )

    with st.form(f"settings_{study.id}"):
        new_k = st.number_input(
            "Annotators per pair (k)", min_value=1, max_value=100, value=int(study.k)
        )
        new_allocation = st.selectbox(
            "Pair allocation",
            ALLOCATIONS,
            index=ALLOCATIONS.index(study.allocation),
            help=ALLOCATION_HELP,
            disabled=locked,
            key=f"allocation_{study.id}",
        )
        new_base = st.selectbox(
            "Base system (the evaluation card compares every other system with it)",
            base_choices,
            index=base_choices.index(study.base_system) if study.base_system in base_choices else 0,
            key=f"base_{study.id}",
        )
        new_description = st.text_area("Description", value=study.description, height=80)
        st.markdown("**Criteria** (each rated on both responses)")
        criteria = st.data_editor(
            pd.DataFrame([{"name": c.name, "description": c.description} for c in rubric.criteria]),
            num_rows="dynamic",
            hide_index=True,
            width="stretch",
            disabled=locked,
            column_config={
                "name": st.column_config.TextColumn("Name", required=True, max_chars=NAME_MAX),
                "description": st.column_config.TextColumn("Description", max_chars=500),
            },
        )
        c1, c2, c3 = st.columns(3)
        scale_min = c1.number_input("Lowest score", value=rubric.scale_min, step=1, disabled=locked)
        scale_max = c2.number_input(
            "Highest score", value=rubric.scale_max, step=1, disabled=locked
        )
        allow_ties = c3.checkbox("Allow ties", value=rubric.allow_ties, disabled=locked)
        guidelines = st.text_area(
            "Guidelines (Markdown, shown to annotators)",
            value=rubric.guidelines,
            height=160,
            disabled=locked,
        )
        save = st.form_submit_button("Save settings", type="primary")
    if save:
        try:
            new_rubric = None
            if not locked:
                rows = criteria.fillna("").to_dict("records")
                new_rubric = Rubric(
                    criteria=[
                        Criterion(
                            name=str(r["name"]).strip(),
                            description=str(r["description"]).strip(),
                        )
                        for r in rows
                        if str(r["name"]).strip()
                    ],
                    scale_min=int(scale_min),
                    scale_max=int(scale_max),
                    allow_ties=allow_ties,
                    guidelines=guidelines,
                    preference_only=rubric.preference_only
                    and not any(str(r["name"]).strip() for r in rows),
                )
            with db_session() as session:
                update_study(
                    session,
                    study=study,
                    rubric=new_rubric,
                    k=int(new_k),
                    description=new_description,
                    allocation=new_allocation,
                    base_system="" if new_base == FIRST else new_base,
                )
        except ValidationError as exc:
            st.error(f"Not saved: {rubric_error(exc)}")
        except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
            show_error(exc, "saving the settings", prefix="Not saved: ")
        else:
            st.success("Settings saved.")
    with db_session() as session:  # after the save: the allocation just chosen
        note = allocation_note(session, study)
    if note:
        st.caption(note[0].upper() + note[1:] + ".")
    with st.expander("Rubric as JSON"):
        st.code(json.dumps(study.rubric, indent=2), language="json")
