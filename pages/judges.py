"""Judges (admins): pick judges, mode, concurrency and budget; see the cost estimate; run with
live progress; browse verdicts with both orders' reasoning side by side.

Thin: the judge package does the work; this page reads widgets, calls it, renders. Model text
and judge answers are untrusted and rendered as Markdown with HTML disabled.
"""

import streamlit as st
from pydantic import ValidationError

from sidebyside.foundation.enums import RUN_MODES, JudgeMode, JudgmentStatus, Order, Preference
from sidebyside.foundation.errors import UserError
from sidebyside.judge.batch import batch_rows
from sidebyside.judge.browse import judges_of, pair_detail, verdict_rows
from sidebyside.judge.pricing import format_usd
from sidebyside.judge.providers import key_withheld, registry
from sidebyside.judge.service import JudgeRunConfig, estimate, run_judges
from sidebyside.judge.specs import base_url_prefixes
from sidebyside.ui.common import pick_study, require_admin
from sidebyside.ui.db import db_session, get_engine_cached
from sidebyside.ui.errors import show_error
from sidebyside.ui.judge_calibrate import render_calibration
from sidebyside.ui.render import inject_css
from sidebyside.ui.render import render as render_untrusted


def _spec_help() -> str:
    """What each provider accepts and where its key comes from, read from the registry."""
    lines = "\n".join(f"- {line}" for line in registry.spec_help(quote="`"))
    keys = " / ".join(i.api_key_env for i in registry.providers() if i.api_key_env)
    return f"One judge per line:\n\n{lines}\n\nKeys come from {keys} on the server."


require_admin()
st.title("LLM judges")
study = pick_study()
if study is None:
    st.stop()
engine = get_engine_cached()


def _config() -> JudgeRunConfig | None:
    specs = [line.strip() for line in st.session_state.judge_specs.splitlines() if line.strip()]
    try:
        return JudgeRunConfig(
            judges=specs,
            mode=st.session_state.judge_mode,
            reference=st.session_state.judge_reference,
            concurrency=int(st.session_state.judge_concurrency),
            max_cost=st.session_state.judge_budget or None,
            base_url=st.session_state.judge_base_url.strip() or None,
            template=st.session_state.judge_template.strip() or None,
        )
    except ValidationError as exc:
        st.error(f"Check the settings: {exc}")
        return None


with st.form("judge_run"):
    st.text_area("Judges", value="baseline:longest", key="judge_specs", help=_spec_help())
    left, mid, right = st.columns(3)
    left.radio(
        "Mode",
        list(RUN_MODES),
        key="judge_mode",
        horizontal=True,
        help="pairwise: A vs B in both orders; single: 1-5 per criterion, 1-10 overall.",
    )
    left.toggle("Show reference answers", key="judge_reference")
    mid.number_input("Concurrency per provider", 1, 256, 16, key="judge_concurrency")
    mid.number_input("Budget (USD, 0 = none)", 0.0, 10_000.0, 0.0, step=1.0, key="judge_budget")
    right.text_input(
        f"Base URL for {base_url_prefixes()} judges (optional)",
        key="judge_base_url",
        placeholder="http://localhost:8000/v1",
    )
    right.text_input(
        "Prompt template (optional)",
        key="judge_template",
        placeholder="pairwise_v1 or /path/to/my_prompt.txt",
        help="A bundled template name or a template file on the server (see README). Judges "
        "asked with it are stored as JUDGE#LABEL, beside their default-prompt verdicts.",
    )
    b1, b2 = st.columns(2)
    want_estimate = b1.form_submit_button("Estimate cost", icon=":material/calculate:")
    want_run = b2.form_submit_button("Run judges", type="primary", icon=":material/play_arrow:")

if want_estimate or want_run:
    config = _config()
    if config is not None:
        try:  # the API-key rule: a typed base URL never receives the server's key
            for notice in filter(None, map(key_withheld, config.specs())):
                st.warning(notice)
        except UserError:
            pass  # a bad spec is reported by the estimate below
        try:
            rows = estimate(engine, study.id, config)
        except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
            show_error(exc, "estimating the cost")
            rows = None
        if rows is not None:
            st.caption("Estimate (prompt tokens at 3 characters each; nothing sent yet)")
            st.dataframe(
                [
                    {
                        "judge": r.judge,
                        "calls": r.calls,
                        "cached": r.cached,
                        "to send": r.to_send,
                        "prompt tokens": r.input_tokens,
                        "cost (est.)": format_usd(r.cost),
                        "at most": format_usd(r.worst_cost),
                    }
                    for r in rows
                ],
                hide_index=True,
            )
        if rows is not None and want_run:
            bar = st.progress(0.0, text="starting…")

            def on_progress(p) -> None:
                share = p.done / p.total if p.total else 1.0
                bar.progress(
                    share,
                    text=f"{p.done}/{p.total} done · {p.failures} failed · ${p.cost:.4f} spent",
                )

            try:
                summary = run_judges(engine, study.id, config, on_progress=on_progress)
            except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
                show_error(exc, "running the judges")
            else:
                bar.progress(
                    1.0, text=f"finished in {summary.wall_s:.1f} s, ${summary.cost:.4f} spent"
                )
                st.dataframe(
                    [
                        {
                            "judge": j.judge,
                            "a": j.verdicts[Preference.A],
                            "b": j.verdicts[Preference.B],
                            "tie": j.verdicts[Preference.TIE],
                            "inconsistent": j.inconsistent,
                            "unparsed": j.unparsed,
                            "failed": j.errors,
                            "sent": j.sent,
                            "cached": j.cached,
                            "cost": format_usd(j.cost),
                            "wall s": round(j.wall_s, 1),
                        }
                        for j in summary.judges
                    ],
                    hide_index=True,
                )
                for j in summary.judges:
                    if j.stopped:
                        st.error(f"{j.judge} stopped: {j.stopped}")
                    for message in j.error_messages:
                        st.warning(f"{j.judge}: {message}")
                if summary.budget_stopped:
                    st.warning(
                        "Budget reached: run again with a larger budget to finish; "
                        "nothing already judged is sent again."
                    )

