"""How many prompts does a study need? Sample sizes for the prompt-level sign test.

The unit is the prompt (several votes on one prompt are one observation; see
``analysis.winrates``). A prompt whose votes tie carries no evidence for the sign test, so with
a share ``tie_rate`` of tied prompts only ``1 - tie_rate`` of them count. Among decisive
prompts A wins with probability ``p``, which follows from the win rate with ties as half:
``win_rate = p * (1 - tie_rate) + tie_rate / 2``.

The power of the two-sided test of ``p = 1/2`` uses statsmodels' normal approximation on
Cohen's effect size h = 2·asin(√p) − 2·asin(√½), so n = ((z₀.₉₇₅ + z₀.₈₀) / h)² decisive
prompts at alpha 0.05 and power 0.80; for p = 0.6, h = 0.2014 and n = 193.5, so 194:

>>> prompts_needed(0.6)
194
>>> prompts_needed(0.58, tie_rate=0.2)  # decisive prompts again 60:40, 20% tied
243
>>> round(detectable_win_rate(194), 3)
0.6
"""

from __future__ import annotations

import math

from scipy.optimize import brentq


def _decisive_p(win_rate: float, tie_rate: float) -> float:
    return (win_rate - tie_rate / 2) / (1 - tie_rate)


def _check(win_rate: float | None, tie_rate: float, alpha: float, power: float) -> None:
    if not 0 <= tie_rate < 1:
        raise ValueError(f"tie_rate must be in [0, 1), got {tie_rate}")
    if not 0 < alpha < 1 or not 0 < power < 1:
        raise ValueError(f"alpha and power must be in (0, 1), got {alpha} and {power}")
    if win_rate is not None and not 0 <= win_rate <= 1:
        raise ValueError(f"win rate must be in [0, 1], got {win_rate}")


def _effect(p: float) -> float:
    from statsmodels.stats.proportion import proportion_effectsize

    return abs(float(proportion_effectsize(p, 0.5)))


def prompts_needed(
    win_rate: float, *, tie_rate: float = 0.0, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Prompts (tied ones included) for the two-sided sign test to find a real win rate of
    ``win_rate`` (ties as half) with the given power. The win rate here is the one the study
    would show if it were the truth, with ``tie_rate`` the share of prompts whose votes tie.
    None when the win rate is ½ (no difference to find); ValueError when the win rate and the
    tie rate contradict each other (a win rate further from ½ than the decisive prompts
    allow)."""
    _check(win_rate, tie_rate, alpha, power)
    p = _decisive_p(win_rate, tie_rate)
    if not 0 <= p <= 1:
        raise ValueError(
            f"a win rate of {win_rate} is impossible with {tie_rate:.0%} tied prompts: "
            f"it must lie within [{tie_rate / 2:.3f}, {1 - tie_rate / 2:.3f}]"
        )
    if p == 0.5:
        return None
    from statsmodels.stats.power import NormalIndPower

    h = _effect(p)
    decisive = NormalIndPower().solve_power(
        effect_size=h, nobs1=None, alpha=alpha, power=power, ratio=0.0, alternative="two-sided"
    )
    return math.ceil(math.ceil(float(decisive) - 1e-9) / (1 - tie_rate) - 1e-9)


def detectable_win_rate(
    n_prompts: int, *, tie_rate: float = 0.0, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The smallest win rate above ½ (ties as half) that ``n_prompts`` prompts find with the
    given power; by symmetry ``1 - x`` is the detectable rate below ½. None when even a
    win on every decisive prompt would not be found."""
    _check(None, tie_rate, alpha, power)
    if n_prompts < 1:
        raise ValueError(f"n_prompts must be at least 1, got {n_prompts}")
    from statsmodels.stats.power import NormalIndPower

    decisive = n_prompts * (1 - tie_rate)
    solver = NormalIndPower()

    def power_at(p: float) -> float:
        return (
            float(solver.power(effect_size=_effect(p), nobs1=decisive, alpha=alpha, ratio=0.0))
            - power
        )

    if power_at(1.0) < 0:
        return None
    p = brentq(power_at, 0.5 + 1e-9, 1.0, xtol=1e-10)
    return p * (1 - tie_rate) + tie_rate / 2


def prompts_needed_at_observed(
    prompts_a: int, prompts_b: int, n_prompts: int, *, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """Prompts a study needs to settle a comparison if the observed prompt-level outcome
    (``prompts_a`` won by A, ``prompts_b`` by B, the rest of ``n_prompts`` tied) were the
    truth; None when there is no difference to find or nothing decisive was seen.

    >>> prompts_needed_at_observed(55, 45, 120)  # 55:45 on decisive prompts, 1/6 tied
    940
    """
    decisive = prompts_a + prompts_b
    if decisive == 0 or n_prompts <= 0 or prompts_a == prompts_b:
        return None
    tie_rate = 1 - decisive / n_prompts
    p = prompts_a / decisive
    if p in (0.0, 1.0):
        return None  # already as lopsided as it gets; more prompts add nothing to say
    return prompts_needed(p * (1 - tie_rate) + tie_rate / 2, tie_rate=tie_rate, alpha=alpha,
                          power=power)  # fmt: skip
