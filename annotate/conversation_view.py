"""The blind history of a conversation's pair, as one annotator sees it.

``foundation.conversation`` gives each pair's earlier turns in canonical sides; here they are
put on the sides this annotator's assignment shows (``swapped``), so the left column holds
Response A's own earlier answers and the right column Response B's. Text only: no system
name, no id, reaches the page.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import Session

from sidebyside.foundation.conversation import pair_histories
from sidebyside.foundation.models import Assignment


@dataclass(frozen=True)
class BlindTurn:
    """An earlier turn: the user's message, and the answers shown left (A) and right (B)."""

    user: str
    left: str
    right: str


@dataclass(frozen=True)
class BlindHistory:
    turn: int
    turns: int
    system_message: str | None
    earlier: tuple[BlindTurn, ...]


def blind_history(session: Session, assignment: Assignment) -> BlindHistory | None:
    """The history of the assignment's pair as shown (None for a single-turn pair)."""
    found = pair_histories(
        session, study_id=assignment.study_id, pair_ids=[assignment.pair_id]
    ).get(assignment.pair_id)
    if found is None:
        return None
    earlier = tuple(
        BlindTurn(t.user, t.b, t.a) if assignment.swapped else BlindTurn(t.user, t.a, t.b)
        for t in found.earlier
    )
    return BlindHistory(found.turn, found.turns, found.system_message, earlier)
