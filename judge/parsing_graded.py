"""A graded judge answer (``pairwise_graded_v1``): the last ``[[X]]`` label of the text, one
of arena-hard's five (``[[A>>B]]``, ``[[A>B]]``, ``[[A=B]]``, ``[[B>A]]``, ``[[B>>A]]``; the
mirrored ``[[B<A]]`` forms too). As arena-hard's ``get_score``: an answer that gives two
different labels is unparsed, never a guess.

>>> p = parse_graded("B misses the point.\\nMy final verdict is: [[A>>B]]")
>>> p.winner, p.data["strength"], p.reasoning
('A', 2, 'B misses the point.\\nMy final verdict is:')
>>> parse_graded("[[A>B]] ... no, [[B>A]]").problem
'two different verdicts in the answer: [[A>B]], [[B>A]]'

The winner is as shown (``A`` | ``B`` | ``tie``) like ``parse_pairwise``'s, so the runner's
``shown_to_canonical`` maps each order to the pair's sides; the strength rides in ``data``.
"""

from __future__ import annotations

import re

from sidebyside.foundation.grading import label, parse_label
from sidebyside.judge.parsing import Parsed

_BRACKETED = re.compile(r"\[\[\s*([AB]\s*(?:>>|<<|>|<|=)\s*[AB])\s*\]\]", re.IGNORECASE)
#: The prompt templates whose answers are read here (by the template version's name).
GRADED_TEMPLATES = ("pairwise_graded_v1",)


def is_graded_template(template_version: str) -> bool:
    """Whether answers to this template version (``NAME`` or ``NAME+ref``) are graded."""
    return template_version.split("+", 1)[0] in GRADED_TEMPLATES


def parse_graded(text: str) -> Parsed:
    """The verdict of a graded answer, or an unparsed outcome saying why."""
    found = [(m, parse_label(m.group(1))) for m in _BRACKETED.finditer(text or "")]
    found = [(m, p) for m, p in found if p is not None]
    if not found:
        return Parsed(ok=False, problem="no verdict label such as [[A>B]] in the answer")
    labels = list(dict.fromkeys(label(*p) for _, p in found))
    if len(labels) > 1:
        shown = ", ".join(f"[[{x}]]" for x in labels)
        return Parsed(ok=False, problem=f"two different verdicts in the answer: {shown}")
    match, (direction, strength) = found[-1]
    winner = "tie" if direction == "tie" else direction.upper()
    reasoning = text[: match.start()].strip()
    return Parsed(ok=True, winner=winner, reasoning=reasoning, data={"strength": strength})
