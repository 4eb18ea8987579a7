"""The answer first: for each compared pair of systems, who wins according to the humans and
according to each judge, and whether they agree.

A source names a winner only when its interval for the win rate excludes one half: the
bootstrap interval over prompts when there is one (it is honest when a prompt has several
votes), and the exact sign test over prompts agrees at the same level (so a handful of
prompts never settles anything); without resamples, the sign test alone. Otherwise the
answer is "no clear winner", which is an answer too.

>>> rows = [{"system_a": "base", "system_b": "tuned", "win_rate_a": 0.3, "n_prompts": 80,
...          "boot_ci_low": 0.22, "boot_ci_high": 0.39, "ci_low": 0.25, "ci_high": 0.36,
...          "p_value_prompts": 0.001}]
>>> decide(rows[0], 0.95)
('tuned', 'bootstrap')
>>> decide(dict(rows[0], boot_ci_high=0.51), 0.95)
(None, 'bootstrap')
>>> decide(dict(rows[0], boot_ci_low=0.0, boot_ci_high=0.0, p_value_prompts=0.5), 0.95)
(None, 'bootstrap')
"""

from __future__ import annotations

from typing import Any

from sidebyside.analysis.power import prompts_needed_at_observed
from sidebyside.analysis.report_models import (
    HeadlineEntry,
    HumanSection,
    JudgeSection,
    StudyReport,
    Verdict,
)
from sidebyside.analysis.winrates import honest_ci

HUMANS = "humans"


def decide(row: dict[str, Any], confidence: float) -> tuple[str | None, str]:
    """(winning system or None, the evidence used: "bootstrap" or "sign test"). The
    bootstrap call also needs the exact sign test over prompts to agree, because a percentile
    interval over a handful of prompts can exclude ½ by itself (2 of 2 prompts: [0, 0])."""
    low, high = row.get("boot_ci_low"), row.get("boot_ci_high")
    p = row.get("p_value_prompts")
    if low is not None and high is not None:
        exact_agrees = p is None or p < 1.0 - confidence
        if low > 0.5 and exact_agrees:
            return row["system_a"], "bootstrap"
        if high < 0.5 and exact_agrees:
            return row["system_b"], "bootstrap"
        return None, "bootstrap"
    if p is not None and p < 1.0 - confidence and row.get("win_rate_a") != 0.5:
        return (row["system_a"] if row["win_rate_a"] > 0.5 else row["system_b"]), "sign test"
    return None, "sign test"


def _sections(report: StudyReport) -> list[tuple[str, HumanSection | JudgeSection]]:
    """The sources with win rates, as (name, section): humans first, then the judges."""
    out: list[tuple[str, HumanSection | JudgeSection]] = []
    if report.human.win_rates:
        out.append((HUMANS, report.human))
    return out + [(key, j) for key, j in report.judges.items() if j.win_rates]


def lc_winner(row: dict[str, Any] | None) -> tuple[str | None, bool]:
    """(winner at equal length or None, whether a length-controlled fit exists)."""
    if row is None or row.get("lc_win_rate_a") is None:
        return None, False
    if row["ci_low"] > 0.5:
        return row["system_a"], True
    if row["ci_high"] < 0.5:
        return row["system_b"], True
    return None, True


def headline(report: StudyReport) -> list[HeadlineEntry]:
    """One entry per compared system pair, oriented as its first source (humans when they
    rated it), with one ``Verdict`` per source: the winner, the win rate of A and its
    interval, the ``winner_at_equal_length`` of the length-controlled interval (when it could
    be fitted) and, when there is no clear winner, the ``prompts_needed`` to settle it at 80%
    power if the observed prompt-level outcome were the truth. ``agree`` is False when two
    sources name different winners, True when every source names the same one, None
    otherwise (someone undecided)."""
    confidence = report.settings.confidence
    entries: dict[frozenset[str], HeadlineEntry] = {}
    for source, section in _sections(report):
        controlled = {
            (r.system_a, r.system_b): r.model_dump() for r in section.length_controlled or []
        }
        for win_rate in section.win_rates or []:
            row = win_rate.model_dump()  # decide() and honest_ci() read plain rows
            key = frozenset((row["system_a"], row["system_b"]))
            entry = entries.setdefault(
                key,
                HeadlineEntry(
                    system_a=row["system_a"], system_b=row["system_b"], verdicts={}, agree=None
                ),
            )
            winner, evidence = decide(row, confidence)
            same_way = row["system_a"] == entry.system_a
            low, high, _ = honest_ci(row)
            rate = row["win_rate_a"]
            if not same_way:  # express everything from the entry's system_a
                rate = None if rate is None else 1.0 - rate
                low, high = (None, None) if low is None else (1.0 - high, 1.0 - low)
            needed = None
            if winner is None and row.get("prompts_a") is not None:
                needed = prompts_needed_at_observed(
                    row["prompts_a"], row["prompts_b"], row.get("n_prompts") or 0,
                    alpha=1.0 - confidence,
                )  # fmt: skip
            at_equal, fitted = lc_winner(controlled.get((row["system_a"], row["system_b"])))
            entry.verdicts[source] = Verdict(
                winner=winner,
                prompts_needed=needed,
                win_rate_a=rate,
                ci_low=low,
                ci_high=high,
                evidence=evidence,
                n_prompts=row.get("n_prompts"),
                winner_at_equal_length=at_equal,
                length_controlled=fitted,
            )
    for entry in entries.values():
        named = {v.winner for v in entry.verdicts.values()}
        if len(named - {None}) > 1:
            entry.agree = False
        elif None in named or len(entry.verdicts) < 2:
            entry.agree = None
        else:
            entry.agree = True
    return list(entries.values())


def sources(report: StudyReport) -> list[str]:
    """The column order of the headline table: humans first, then the judges."""
    return [name for name, _ in _sections(report)]
