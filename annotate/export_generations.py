"""The ``generations`` export: one row per generated output of a study with everything that
produced it (model and adapter hashes, chat template, engine and library versions, decoding
parameters, seed), its tokens and latency, and the eval set's version."""

from __future__ import annotations

import pandas as pd
from sqlmodel import Session, select

from sidebyside.analysis.provenance import load_compared
from sidebyside.foundation.models import Generation, GenerationSource, Study, System

COLUMNS = [
    "prompt_id", "system", "output", "tokens_in", "tokens_out", "latency_s", "finish_reason",
    "source", "adapter", "engine", "model_hash", "adapter_hash", "template_hash", "versions",
    "params", "seed", "eval_set_version", "eval_set_sha256",
]  # fmt: skip


def generations_frame(session: Session, study: Study) -> pd.DataFrame:
    """Every stored answer of the newest generation source of each system in the study."""
    compared = load_compared(session, study.id)
    eval_set = compared.eval_set if compared else None
    systems = set(session.exec(select(System.name).where(System.study_id == study.id)).all())
    sources = session.exec(
        select(GenerationSource)
        .where(GenerationSource.study_id == study.id)
        .order_by(GenerationSource.id)
    ).all()
    newest = {s.system: s for s in sources if s.system in systems}
    by_fp: dict[str, list[int]] = {}
    for s in sources:
        by_fp.setdefault(s.fingerprint, []).append(s.id)
    rows = []
    for system in sorted(newest):
        src = newest[system]
        gens = session.exec(
            select(Generation)
            .where(
                Generation.study_id == study.id,
                Generation.source_id.in_(by_fp[src.fingerprint]),  # type: ignore[union-attr]
            )
            .order_by(Generation.id)
        ).all()
        for g in gens:
            rows.append(
                [
                    g.prompt_external_id, system, g.text, g.tokens_in, g.tokens_out,
                    g.latency_s, g.finish_reason, src.source, src.adapter, src.engine,
                    src.model_hash, src.adapter_hash, src.template_hash, dict(src.versions),
                    dict(src.params), src.seed, eval_set.version if eval_set else None,
                    eval_set.sha256 if eval_set else None,
                ]
            )  # fmt: skip
    return pd.DataFrame(rows, columns=COLUMNS)
