"""Who wins at which turn of a conversation: win rates, agreement and judge calibration per
turn (MT-Bench reports turn 1 and turn 2 apart: turn 2 is where fine-tunes most often break).

A conversation's turn t is its own prompt (``Prompt.turn``); the overall figures of the report
pool every turn, and this section splits the same votes by turn. Each turn's bootstrap
resamples that turn's prompts. The overall win rates keep treating the turns of one
conversation as separate prompts (the report's one prompt-clustered bootstrap); turns of one
question are correlated, so its interval is somewhat narrower than a conversation-clustered
one would be (docs/report.md says so).
"""

from __future__ import annotations

import re
from typing import Any

import pandas as pd
from pydantic import Field
from sqlalchemy import select
from sqlmodel import Session

from sidebyside.analysis import agreement as ag
from sidebyside.analysis import calibration as cal
from sidebyside.analysis import columns as col
from sidebyside.analysis import winrates as wr
from sidebyside.analysis.card import win_rate_row
from sidebyside.analysis.report_rows import CardRow, ReportModel, WinRate
from sidebyside.analysis.small_samples import overlap_cell, too_few_prompts
from sidebyside.foundation.models import Prompt


class TurnVotes(ReportModel):
    """One source's votes (the humans, or one judge) at one turn."""

    n: int = Field(description="Votes at this turn.")
    win_rates: list[WinRate] | None = Field(description="As the overall rows, this turn only.")
    agreement_with_majority: float | None = Field(
        default=None, description="Judges: agreement with the human majority at this turn."
    )
    n_with_humans: int = Field(default=0, description="Judges: pairs with human votes.")
    position_consistency: float | None = Field(
        default=None, description="Judges: share of pairs whose two orders agreed."
    )
    prefers_longer_rate: float | None = Field(
        default=None, description="How often the longer answer won, decisive votes only."
    )
    krippendorff_alpha: float | None = Field(
        default=None,
        description="Humans: Krippendorff's alpha (nominal) of the preference at this turn, "
        "over pairs rated at least twice.",
    )
    percent_agreement: float | None = Field(
        default=None, description="Humans: share of agreeing rater pairs at this turn."
    )
    n_overlap: int = Field(
        default=0, description="Humans: pairs rated at least twice at this turn (alpha's n)."
    )


class TurnSection(ReportModel):
    """The figures of one turn of the study's conversations."""

    turn: int = Field(description="1-based turn of the conversations.")
    n_pairs: int
    n_prompts: int = Field(description="Conversations with a pair at this turn.")
    human: TurnVotes | None = Field(description="Null without human ratings at this turn.")
    judges: dict[str, TurnVotes] = Field(description="Keyed by judge, in study order.")


def load_turns(session: Session, study_id: int) -> dict[int, int]:
    """{prompt database id: turn} of the study's conversation turns (empty: single-turn)."""
    rows = session.execute(
        select(Prompt.id, Prompt.turn).where(Prompt.study_id == study_id, Prompt.turn.is_not(None))
    ).all()
    return {int(pid): int(turn) for pid, turn in rows}


def _votes(
    part: pd.DataFrame, order: list[str], n_boot: int, seed: int, conf: float
) -> list[dict[str, Any]] | None:
    if part.empty:
        return None
    return wr.win_rates(part, systems=order, n_boot=n_boot, seed=seed, confidence=conf)


def by_turn(
    verdicts: pd.DataFrame,
    turns: dict[int, int],
    pairs_per_turn: dict[int, tuple[int, int]],
    judges: list[str],
    *,
    systems: list[str],
    n_boot: int = 0,
    seed: int = 0,
    confidence: float = 0.95,
) -> list[dict[str, Any]] | None:
    """One section per turn (see ``TurnSection``), or None for a study without conversations.

    ``verdicts``: the verdict frame; ``turns``: {prompt id: turn}; ``pairs_per_turn``:
    {turn: (pairs, prompts)}."""
    if not turns:
        return None
    turn_of = verdicts[col.PROMPT_ID].map(turns)
    human = verdicts[col.SOURCE] == "human"
    sections = []
    for turn in sorted(pairs_per_turn):
        at = turn_of == turn
        people = verdicts[human & at]
        section: dict[str, Any] = {
            "turn": turn,
            "n_pairs": pairs_per_turn[turn][0],
            "n_prompts": pairs_per_turn[turn][1],
            "human": None,
            "judges": {},
        }
        if len(people):
            counts, domain = ag.value_counts(
                people[col.PAIR_ID], people[col.PREFERENCE], domain=ag.PREFERENCE_DOMAIN
            )
            section["human"] = {
                "n": int(len(people)),
                "win_rates": _votes(people, systems, n_boot, seed, confidence),
                "prefers_longer_rate": cal.prefers_longer_rate(people)[0],
                "krippendorff_alpha": ag.krippendorff_alpha(counts, domain, "nominal"),
                "percent_agreement": ag.percent_agreement(counts),
                "n_overlap": int((counts.sum(axis=1) >= 2).sum()),
            }
        for key in judges:
            part = verdicts[(verdicts[col.JUDGE] == key) & at & ~human]
            if part.empty:
                continue
            agree = cal.agreement_with_majority(part, people)
            section["judges"][key] = {
                "n": int(len(part)),
                "win_rates": _votes(part, systems, n_boot, seed, confidence),
                "agreement_with_majority": agree["agreement_with_majority"],
                "n_with_humans": agree["n_with_humans"],
                "position_consistency": cal.position_consistency(part)[0],
                "prefers_longer_rate": cal.prefers_longer_rate(part)[0],
            }
        sections.append(section)
    return sections


