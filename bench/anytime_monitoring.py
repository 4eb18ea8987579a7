"""Continuous monitoring: how often does "stop when the interval excludes ½" name a winner
that does not exist?

Seeded studies at a true win rate of exactly ½ (a share of ties, the rest split evenly), each
checked after every vote up to ``--votes``. Three stopping rules:

- ``cs``: the confidence sequence of ``analysis.anytime`` (95%, tuned for ``--votes``) leaves ½;
- ``wilson``: the report's fixed-sample 95% Wilson interval excludes ½ (from vote 10);
- ``bootstrap``: a 95% percentile bootstrap of the mean (``--boot`` resamples) excludes ½
  (from vote 10; fewer studies, it costs resamples at every vote).

Then the price of that guarantee: at true win rates above ½, the share of studies the CS
decides within ``--votes`` and the median vote at which it does.

Usage: ``python bench/anytime_monitoring.py [--sims 4000] [--votes 500] [--seed 0]``.
Prints the false-decision rates and their ratio (wilson / cs); never fails.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from sidebyside.analysis.anytime import decide, peeking_rates  # noqa: E402

MIN_VOTES = 10


def bootstrap_peeking(n_sims: int, n_votes: int, tie_rate: float, n_boot: int, seed: int) -> float:
    """Share of ½-studies in which a percentile bootstrap of the mean, recomputed after every
    vote from vote 10, ever excludes ½. Votes take three values, so a resample is a draw of
    the three counts (binomial, then binomial of the rest)."""
    rng = np.random.default_rng(seed)
    split = (1 - tie_rate) / 2
    x = rng.choice([0.0, 0.5, 1.0], p=[split, tie_rate, split], size=(n_sims, n_votes))
    decided = np.zeros(n_sims, dtype=bool)
    wins, ties = np.cumsum(x == 1.0, axis=1), np.cumsum(x == 0.5, axis=1)
    for t in range(MIN_VOTES, n_votes + 1):
        w, h = wins[:, t - 1], ties[:, t - 1]
        bw = rng.binomial(t, np.broadcast_to(w / t, (n_boot, n_sims)))
        rest = np.where(t > w, h / np.maximum(t - w, 1), 0.0)
        bt = rng.binomial(t - bw, np.clip(rest, 0, 1))
        means = (bw + 0.5 * bt) / t
        low, high = np.quantile(means, [0.025, 0.975], axis=0)
        decided |= (low > 0.5) | (high < 0.5)
    return float(decided.mean())


def price(n_sims: int, n_votes: int, seed: int) -> list[tuple[float, float, float]]:
    """(true win rate, share decided within n_votes, median deciding vote) without ties."""
    rng = np.random.default_rng(seed)
    rows = []
    for p in (0.6, 0.65, 0.7, 0.75):
        at = []
        for _ in range(n_sims):
            d = decide(rng.random(n_votes) < p, alpha=0.05, planned=n_votes)
            at.append(d["at_vote"] if d["decided"] else np.inf)
        at_arr = np.array(at)
        rows.append((p, float(np.isfinite(at_arr).mean()), float(np.median(at_arr))))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--sims", type=int, default=4000)
    ap.add_argument("--votes", type=int, default=500)
    ap.add_argument("--boot-sims", type=int, default=500)
    ap.add_argument("--boot", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    print(f"{args.sims} studies per row at a true win rate of ½, checked after every vote")
    print(f"{'votes':>6} {'ties':>5} {'cs':>7} {'wilson':>7} {'ratio':>6} {'bootstrap':>9}")
    for tie_rate in (0.0, 0.2, 0.4):
        for n_votes in (100, args.votes):
            start = time.perf_counter()
            r = peeking_rates(n_sims=args.sims, n_votes=n_votes, tie_rate=tie_rate, seed=args.seed)
            boot = bootstrap_peeking(args.boot_sims, n_votes, tie_rate, args.boot, args.seed)
            ratio = r["wilson"] / r["cs"] if r["cs"] else float("inf")
            print(
                f"{n_votes:>6} {tie_rate:>5.1f} {r['cs']:>7.3f} {r['wilson']:>7.3f} "
                f"{ratio:>6.1f} {boot:>9.3f}   ({time.perf_counter() - start:.1f} s)"
            )
    print(f"\nthe price: CS decisions at true win rates above ½ ({args.votes} votes, no ties)")
    print(f"{'win rate':>8} {'decided':>8} {'median vote':>12}")
    for p, share, median in price(min(args.sims, 1000), args.votes, args.seed):
        print(f"{p:>8.2f} {share:>8.3f} {median:>12.0f}")


if __name__ == "__main__":
    main()
