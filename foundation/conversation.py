"""The history of a conversation's pair: what came before the turn being judged.

A conversation's turn is a prompt row (``Prompt.conversation``, ``Prompt.turn``); the pair for
turn t compares two systems' answers at t, and each of them answered the earlier turns in its
*own* way (MT-Bench's setup). This module reads, for pairs, the earlier user turns and each
side's own earlier answers, in the pair's canonical sides (a = ``output_a``'s system). The
annotator's screen, the judges, the report and the exports all read histories from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy.orm import aliased
from sqlmodel import Session, select

from sidebyside.foundation.models import Output, Pair, Prompt

__all__ = ["PairHistory", "Turn", "pair_histories"]


@dataclass(frozen=True)
class Turn:
    """One earlier turn: the user's message and each side's own answer to it."""

    user: str
    a: str
    b: str


@dataclass(frozen=True)
class PairHistory:
    """Where a pair sits in its conversation, and what came before (canonical sides)."""

    conversation: str
    #: The judged turn (1-based) and how many turns the conversation has.
    turn: int
    turns: int
    system_message: str | None
    earlier: tuple[Turn, ...]

    @property
    def has_context(self) -> bool:
        """Whether anything precedes the judged user message (earlier turns, a system
        message): a turn-1 pair without a system message is an ordinary single-turn pair."""
        return bool(self.earlier) or bool(self.system_message)

    def messages(self, side: str, user: str, answer: str | None = None) -> list[dict[str, str]]:
        """The conversation as OpenAI chat messages as ``side`` ("a" | "b") lived it: the
        system message, every earlier turn with that side's own answers, the judged user
        message and, if given, the answer at it.

        >>> h = PairHistory("c", 2, 2, None, (Turn("q1", "a1", "b1"),))
        >>> [m["content"] for m in h.messages("b", "q2", "b2")]
        ['q1', 'b1', 'q2', 'b2']
        """
        if side not in ("a", "b"):
            raise ValueError(f"side must be 'a' or 'b', got {side!r}")
        out = [{"role": "system", "content": self.system_message}] if self.system_message else []
        for turn in self.earlier:
            out.append({"role": "user", "content": turn.user})
            out.append({"role": "assistant", "content": turn.a if side == "a" else turn.b})
        out.append({"role": "user", "content": user})
        if answer is not None:
            out.append({"role": "assistant", "content": answer})
        return out


def pair_histories(
    session: Session, *, study_id: int, pair_ids: Iterable[int] | None = None
) -> dict[int, PairHistory]:
    """{pair id: history} for the study's pairs that are conversation turns (all of them, or
    those in ``pair_ids``); single-turn pairs are absent. Three reads, whatever the count."""
    out_a, out_b = aliased(Output), aliased(Output)
    query = (
        select(
            Pair.id,
            Prompt.conversation,
            Prompt.turn,
            Prompt.system_message,
            out_a.system_id,
            out_b.system_id,
        )
        .join(Prompt, Pair.prompt_id == Prompt.id)
        .join(out_a, Pair.output_a_id == out_a.id)
        .join(out_b, Pair.output_b_id == out_b.id)
        .where(Pair.study_id == study_id, Prompt.conversation.is_not(None))
    )
    if pair_ids is not None:
        query = query.where(Pair.id.in_(list(pair_ids)))
    pairs = session.exec(query).all()
    if not pairs:
        return {}
    conversations = {row[1] for row in pairs}
    prompts = session.exec(
        select(Prompt.id, Prompt.conversation, Prompt.turn, Prompt.text).where(
            Prompt.study_id == study_id, Prompt.conversation.in_(conversations)
        )
    ).all()
    turn_of = {(conv, turn): (pid, text) for pid, conv, turn, text in prompts}
    count: dict[str, int] = {}
    for _, conv, turn, _ in prompts:
        count[conv] = max(count.get(conv, 0), turn or 0)
    answers = {
        (pid, sys_id): text
        for pid, sys_id, text in session.exec(
            select(Output.prompt_id, Output.system_id, Output.text).where(
                Output.prompt_id.in_([p[0] for p in prompts])
            )
        ).all()
    }
    histories = {}
    for pair_id, conv, turn, system, sys_a, sys_b in pairs:
        earlier = []
        for k in range(1, turn):
            pid, text = turn_of.get((conv, k), (None, ""))
            # Every system answers every turn (the import checks it); "" if one was removed.
            earlier.append(Turn(text, answers.get((pid, sys_a), ""), answers.get((pid, sys_b), "")))
        histories[pair_id] = PairHistory(conv, turn, count[conv], system, tuple(earlier))
    return histories


def study_conversations(
    session: Session, *, study_id: int
) -> dict[str, tuple[list[tuple[str, str | None]], str | None, str | None]]:
    """{conversation: ([(user message, reference) per turn], system message, category)} of
    the conversations a study holds, for an import of more answers without the prompts."""
    rows = session.exec(
        select(
            Prompt.conversation, Prompt.turn, Prompt.text, Prompt.reference,
            Prompt.system_message, Prompt.category,
        )
        .where(Prompt.study_id == study_id, Prompt.conversation.is_not(None))
        .order_by(Prompt.conversation, Prompt.turn)
    ).all()  # fmt: skip
    out: dict[str, tuple[list[tuple[str, str | None]], str | None, str | None]] = {}
    for conv, _turn, text, ref, system, category in rows:
        out.setdefault(conv, ([], system, category))[0].append((text, ref))
    return out
