"""Judge confidence from token log-probabilities: P(A), P(B), P(tie) of one order, and the
pair's continuous preference from both orders.

Why the verdict is one token: the pairwise answer format is JSON whose *last* key is the
winner, ``{"reasoning": "...", "winner": "A"}``, with the value one of ``A``, ``B`` or
``tie``. The reasoning comes first, so the verdict is decided after it; the value starts right
after ``"winner": "``, and ``A``, ``B`` and ``tie`` are each one token in the BPE vocabularies
of OpenAI-compatible models (a tokenizer may glue the opening quote to it, as ``"A``; the
parser strips what the alternatives share before the value). The alternatives the server
lists for that one token (``top_logprobs``) are therefore alternatives for the whole verdict,
and renormalising over the three gives P(A), P(B), P(tie) as the judge saw them.

Probabilities are renormalised over the verdict tokens found in the top list only (as
AlpacaEval's ``logprob_parser`` does); a verdict token absent from the list counts as
probability 0. When no verdict token is found there is no probability at all (``None``,
never a made-up 0.5).

>>> top = [{"token": "A", "logprob": math.log(0.6)}, {"token": "B", "logprob": math.log(0.2)},
...        {"token": "The", "logprob": math.log(0.1)}]
>>> p = verdict_probabilities(top)
>>> round(p.a, 2), round(p.b, 2), p.tie
(0.75, 0.25, 0.0)
>>> round(pair_preference(p, VerdictProbs(a=0.25, b=0.75, tie=0.0)), 2)  # b shown 2nd, then 1st
0.25
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sidebyside.foundation.enums import Order

#: The value of the winner key starts here (the last such key: the verdict comes last).
_WINNER_VALUE = re.compile(r'"winner"\s*:\s*"', re.IGNORECASE)


@dataclass(frozen=True)
class VerdictProbs:
    """Renormalised probabilities of the verdict *as shown*: Response A, Response B, tie."""

    a: float
    b: float
    tie: float


def _classify(rest: str) -> str | None:
    """Which verdict a token's text (after the shared prefix) begins: "A", "B", "tie"."""
    text = rest.lstrip()
    if not text:
        return None
    if text[0] in "Aa" and (len(text) == 1 or not text[1].isalnum()):
        return "A"
    if text[0] in "Bb" and (len(text) == 1 or not text[1].isalnum()):
        return "B"
    # Only "tie" is a valid value starting with t; a lone "t" is its first token elsewhere.
    if text[0] in "Tt" and "tie".startswith(text[:3].lower()):
        return "tie"
    return None


def _logsumexp(values: Sequence[float]) -> float:
    top = max(values)
    if top == -math.inf:
        return top
    return top + math.log(sum(math.exp(v - top) for v in values))


def verdict_probabilities(
    top_logprobs: Iterable[Mapping[str, Any]], prefix: str = ""
) -> VerdictProbs | None:
    """P(A), P(B), P(tie) from the alternatives of the verdict token.

    ``top_logprobs``: ``[{"token": str, "logprob": float}, ...]`` as the OpenAI API returns
    them; ``prefix``: the text the chosen token has before the verdict value (e.g. ``"`` when
    the tokenizer glued the quote to ``A``); alternatives not starting with it are ignored.
    """
    by_class: dict[str, list[float]] = {"A": [], "B": [], "tie": []}
    for alt in top_logprobs:
        token, logprob = str(alt.get("token", "")), alt.get("logprob")
        if logprob is None or not token.startswith(prefix):
            continue
        label = _classify(token[len(prefix) :])
        if label is not None:
            by_class[label].append(float(logprob))
    found = [v for values in by_class.values() for v in values]
    if not found:
        return None
    total = _logsumexp(found)
    if total == -math.inf:
        return None
    p = {k: math.exp(_logsumexp(v) - total) if v else 0.0 for k, v in by_class.items()}
    return VerdictProbs(a=p["A"], b=p["B"], tie=p["tie"])


def _attr(obj: Any, name: str) -> Any:
    return obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)


def completion_verdict_probabilities(
    text: str, content: Sequence[Any] | None
) -> VerdictProbs | None:
    """Find the verdict token of a JSON answer in the per-token ``logprobs.content`` of a chat
    completion (dicts or SDK objects) and read its alternatives. None when the answer has no
    winner value, the token list does not spell the text, or no alternative is a verdict."""
    if not content:
        return None
    matches = list(_WINNER_VALUE.finditer(text or ""))
    if not matches:
        return None
    value_at = matches[-1].end()
    offset = 0
    for item in content:
        token = str(_attr(item, "token") or "")
        if offset <= value_at < offset + len(token):
            tops = _attr(item, "top_logprobs") or []
            alternatives = [
                {"token": _attr(t, "token"), "logprob": _attr(t, "logprob")} for t in tops
            ]
            return verdict_probabilities(alternatives, prefix=token[: value_at - offset])
        offset += len(token)
    return None


def p_second_wins(probs: VerdictProbs) -> float:
    """P(the response shown second wins), a tie counting half (AlpacaEval's convention)."""
    return probs.b + 0.5 * probs.tie


def canonical_p_b(probs: VerdictProbs, order: str) -> float:
    """P(the pair's output b is preferred), ties half, from one order's shown probabilities.
    Order "ab" shows b second; order "ba" shows b first."""
    if order == Order.AB:
        return p_second_wins(probs)
    if order == Order.BA:
        return 1.0 - p_second_wins(probs)
    raise ValueError(f"order must be 'ab' or 'ba', got {order!r}")


def pair_preference(ab: VerdictProbs | None, ba: VerdictProbs | None) -> float | None:
    """The pair's continuous preference for output b in [0, 1] (AlpacaEval's scale is 1 + it):
    the average over both orders of P(second-shown wins) mapped back to canonical sides.
    None unless both orders have probabilities (one order alone keeps its position bias)."""
    if ab is None or ba is None:
        return None
    return (canonical_p_b(ab, Order.AB) + canonical_p_b(ba, Order.BA)) / 2


def alpaca_eval_p_second(raw_completion: Mapping[str, Any] | None) -> float | None:
    """AlpacaEval's weighted judges answer one token, ``m`` (the first output shown) or ``M``
    (the second); P(M) renormalised over {m, M} from the first token's top log-probabilities,
    exactly as their ``logprob_parser``. The stored preference is ``1 + P(M)`` when the pair
    was shown in its stored order and ``2 - P(M)`` when AlpacaEval switched it."""
    if not raw_completion:
        return None
    content = (raw_completion.get("logprobs") or {}).get("content") or []
    if not content:
        return None
    first = {t["token"]: t["logprob"] for t in content[0].get("top_logprobs") or []}
    picked = [first[t] for t in ("m", "M") if t in first]
    if not picked:
        return None
    return math.exp(first.get("M", -math.inf) - _logsumexp(picked))
