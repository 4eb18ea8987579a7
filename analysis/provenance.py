"""*What was compared*: each generated system's provenance (model and adapter content hashes,
chat template, engine and library versions, decoding parameters, seed, tokens and latency)
and the eval set's version. Read once from the generation tables; the report, the card and
the exports carry it, and a study whose outputs were imported has only its eval set here."""

from __future__ import annotations

from html import escape
from typing import Any

from pydantic import Field
from sqlalchemy import func
from sqlmodel import Session, select

from sidebyside.analysis.report_rows import ReportModel
from sidebyside.analysis.series_winrates import (
    NO_PAIRS,
    SeriesWinRate,
    series_sources,
    win_rate_cell,
)
from sidebyside.foundation.models import CheckpointSeries, Generation, GenerationSource, System
from sidebyside.foundation.prompt_sets import current_version


class EvalSetVersion(ReportModel):
    """The prompt set the figures were computed on."""

    version: int = Field(description="1, or the --new-version number it was started as.")
    sha256: str = Field(description="sha256 of the study's (prompt id, text sha256) pairs.")
    n_prompts: int


class ModelProvenance(ReportModel):
    """How one system's outputs were generated (``sidebyside generate``)."""

    system: str
    source: str = Field(description="Model path, hub id or openai:MODEL@URL.")
    adapter: str | None
    engine: str
    model_hash: str | None = Field(description="sha256 of config and weights, or server id.")
    adapter_hash: str | None
    template_hash: str | None = Field(description="sha256 of the chat template; null: plain.")
    versions: dict[str, str]
    params: dict[str, Any] = Field(description="Decoding parameters and engine settings.")
    seed: int
    n_outputs: int = Field(description="Answers stored for this source.")
    tokens_in: int | None
    tokens_out: int | None
    mean_latency_s: float | None


class SeriesStep(ReportModel):
    """One checkpoint of a series: perplexities with their bootstrap intervals."""

    step: str
    held_out: float | None
    held_out_low: float | None
    held_out_high: float | None
    train: float | None
    train_low: float | None
    train_high: float | None
    win_rates: list[SeriesWinRate] = Field(
        default_factory=list,
        description="Each source's win rate of this checkpoint against the base (the report's "
        "pairwise win rates, read when the report is built); empty without such systems.",
    )


class CheckpointSeriesSummary(ReportModel):
    """The newest ``sidebyside series --study`` run: which checkpoint, and when it began to
    overfit (held-out perplexity up with a paired interval above 0, training down)."""

    best: str | None
    overfit_from: str | None
    notes: list[str]
    steps: list[SeriesStep]
    base: str | None = Field(
        default=None, description="The system the steps' win rates are against."
    )


class WhatWasCompared(ReportModel):
    """Both models' provenance and the eval set's version, at the top of card and report."""

    eval_set: EvalSetVersion | None
    models: list[ModelProvenance]
    series: CheckpointSeriesSummary | None = Field(
        default=None, description="The newest checkpoint series kept with the study."
    )


def load_series(session: Session, study_id: int) -> CheckpointSeriesSummary | None:
    row = session.exec(
        select(CheckpointSeries)
        .where(CheckpointSeries.study_id == study_id)
        .order_by(CheckpointSeries.id.desc())  # type: ignore[union-attr]
    ).first()
    if row is None:
        return None
    steps = []
    for p in row.points:
        h, t = p.get("held_out") or {}, p.get("train") or {}
        steps.append(
            SeriesStep(
                step=p["step"],
                held_out=h.get("perplexity"),
                held_out_low=h.get("ci_low"),
                held_out_high=h.get("ci_high"),
                train=t.get("perplexity"),
                train_low=t.get("ci_low"),
                train_high=t.get("ci_high"),
            )
        )
    # ``series --base`` is kept in each point (no column of its own); else the card's base.
    base = next((p["base"] for p in row.points if p.get("base")), None)
    return CheckpointSeriesSummary(
        best=row.best, overfit_from=row.overfit_from, notes=list(row.notes), steps=steps, base=base
    )


def load_compared(session: Session, study_id: int) -> WhatWasCompared | None:
    """The study's provenance: the newest generation source of each system still in the
    study, with totals over the answers stored under its fingerprint (answers shared by two
    systems with the same source count for both)."""
    eval_set = current_version(session, study_id)
    systems = set(session.exec(select(System.name).where(System.study_id == study_id)).all())
    rows = session.exec(
        select(GenerationSource)
        .where(GenerationSource.study_id == study_id)
        .order_by(GenerationSource.id)
    ).all()
    newest = {r.system: r for r in rows if r.system in systems}
    models = []
    for system in sorted(newest):
        row = newest[system]
        n, t_in, t_out, latency = session.exec(
            select(
                func.count(Generation.id),
                func.sum(Generation.tokens_in),
                func.sum(Generation.tokens_out),
                func.avg(Generation.latency_s),
            )
            .join(GenerationSource, GenerationSource.id == Generation.source_id)
            .where(
                Generation.study_id == study_id,
                GenerationSource.fingerprint == row.fingerprint,
            )
        ).one()
        models.append(
            ModelProvenance(
                system=system,
                source=row.source,
                adapter=row.adapter,
                engine=row.engine,
                model_hash=row.model_hash,
                adapter_hash=row.adapter_hash,
                template_hash=row.template_hash,
                versions=dict(row.versions),
                params=dict(row.params),
                seed=row.seed,
                n_outputs=int(n or 0),
                tokens_in=None if t_in is None else int(t_in),
                tokens_out=None if t_out is None else int(t_out),
                mean_latency_s=None if latency is None else float(latency),
            )
        )
    series = load_series(session, study_id)
    if eval_set is None and not models and series is None:
        return None
    return WhatWasCompared(
        eval_set=EvalSetVersion(**eval_set) if eval_set else None, models=models, series=series
    )


