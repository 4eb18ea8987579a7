"""Multi-turn generation: each model answers a conversation turn by turn, turn t after its
*own* answers to the earlier turns (MT-Bench's setup).

Turn t's messages are the system message, every earlier user turn followed by this model's
own answer to it, then user turn t; its cache key is over all of them, so an earlier answer
that changes makes every later turn a new generation, and a rerun finds each turn stored by
walking the chain from turn 1. What can be sent at once is one turn of every unfinished
conversation (a round); the next round is built from the answers of the last.

The conversation files are parsed by the CLI (``annotate.conversations``, one parser for
``import`` and ``generate``) and handed over as ``ConversationItem``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sidebyside.generate.engines.base import Request, Result
from sidebyside.generate.params import generation_key
from sidebyside.generate.prompts import Message

__all__ = ["ConversationItem", "ConversationRounds", "Walk", "turn_messages", "walk"]

#: keys -> {key: answer text} of the keys that have an answer.
Lookup = Callable[[list[str]], dict[str, str]]


@dataclass(frozen=True)
class ConversationItem:
    """One conversation of the prompt file: its user turns and each turn's prompt id."""

    conversation: str
    turns: tuple[str, ...]
    turn_ids: tuple[str, ...]
    system: str | None = None

    def __post_init__(self) -> None:
        if not self.turns or len(self.turns) != len(self.turn_ids):
            raise ValueError("a conversation has at least one turn and one prompt id per turn")


def turn_messages(item: ConversationItem, answers: Sequence[str]) -> tuple[Message, ...]:
    """The messages of the turn after ``answers`` (the model's own earlier answers).

    >>> c = ConversationItem("81", ("q1", "q2"), ("81#1", "81#2"), "Be brief.")
    >>> [m["role"] + ":" + m["content"] for m in turn_messages(c, ["a1"])]
    ['system:Be brief.', 'user:q1', 'assistant:a1', 'user:q2']
    """
    if len(answers) >= len(item.turns):
        raise ValueError(f"conversation {item.conversation!r} has {len(item.turns)} turn(s)")
    out: list[Message] = [{"role": "system", "content": item.system}] if item.system else []
    for user, answer in zip(item.turns, answers, strict=False):
        out += [{"role": "user", "content": user}, {"role": "assistant", "content": answer}]
    out.append({"role": "user", "content": item.turns[len(answers)]})
    return tuple(out)


@dataclass
class Walk:
    """Where one model stands on every conversation, from what ``lookup`` finds stored."""

    #: Turn requests that have an answer (turn 1 onwards, in chain order).
    known: list[Request] = field(default_factory=list)
    #: The next turn of each unfinished conversation: what can be generated now.
    frontier: list[Request] = field(default_factory=list)
    #: (conversation, turn) of the turns after the frontier: generated in later rounds.
    later: list[tuple[ConversationItem, int]] = field(default_factory=list)
    #: conversation -> this model's answers, for the conversations it answered fully.
    done: dict[str, list[str]] = field(default_factory=dict)


def walk(fingerprint: str, items: Sequence[ConversationItem], lookup: Lookup) -> Walk:
    """Follow each conversation's chain of stored answers from turn 1 (one ``lookup`` per
    turn, whatever the number of conversations)."""
    result = Walk()
    history: dict[str, list[str]] = {item.conversation: [] for item in items}
    active = list(items)
    while active:
        requests = []
        for item in active:
            messages = turn_messages(item, history[item.conversation])
            turn_id = item.turn_ids[len(history[item.conversation])]
            requests.append(Request(generation_key(fingerprint, messages), turn_id, messages))
        found = lookup([r.key for r in requests])
        still = []
        for item, request in zip(active, requests, strict=True):
            answers = history[item.conversation]
            if request.key not in found:
                result.frontier.append(request)
                result.later += [(item, t) for t in range(len(answers) + 2, len(item.turns) + 1)]
                continue
            result.known.append(request)
            answers.append(found[request.key])
            if len(answers) == len(item.turns):
                result.done[item.conversation] = answers
            else:
                still.append(item)
        active = still
    return result


class ConversationRounds:
    """One model's rounds of a run. ``answers`` (cache key -> text) and ``planned`` (keys
    sent in this run) are shared by every model of the run, so two systems with the same
    source share their answers as single-turn generation does, and a turn that failed is
    not sent again in the same run (a rerun retries it)."""

    def __init__(
        self,
        fingerprint: str,
        items: Sequence[ConversationItem],
        answers: dict[str, str],
        planned: set[str],
    ) -> None:
        self.fingerprint = fingerprint
        self.items = list(items)
        self.answers = answers
        self.planned = planned

    def _known(self, keys: list[str]) -> dict[str, str]:
        return {k: self.answers[k] for k in keys if k in self.answers}

    def start(self, stored: Lookup) -> Walk:
        """The walk over what is stored (``stored`` reads the database); its frontier's keys
        not planned by an earlier model become planned."""

        def lookup(keys: list[str]) -> dict[str, str]:
            found = self._known(keys)
            found |= stored([k for k in keys if k not in found])
            self.answers.update(found)
            return found

        state = walk(self.fingerprint, self.items, lookup)
        state.frontier = [r for r in state.frontier if r.key not in self.planned]
        self.planned |= {r.key for r in state.frontier}
        return state

    def record(self, result: Result) -> None:
        """Keep an answer as it arrives (the next round is built from it)."""
        if result.error is None:
            self.answers[result.key] = result.text

    def next_round(self) -> list[Request]:
        """The turns that the last round's answers made possible and nobody sent yet."""
        state = walk(self.fingerprint, self.items, self._known)
        fresh = [r for r in state.frontier if r.key not in self.planned]
        self.planned |= {r.key for r in fresh}
        return fresh
