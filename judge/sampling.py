"""Confidence for every judge by sampling: ask each order K times at a temperature and read
P(A), P(B), P(tie) as the fractions of the K answers (the standard remedy for judges without
log-probabilities: Anthropic, reasoning models, most compatible servers, local models).

A sampled judge is stored under its own name, ``SPEC#k5-t0.7`` (``#LABEL+k5-t0.7`` with a
non-default template), so its verdicts stay apart from the same model asked once; each of
its K answers per order is one Judgment row (``sample`` 0..K-1, each with its own cache key),
and :func:`order_votes` / :func:`pooled_votes` turn them into the verdict.

>>> sampled_label(None, 5, 0.7), sampled_label("strict", 3, 1.0), sampled_label("strict", 1, 0.0)
('k5-t0.7', 'strict+k3-t1', 'strict')
>>> order_votes(["a", "a", "b", "tie"])
VoteFractions(a=0.5, b=0.25, tie=0.25, n=4)
>>> pooled = pooled_votes([order_votes(["a", "a"]), order_votes(["a", "b"])])
>>> pooled, round(pooled.preference, 3), order_winner(["a", "b"])
(VoteFractions(a=0.75, b=0.25, tie=0.0, n=4), 1.25, <Preference.TIE: 'tie'>)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sidebyside.foundation.enums import Preference
from sidebyside.foundation.errors import InputError


def check_samples(samples: int, temperature: float) -> None:
    """K < 1 is refused; K > 1 at temperature 0 asks K times for one greedy answer, which a
    deterministic server repeats: allowed (some servers still vary), never silently changed."""
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise InputError(
            f"--samples must be a whole number of at least 1 (answers per order), got {samples!r}"
        )
    if temperature < 0:
        raise InputError(f"--temperature must be at least 0, got {temperature!r}")


def sampled_label(template_label: str | None, samples: int, temperature: float) -> str | None:
    """The variant part of a judge's name: the template's label, plus ``kK-tT`` when each
    order is asked K > 1 times (the temperature is in the name: K votes at 0.2 and at 1.0
    are different judges of their own confidence)."""
    if samples <= 1:
        return template_label
    tag = f"k{samples}-t{temperature:g}"
    return f"{template_label}+{tag}" if template_label else tag


@dataclass(frozen=True)
class VoteFractions:
    """Canonical vote fractions (a = the pair's output_a) over ``n`` answers."""

    a: float
    b: float
    tie: float
    n: int

    @property
    def preference(self) -> float:
        """AlpacaEval's 1..2 scale: 1 + P(b) + P(tie) / 2."""
        return 1.0 + self.b + 0.5 * self.tie


def order_votes(winners: Sequence[str]) -> VoteFractions:
    """The fractions of one order's canonical winners ("a" | "b" | "tie")."""
    n = len(winners)
    if n == 0:
        raise ValueError("no votes to count")
    bad = sorted(set(winners) - set(Preference))
    if bad:
        raise ValueError(f"votes must be a, b or tie, got {bad[:3]}")
    count = {p: sum(w == p for w in winners) for p in Preference}
    return VoteFractions(
        count[Preference.A] / n, count[Preference.B] / n, count[Preference.TIE] / n, n
    )


def pooled_votes(orders: Sequence[VoteFractions]) -> VoteFractions:
    """Both orders weighted equally (each order cancels the other's position habit, as the
    two-order verdict does), whatever number of answers each could be read from."""
    k = len(orders)
    return VoteFractions(
        sum(o.a for o in orders) / k,
        sum(o.b for o in orders) / k,
        sum(o.tie for o in orders) / k,
        sum(o.n for o in orders),
    )


def order_winner(winners: Sequence[str]) -> str:
    """The majority of one order's answers; a tie when split (reconcile's rule)."""
    votes = order_votes(winners)
    best = max(votes.a, votes.b, votes.tie)
    leaders = [
        p for p, v in zip(Preference, (votes.a, votes.b, votes.tie), strict=True) if v == best
    ]
    return leaders[0] if len(leaders) == 1 else Preference.TIE
