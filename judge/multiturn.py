"""Judge calls on a conversation's turn: both whole conversations, the answer at the last turn
judged (MT-Bench's multi-turn pair setup, ``prompts/pairwise_multiturn_v1.txt``).

The pair for turn t holds each system's *own* earlier answers (``foundation.conversation``):
conversation A is output_a's system's conversation, B output_b's, swapped with the answers in
the "ba" order. The messages hold the whole history, so the cache key (a hash of the messages)
covers it; the ``responses`` a baseline reads are the two answers at the last turn only.
"""

from __future__ import annotations

from sidebyside.foundation.conversation import PairHistory
from sidebyside.foundation.enums import JudgeMode, Order
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.rubric import Rubric
from sidebyside.judge.templates import (
    MULTITURN_TEMPLATE,
    PromptTemplate,
    load_template,
    render_pairwise,
    render_single,
    transcript,
    uses_conversations,
)

#: (order, scored output id or 0, the responses as shown, the rendered messages)
Call = tuple[Order, int, tuple[str, ...], list[dict[str, str]]]


def multiturn_template(chosen: PromptTemplate, ref: str | None, mode: JudgeMode) -> PromptTemplate:
    """The template for a conversation's later turns: the bundled multi-turn one with the
    default pairwise template, the user's own if it shows ``$conversation_a/b``; single mode
    keeps its template (the history goes in its ``$prompt``)."""
    if mode != JudgeMode.PAIRWISE:
        return chosen
    if ref is None:
        return load_template(MULTITURN_TEMPLATE)
    if uses_conversations(chosen):
        return chosen
    raise InputError(
        f"template {chosen.name!r} shows only $prompt, $response_a and $response_b, but this "
        "study has conversation turns after the first, whose judge must read both "
        "conversations: use $conversation_a, $conversation_b and $turn (see "
        f"judge/prompts/{MULTITURN_TEMPLATE}.txt), or the default template"
    )


def _turns(history: PairHistory | None, side: str, user: str, answer: str) -> list:
    earlier = [(t.user, t.a if side == "a" else t.b) for t in (history.earlier if history else ())]
    return [*earlier, (user, answer)]


def conversation_calls(
    template: PromptTemplate,
    *,
    mode: JudgeMode,
    rubric: Rubric,
    history: PairHistory | None,
    user: str,
    answers: tuple[tuple[int, str], tuple[int, str]],
    reference: str | None,
) -> list[Call]:
    """Both orders (pairwise), or each side scored alone (single), of one conversation pair.
    ``answers`` are (output id, text) of output_a and output_b at the judged turn."""
    (id_a, text_a), (id_b, text_b) = answers
    system = history.system_message if history else None
    turn = history.turn if history else 1
    if mode == JudgeMode.PAIRWISE:
        calls: list[Call] = []
        for order in (Order.AB, Order.BA):
            first, second = ("a", text_a), ("b", text_b)
            if order == Order.BA:
                first, second = second, first
            fields = {
                "conversation_a": transcript(
                    _turns(history, first[0], user, first[1]), "Assistant A", system
                ),
                "conversation_b": transcript(
                    _turns(history, second[0], user, second[1]), "Assistant B", system
                ),
                "turn": turn,
            }
            messages = render_pairwise(
                template,
                rubric=rubric,
                prompt=user,
                response_a=first[1],
                response_b=second[1],
                reference=reference,
                conversation=fields,
            )
            calls.append((order, 0, (first[1], second[1]), messages))
        return calls
    out: list[Call] = []
    for order, side, out_id, text in ((Order.A, "a", id_a, text_a), (Order.B, "b", id_b, text_b)):
        # The scored side's own conversation up to the judged user message is the prompt.
        earlier = transcript(_turns(history, side, user, text)[:-1], "Assistant", system)
        prompt = f"{earlier}\n\n### User (judged turn {turn}):\n{user}" if earlier else user
        messages = render_single(
            template, rubric=rubric, prompt=prompt, response=text, reference=reference
        )
        out.append((order, out_id, (text,), messages))
    return out