def pairs_per_turn(pairs: pd.DataFrame, turns: dict[int, int]) -> dict[int, tuple[int, int]]:
    """{turn: (pairs, prompts)} from the pairs frame (``analysis.verdicts.load_pairs``)."""
    if not turns or pairs.empty:
        return {}
    turn_of = pairs[col.PROMPT_ID].map(turns)
    out = {}
    for turn in sorted(turn_of.dropna().unique()):
        part = pairs[turn_of == turn]
        out[int(turn)] = (int(len(part)), int(part[col.PROMPT_ID].nunique()))
    return out


# --- cells shared by the Markdown and HTML reports ---------------------------------------

TURN_HEADERS = [
    "turn",
    "source",
    "A",
    "B",
    "votes",
    "win rate A",
    "low",
    "high",
    "agreement with humans",
    "position consistency",
    "alpha (humans)",
]
TURN_NOTE = (
    "Per turn of the conversations (MT-Bench reports turn 1 and turn 2 apart): the win rate "
    "of A (ties = ½) with its 95% interval (bootstrap over that turn's prompts, else Wilson); "
    "for judges, agreement with the human majority and the share of pairs whose two orders "
    "agreed; for humans, Krippendorff's alpha of the preference, at that turn. The sections "
    "above pool every turn."
)


def turn_cells(sections: list[TurnSection] | None) -> list[list[Any]]:
    """One row per turn, source and compared system pair."""
    rows: list[list[Any]] = []
    for s in sections or []:
        sources = ([("humans", s.human)] if s.human else []) + list(s.judges.items())
        for name, votes in sources:
            # a judge's agreement rests on the pairs it shares with the humans, the humans'
            # alpha on the pairs rated twice; a win rate on its prompts (``small_samples``)
            agree = votes.agreement_with_majority
            if votes.n_with_humans:
                agree = overlap_cell(agree, votes.n_with_humans)
            alpha = (
                overlap_cell(votes.krippendorff_alpha, votes.n_overlap)
                if s.human is votes
                else None
            )
            for r in votes.win_rates or []:
                low, high, _ = wr.honest_ci(r.model_dump())
                few = too_few_prompts(r.n_prompts)
                rows.append(
                    [
                        s.turn,
                        name,
                        r.system_a,
                        r.system_b,
                        r.n,
                        few or r.win_rate_a,
                        few or low,
                        few or high,
                        agree,
                        votes.position_consistency,
                        alpha,
                    ]
                )
    return rows


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("_") or "x"  # as the card slugs


def card_turn_rows(
    sections: list[TurnSection] | None, base: str | None, others: list[str]
) -> list[CardRow]:
    """The evaluation card's win-rate rows at each turn (``human.win_rate.turn2``, ...), for a
    study whose conversations have several turns: the pooled rows stay as they are."""
    if base is None or not sections or len(sections) < 2:
        return []
    rows: list[CardRow] = []
    for s in sections:
        sources = [("judge", f"judge {k}", f"judge.{_slug(k)}", v) for k, v in s.judges.items()]
        if s.human is not None:
            sources.insert(0, ("human", "human", "human", s.human))
        for layer, label, key, votes in sources:
            for system in others:
                row = win_rate_row(
                    layer,
                    f"{key}.win_rate.turn{s.turn}",
                    f"{label}: win rate vs base at turn {s.turn}",
                    votes.win_rates,
                    base,
                    system,
                )
                rows += [row] if row else []
    return rows