def _short(value: str | None) -> str:
    return "—" if not value else (value[:12] if len(value) == 64 else value)


def model_line(m: ModelProvenance) -> str:
    """One system's provenance in a sentence."""
    p = m.params
    decoding = (
        "greedy" if not p.get("temperature") else f"T={p['temperature']:g}, top-p={p['top_p']:g}"
    )
    parts = [
        f"{m.system}: {m.source}" + (f" + adapter {m.adapter}" if m.adapter else ""),
        f"model {_short(m.model_hash)}"
        + (f", adapter {_short(m.adapter_hash)}" if m.adapter else ""),
        f"chat template {_short(m.template_hash)}" if m.template_hash else "plain-text prompts",
        f"{m.engine} " + ", ".join(f"{k} {v}" for k, v in sorted(m.versions.items())),
        f"{decoding}, max {p.get('max_new_tokens')} new tokens, seed {m.seed}"
        + (f", stop {p['stop']}" if p.get("stop") else ""),
        f"{m.n_outputs} outputs, {m.tokens_in or 0} tokens in, {m.tokens_out or 0} out"
        + (f", {m.mean_latency_s:.3g} s mean latency" if m.mean_latency_s else ""),
    ]
    return "; ".join(parts)


def eval_set_line(e: EvalSetVersion | None) -> str:
    if e is None:
        return "Eval set: no prompts yet."
    return f"Eval set: version {e.version}, {e.n_prompts} prompts, sha256 {_short(e.sha256)}."


def _ppl(v: float | None, low: float | None, high: float | None) -> str:
    if v is None:
        return "—"
    return f"{v:.3g}" + (
        f" [{low:.3g}, {high:.3g}]" if low is not None and high is not None else ""
    )


def series_rows(s: CheckpointSeriesSummary) -> list[list[str]]:
    """(step, held-out, training, flag, then each source's win rate vs base) cells."""
    sources = series_sources(s.steps)
    rows = []
    for st in s.steps:
        by_source = {w.source: win_rate_cell(w) for w in st.win_rates}
        flags = (["best"] if st.step == s.best else []) + (
            ["overfitting from here"] if st.step == s.overfit_from else []
        )
        rows.append(
            [
                st.step,
                _ppl(st.held_out, st.held_out_low, st.held_out_high),
                _ppl(st.train, st.train_low, st.train_high),
                ", ".join(flags),
                *(by_source.get(src, NO_PAIRS) for src in sources),
            ]
        )
    return rows


SERIES_HEADERS = ["checkpoint", "held-out perplexity [CI]", "training perplexity [CI]", ""]


def series_headers(s: CheckpointSeriesSummary) -> list[str]:
    """The series table's headers: a win-rate column per source where it has them."""
    return SERIES_HEADERS + [f"{src} win rate vs {s.base} [CI]" for src in series_sources(s.steps)]


def series_notes(s: CheckpointSeriesSummary) -> list[str]:
    """The series' notes, and what its win-rate columns are where it has them."""
    if not series_sources(s.steps):
        return list(s.notes)
    return [
        *s.notes,
        f"Win rates: each checkpoint (a system of the study) against {s.base}, the report's "
        "pairwise win rate (ties half) with its interval, from the ratings and verdicts stored "
        "when the report was built.",
    ]


def compared_md(compared: WhatWasCompared | None) -> list[str]:
    """*What was compared* as Markdown lines (a level-2 section); nothing without it."""
    if compared is None:
        return []
    out = ["## What was compared", "", eval_set_line(compared.eval_set), ""]
    out += [f"- {model_line(m)}" for m in compared.models]
    if not compared.models:
        out.append("- Outputs were imported: no generation provenance is stored.")
    out.append("")
    if compared.series is not None:
        out += ["### Checkpoint series", ""]
        headers = series_headers(compared.series)
        out.append("| " + " | ".join(headers) + " |")
        out.append("|" + "---|" * len(headers))
        for row in series_rows(compared.series):
            out.append("| " + " | ".join(c.replace("|", "\\|") for c in row) + " |")
        out += ["", *(f"- {n}" for n in series_notes(compared.series)), ""]
    return out


def compared_html(compared: WhatWasCompared | None) -> str:
    """*What was compared* as an HTML fragment; model sources are escaped."""
    if compared is None:
        return ""
    items = "".join(f"<li>{escape(model_line(m))}</li>" for m in compared.models) or (
        "<li>Outputs were imported: no generation provenance is stored.</li>"
    )
    html = (
        f"<h2>What was compared</h2><p>{escape(eval_set_line(compared.eval_set))}</p>"
        f"<ul>{items}</ul>"
    )
    if compared.series is not None:
        head = "".join(f"<th>{escape(h)}</th>" for h in series_headers(compared.series))
        body = "".join(
            "<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>"
            for row in series_rows(compared.series)
        )
        notes = "".join(f"<li>{escape(n)}</li>" for n in series_notes(compared.series))
        html += (
            f"<h3>Checkpoint series</h3><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table><ul class='muted'>{notes}</ul>"
        )
    return html
