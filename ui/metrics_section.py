"""The automatic-metrics part of the Results page: perplexity (model x text set, change against
the first model with paired bootstrap CIs, a form that launches a run with a progress bar) and
BLEU / ROUGE / EM / F1 per system. torch is imported only when a run is launched."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from sidebyside.ui.db import db_session
from sidebyside.ui.errors import show_error


def _pct(x: float | None) -> str:
    return "" if x is None or not math.isfinite(x) else f"{100 * x:+.1f}%"


def _num(x: float | None, fmt: str = ".3f") -> str:
    return "" if x is None or not math.isfinite(x) else format(x, fmt)


def perplexity_frame(rows: list[dict[str, Any]]) -> list[dict[str, str | int]]:
    """Display rows of ``comparison_rows``: the change is against the first model."""
    out = []
    for r in rows:
        change = _pct(r["rel_change"])
        if change and r["compared_on"] == "bits_per_byte":
            change += " (bits/byte: other tokenizer)"
        out.append(
            {
                "model": r["model"],
                "text set": r["texts"],
                "perplexity": _num(r["perplexity"]),
                "95% CI": f"{_num(r['ci_low'])} – {_num(r['ci_high'])}",
                "bits/byte": _num(r["bits_per_byte"], ".4f"),
                "tokens": r["n_tokens"],
                "vs first model": change,
                "change 95% CI": (
                    f"{_pct(r['rel_ci_low'])} – {_pct(r['rel_ci_high'])}" if change else ""
                ),
            }
        )
    return out


@st.cache_data(show_spinner="Bootstrapping …", max_entries=32)
def _comparison(database_url: str, run_ids: tuple[int, ...]) -> list[dict[str, Any]]:
    """The table rows of these stored runs (cached: bootstraps over many texts take a while;
    runs are immutable, so their ids and the database are the whole key)."""
    from sidebyside.foundation.models import PerplexityRun
    from sidebyside.metrics.ppl_stats import comparison_rows
    from sidebyside.metrics.store import runs_scores

    with db_session() as session:
        runs = [session.get(PerplexityRun, run_id) for run_id in run_ids]
    return comparison_rows(runs_scores([r for r in runs if r is not None]), n_boot=1000)


def _perplexity_table(study_id: int) -> None:
    from sidebyside.metrics.store import latest_perplexity_runs

    with db_session() as session:
        runs = latest_perplexity_runs(session, study_id=study_id)
    if not runs:
        st.info(
            "No perplexity run yet: launch one below or with `sidebyside perplexity --study ...`."
        )
        return
    from sidebyside.foundation.settings import get_settings

    rows = _comparison(get_settings().database_url, tuple(run.id for run in runs))
    st.dataframe(perplexity_frame(rows), hide_index=True, width="stretch")
    st.caption(
        "Corpus perplexity exp(total NLL / scored tokens) with a 95% bootstrap CI over texts. "
        "'vs first model' is the relative change against the first model on the same texts, "
        "with a paired bootstrap CI: down on domain text is the goal, up on general text "
        "signals forgetting."
    )


def _run_form(study_id: int) -> None:
    with st.form("perplexity_run"):
        model = st.text_input("Model (local path or hub id)")
        upload = st.file_uploader("Texts (.txt or .jsonl)", type=["txt", "jsonl"])
        server_path = st.text_input("…or a texts file on the server")
        paragraphs = st.checkbox("Blank-line separated paragraphs (.txt)")
        cols = st.columns(4)
        max_length = cols[0].number_input("Max length (0 = model's)", min_value=0, value=0)
        stride = cols[1].number_input("Stride (0 = max length)", min_value=0, value=0)
        device = cols[2].selectbox("Device", ["auto", "cpu", "cuda"])
        dtype = cols[3].selectbox("Dtype", ["auto", "float32", "bfloat16", "float16"])
        submitted = st.form_submit_button("Run perplexity")
    if not submitted:
        return
    from sidebyside.metrics.ppl_stats import read_texts

    if not model.strip():
        st.error("Enter a model path or hub id.")
        return
    try:
        if upload is not None:
            suffix = Path(upload.name).suffix or ".txt"
            with tempfile.NamedTemporaryFile(suffix=suffix, delete=False) as tmp:
                tmp.write(upload.getvalue())
            texts, name = read_texts(tmp.name, paragraphs=paragraphs), upload.name
            Path(tmp.name).unlink(missing_ok=True)
        elif server_path.strip():
            path = Path(server_path.strip()).expanduser()
            texts, name = read_texts(path, paragraphs=paragraphs), path.name
        else:
            st.error("Upload a texts file or give its path on the server.")
            return
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
        show_error(exc, "reading the texts")
        return
    _launch(
        study_id,
        model.strip(),
        texts,
        name,
        int(max_length) or None,
        int(stride) or None,
        device,
        dtype,
    )


def _launch(study_id, model, texts, name, max_length, stride, device, dtype) -> None:
    import warnings

    from sidebyside.metrics.perplexity import score_texts  # torch is imported from here on
    from sidebyside.metrics.ppl_stats import texts_sha256
    from sidebyside.metrics.store import save_perplexity

    bar = st.progress(0.0, text=f"Loading {model} …")

    def progress(done: int, total: int) -> None:
        bar.progress(done / total if total else 1.0, text=f"{done:,} / {total:,} tokens")

    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = score_texts(
                model,
                texts,
                texts_name=name,
                device=device,
                dtype=dtype,
                max_length=max_length,
                stride=stride,
                progress=progress,
            )
    except Exception as exc:  # noqa: BLE001 - a user error's message, else an error id
        bar.empty()
        show_error(exc, "scoring the texts", prefix="The run failed: ")
        return
    for w in caught:
        st.warning(str(w.message))
    with db_session() as session:
        save_perplexity(session, study_id=study_id, scores=result, texts_hash=texts_sha256(texts))
    bar.progress(1.0, text="Done")
    st.success(
        f"{model} on {name}: perplexity {result.perplexity:.3f} over {result.total_tokens:,} "
        f"tokens ({result.tokens_per_second:,.0f} tokens/s)."
    )


def _metrics_table(study_id: int) -> None:
    from sidebyside.metrics.store import metric_results, metric_table

    with db_session() as session:
        rows = metric_results(session, study_id=study_id)
    if rows:
        st.dataframe(metric_table(rows), hide_index=True, width="stretch")
        st.caption(
            "Text metrics are on a 0–100 scale, label metrics on 0–1; 95% bootstrap CIs "
            "over prompts. METEOR (NLTK's, with WordNet synonyms) is included when a WordNet "
            "database is installed (Debian: wordnet-base; or `python -m nltk.downloader wordnet`)."
        )
    else:
        st.info("No automatic metrics yet (they need prompts with a reference).")
    with st.form("metrics_run"):
        labels = st.checkbox("Outputs are class labels (accuracy, macro/weighted F1)")
        if st.form_submit_button("Compute metrics"):
            from sidebyside.foundation.models import Study
            from sidebyside.metrics.store import compute_study_metrics

            with db_session() as session:
                study = session.get(Study, study_id)
                try:
                    compute_study_metrics(session, study=study, labels=labels)
                except Exception as exc:  # noqa: BLE001 - a user error's message, else an id
                    show_error(exc, "computing the metrics")
                    return
            st.rerun()


def render_metrics_section(study_id: int) -> None:
    """Perplexity and automatic metrics of one study (call inside a tab of the Results page)."""
    st.subheader("Perplexity")
    table = st.container()  # filled after the form, so a run just finished is in it
    with st.expander("Launch a perplexity run"):
        _run_form(study_id)
    with table:
        _perplexity_table(study_id)
    st.subheader("Automatic metrics against references")
    _metrics_table(study_id)
