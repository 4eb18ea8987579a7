"""Prediction-powered win rates on planted studies: coverage and width against humans alone.

    python bench/ppi_coverage.py [--studies 2000] [--seed 0]

Each planted study is one system pair with ``n_pairs`` pairs, each with a true human verdict
(A with probability drawn from U(0.15, 0.75), a tie 10% of the time, else B), so its true win
rate of A is known. The judge gives every pair a verdict: the humans' with probability
``agree``, else one biased toward A (A where the humans said B or tie, a tie where they said
A), so it agrees with the humans on ``agree`` of the pairs and overstates A's win rate. Humans
rate a random ``n_human`` of the pairs. Per agreement level the script prints how often each
95% interval holds the truth (PPI, humans alone, the judge alone) and the ratio of interval
widths PPI / humans-only, both measured in the same process, so they travel between machines.
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass

import numpy as np

from sidebyside.analysis.ppi import ppi_win_rate

N_PAIRS, N_HUMAN = 1000, 200


@dataclass(frozen=True)
class Coverage:
    """One agreement level over many planted studies."""

    agree: float
    studies: int
    ppi: float  # share of PPI intervals holding the true win rate
    humans: float  # the same for the humans-only (normal) interval on the human-rated pairs
    judge: float  # the same for the judge-alone (normal) interval on all pairs
    width_ratio: float  # mean PPI width / mean humans-only width
    worth: float  # mean n_effective / n_human


def planted(rng: np.random.Generator, agree: float, n_pairs: int = N_PAIRS, n_human: int = N_HUMAN):
    """(truth, y, yhat, yhat_unlabelled) of one planted study (1 / ½ / 0: A wins / tie / B)."""
    p_a = rng.uniform(0.15, 0.75)
    human = rng.choice([1.0, 0.5, 0.0], size=n_pairs, p=[p_a, 0.1, 0.9 - p_a])
    biased = np.where(human == 1.0, 0.5, 1.0)
    judge = np.where(rng.random(n_pairs) < agree, human, biased)
    rated = rng.permutation(n_pairs)[:n_human]
    unrated = np.setdiff1d(np.arange(n_pairs), rated)
    return p_a + 0.05, human[rated], judge[rated], judge[unrated]


def _normal_ci(x: np.ndarray, z: float = 1.959964) -> tuple[float, float]:
    half = z * x.std() / np.sqrt(len(x))
    return x.mean() - half, x.mean() + half


def coverage(agree: float, studies: int, seed: int = 0) -> Coverage:
    """Run ``studies`` planted studies at one agreement level."""
    rng = np.random.default_rng([seed, round(agree * 1000)])
    hits = {"ppi": 0, "humans": 0, "judge": 0}
    widths, human_widths, worth = [], [], []
    for _ in range(studies):
        truth, y, yhat, yhat_u = planted(rng, agree)
        r = ppi_win_rate(y, yhat, yhat_u, confidence=0.95)
        h_low, h_high = _normal_ci(y)
        j_low, j_high = _normal_ci(np.concatenate([yhat, yhat_u]))
        hits["ppi"] += r["ci_low"] <= truth <= r["ci_high"]
        hits["humans"] += h_low <= truth <= h_high
        hits["judge"] += j_low <= truth <= j_high
        widths.append(r["ci_high"] - r["ci_low"])
        human_widths.append(h_high - h_low)
        worth.append(r["n_effective"] / r["n_human"])
    return Coverage(
        agree=agree,
        studies=studies,
        ppi=hits["ppi"] / studies,
        humans=hits["humans"] / studies,
        judge=hits["judge"] / studies,
        width_ratio=float(np.mean(widths) / np.mean(human_widths)),
        worth=float(np.mean(worth)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=2000, help="planted studies per level")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"{N_PAIRS} pairs per study, {N_HUMAN} rated by humans; {args.studies} studies a level")
    print("| judge agrees | PPI covers | humans alone | judge alone | width PPI / humans | worth |")
    print("|---|---|---|---|---|---|")
    start = time.perf_counter()
    for agree in (0.5, 0.8, 0.95):
        c = coverage(agree, args.studies, args.seed)
        print(
            f"| {c.agree:.0%} | {c.ppi:.1%} | {c.humans:.1%} | {c.judge:.1%} "
            f"| {c.width_ratio:.2f} | {c.worth:.2f} × n_human |"
        )
    print(f"{time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
    main()