with db_session() as session:
    batches = batch_rows(session, study.id)
if batches:
    st.subheader("Batches")
    st.caption(
        "Judge calls sent through the providers' batch APIs (`sidebyside judge ... --batch`). "
        "Run the same command again to collect ended batches; `sidebyside judge-batches "
        "STUDY --cancel` cancels running ones."
    )
    st.dataframe(batches, hide_index=True, width="stretch")

with db_session() as session:
    render_calibration(session, study.id)

st.divider()
st.subheader("Browse verdicts")
with db_session() as session:
    available = judges_of(session, study.id)
if not available:
    st.info("No judgments on this study yet.")
    st.stop()
labels = [f"{judge} ({mode})" for judge, mode in available]
choice = st.selectbox("Judge", labels, key="browse_judge")
judge, mode = available[labels.index(choice)]
only = st.segmented_control(
    "Show",
    ["all", "inconsistent", "no verdict", *Preference],
    default="all",
    key="browse_filter",
)
with db_session() as session:
    rows = verdict_rows(session, study_id=study.id, judge=judge, mode=mode)
if only == "inconsistent":
    rows = [r for r in rows if r["inconsistent"]]
elif only == "no verdict":
    rows = [r for r in rows if r["winner"] is None]
elif only in set(Preference):
    rows = [r for r in rows if r["winner"] == only]
st.caption(f"{len(rows)} pair(s)")
st.dataframe(
    rows,
    hide_index=True,
    column_order=[
        "prompt_id",
        "system_a",
        "system_b",
        "winner_system",
        "inconsistent",
        "judgments",
    ],
)
if not rows:
    st.stop()
pair_labels = [f"{r['prompt_id']}: {r['system_a']} vs {r['system_b']}" for r in rows]
picked = st.selectbox("Pair", pair_labels, key="browse_pair")
with db_session() as session:
    detail = pair_detail(
        session, pair_id=rows[pair_labels.index(picked)]["pair_id"], judge=judge, mode=mode
    )

inject_css()
st.markdown("**Prompt**")
render_untrusted(detail.prompt)
if detail.reference:
    with st.expander("Reference answer"):
        render_untrusted(detail.reference)
col_a, col_b = st.columns(2)
with col_a:
    st.markdown(f"**output a** · {detail.system_a}")
    render_untrusted(detail.output_a)
with col_b:
    st.markdown(f"**output b** · {detail.system_b}")
    render_untrusted(detail.output_b)

if detail.verdict is not None:
    v = detail.verdict
    verdict = {Preference.A: detail.system_a, Preference.B: detail.system_b}.get(
        v.winner, Preference.TIE
    )
    st.success(
        f"Verdict: **{verdict}**" + (" (the two orders disagreed)" if v.inconsistent else "")
    )
else:
    st.warning("No verdict: an order is missing, unparsed or failed.")

orders = (Order.AB, Order.BA) if mode == JudgeMode.PAIRWISE else (Order.A, Order.B)
captions = {
    Order.AB: f"Order ab: Response A = {detail.system_a}",
    Order.BA: f"Order ba: Response A = {detail.system_b}",
    Order.A: f"Scored alone: {detail.system_a}",
    Order.B: f"Scored alone: {detail.system_b}",
}
for col, order in zip(st.columns(2), orders, strict=True):
    with col:
        st.markdown(f"**{captions[order]}**")
        j = detail.judgments.get(order)
        if j is None:
            st.caption("not asked yet")
            continue
        if j.status == JudgmentStatus.OK and mode == JudgeMode.PAIRWISE:
            names = {
                Preference.A: detail.system_a,
                Preference.B: detail.system_b,
                Preference.TIE: Preference.TIE,
            }
            st.markdown(f"said **{j.shown_winner}** → {names.get(j.winner, '?')}")
        elif j.status == JudgmentStatus.OK:
            st.markdown(
                f"overall **{j.scores['overall']}/10** · "
                + ", ".join(f"{k} {s}" for k, s in j.scores["criteria"].items())
            )
        else:
            st.error(f"{j.status}: {j.error}")
        render_untrusted(j.reasoning or "(no reasoning)")
        st.caption(
            f"tokens {j.input_tokens}/{j.output_tokens} · cost {format_usd(j.cost_usd)} · "
            f"latency {j.latency_s or 0:.2f} s · template {j.template_version}"
        )
        with st.expander("Raw answer"):
            st.code(j.raw or "", language=None)
