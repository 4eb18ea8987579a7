"""Read-only views of stored judgments for the Judges page (and scripts): which judges a study
has, one row per judged pair, and one pair with both orders' answers side by side."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlmodel import Session, col, select

from sidebyside.foundation.enums import Order, Preference
from sidebyside.foundation.errors import NotFound
from sidebyside.foundation.models import JudgeVerdict, Judgment, Output, Pair, Prompt, System


def judges_of(session: Session, study_id: int) -> list[tuple[str, str]]:
    """(judge, mode) with judgments or verdicts on the study, sorted."""
    found = set(
        session.exec(
            select(Judgment.judge, Judgment.mode).where(Judgment.study_id == study_id).distinct()
        ).all()
    )
    found |= set(
        session.exec(
            select(JudgeVerdict.judge, JudgeVerdict.mode)
            .where(JudgeVerdict.study_id == study_id)
            .distinct()
        ).all()
    )
    return sorted(found)


def _pair_names(session: Session, study_id: int) -> dict[int, tuple[str, str, str]]:
    """pair id -> (prompt external id, system of output_a, system of output_b)."""
    # .all(): a Result has .keys(), so dict() would treat it as a mapping
    systems = dict(
        session.exec(select(System.id, System.name).where(System.study_id == study_id)).all()
    )
    prompts = dict(
        session.exec(select(Prompt.id, Prompt.external_id).where(Prompt.study_id == study_id)).all()
    )
    outputs = dict(
        session.exec(
            select(Output.id, Output.system_id).join(Prompt).where(Prompt.study_id == study_id)
        ).all()
    )
    return {
        p.id: (
            prompts[p.prompt_id],
            systems[outputs[p.output_a_id]],
            systems[outputs[p.output_b_id]],
        )
        for p in session.exec(select(Pair).where(Pair.study_id == study_id))
    }


def verdict_rows(session: Session, *, study_id: int, judge: str, mode: str) -> list[dict]:
    """One row per pair the judge touched: systems, verdict (if any), both orders' status."""
    names = _pair_names(session, study_id)
    verdicts = {
        v.pair_id: v
        for v in session.exec(
            select(JudgeVerdict).where(
                JudgeVerdict.study_id == study_id,
                JudgeVerdict.judge == judge,
                JudgeVerdict.mode == mode,
            )
        )
    }
    statuses: dict[int, dict[str, str]] = {}
    for pair_id, order, status in session.exec(
        select(Judgment.pair_id, Judgment.order, Judgment.status).where(
            Judgment.study_id == study_id, Judgment.judge == judge, Judgment.mode == mode
        )
    ):
        statuses.setdefault(pair_id, {})[order] = status
    rows = []
    for pair_id in sorted(set(verdicts) | set(statuses)):
        prompt_id, sys_a, sys_b = names[pair_id]
        v = verdicts.get(pair_id)
        winner = v.winner if v else None
        rows.append(
            {
                "pair_id": pair_id,
                "prompt_id": prompt_id,
                "system_a": sys_a,
                "system_b": sys_b,
                "winner": winner,
                "winner_system": {
                    Preference.A: sys_a,
                    Preference.B: sys_b,
                    Preference.TIE: "tie",
                }.get(winner or "", ""),
                "inconsistent": bool(v and v.inconsistent),
                "judgments": ", ".join(
                    f"{o}: {s}" for o, s in sorted(statuses.get(pair_id, {}).items())
                ),
            }
        )
    return rows


@dataclass
class PairDetail:
    prompt: str
    reference: str | None
    system_a: str
    system_b: str
    output_a: str
    output_b: str
    verdict: JudgeVerdict | None
    #: Judgments by order: "ab" / "ba" (pairwise), "a" / "b" (single); absent if never asked.
    judgments: dict[Order, Judgment] = field(default_factory=dict)


def pair_detail(session: Session, *, pair_id: int, judge: str, mode: str) -> PairDetail:
    pair = session.get(Pair, pair_id)
    if pair is None:
        raise NotFound(f"no pair {pair_id}")
    prompt = session.get(Prompt, pair.prompt_id)
    out_a, out_b = session.get(Output, pair.output_a_id), session.get(Output, pair.output_b_id)
    verdict = session.exec(
        select(JudgeVerdict).where(
            JudgeVerdict.pair_id == pair_id, JudgeVerdict.judge == judge, JudgeVerdict.mode == mode
        )
    ).first()
    judgments = {
        j.order: j
        for j in session.exec(
            select(Judgment)
            .where(Judgment.pair_id == pair_id, Judgment.judge == judge, Judgment.mode == mode)
            .order_by(col(Judgment.sample).desc())  # a sampled judge: its first answer shown
        )
    }
    return PairDetail(
        prompt=prompt.text,
        reference=prompt.reference,
        system_a=session.get(System, out_a.system_id).name,
        system_b=session.get(System, out_b.system_id).name,
        output_a=out_a.text,
        output_b=out_b.text,
        verdict=verdict,
        judgments=judgments,
    )
