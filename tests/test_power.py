"""Planning a study: prompts needed for a win rate, and the win rate a study can find."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import binomtest, norm
from typer.testing import CliRunner

from sidebyside.analysis.power import (
    detectable_win_rate,
    prompts_needed,
    prompts_needed_at_observed,
)
from sidebyside.cli.main import app


@pytest.mark.parametrize("p", [0.55, 0.6, 0.7, 0.35])
def test_matches_the_arcsine_formula(p):
    h = abs(2 * math.asin(math.sqrt(p)) - 2 * math.asin(math.sqrt(0.5)))
    n = ((norm.ppf(0.975) + norm.ppf(0.8)) / h) ** 2
    assert prompts_needed(p) == math.ceil(n)


def test_the_promised_power_holds_for_the_exact_sign_test():
    """Simulate studies of the planned size: the exact test finds the win ~80% of the time."""
    rng = np.random.default_rng(11)
    n = prompts_needed(0.575, tie_rate=0.25)  # A wins 60% of the decisive prompts
    found = 0
    trials = 1500
    for _ in range(trials):
        outcome = rng.choice(["a", "b", "tie"], size=n, p=[0.75 * 0.6, 0.75 * 0.4, 0.25])
        a, b = int((outcome == "a").sum()), int((outcome == "b").sum())
        found += binomtest(a, a + b).pvalue < 0.05
    assert 0.75 < found / trials < 0.86


def test_detectable_rate_inverts_prompts_needed():
    for tie in (0.0, 0.3):
        for w in (0.56, 0.62, 0.7):
            n = prompts_needed(w, tie_rate=tie)
            d = detectable_win_rate(n, tie_rate=tie)
            assert d <= w and w - d < 0.01
    assert detectable_win_rate(2) is None  # nothing is findable with two prompts


def test_observed_counts():
    assert prompts_needed_at_observed(50, 50, 120) is None  # no difference observed
    assert prompts_needed_at_observed(0, 0, 10) is None
    assert prompts_needed_at_observed(12, 0, 12) is None  # already a clean sweep
    assert prompts_needed_at_observed(60, 40, 100) == prompts_needed(0.6)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="impossible with 50% tied prompts"):
        prompts_needed(0.9, tie_rate=0.5)
    with pytest.raises(ValueError, match="tie_rate"):
        prompts_needed(0.6, tie_rate=1.0)
    with pytest.raises(ValueError, match="alpha and power"):
        prompts_needed(0.6, power=1.0)
    assert prompts_needed(0.5) is None


def test_power_command():
    runner = CliRunner()
    out = runner.invoke(app, ["power", "--win-rate", "0.6"])
    assert out.exit_code == 0 and out.stdout.startswith("194 prompts find a win rate of 0.6")
    out = runner.invoke(app, ["power", "--prompts", "194"])
    assert out.exit_code == 0 and "win rate of 0.600 or more (or 0.400 or less)" in out.stdout
    both = runner.invoke(app, ["power", "--prompts", "10", "--win-rate", "0.6"])
    assert both.exit_code == 2 and "exactly one of" in both.stderr
