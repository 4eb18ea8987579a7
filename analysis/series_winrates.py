"""Win rates of each checkpoint against the base, for a checkpoint series kept with a study
whose systems are the checkpoints (``sidebyside generate STUDY --model step-500=PATH ...``).

Nothing is computed here: each figure is the report's own pairwise win rate of that system
against the base (``analysis.winrates``, one prompt resample shared by the humans and every
judge), read with the card's rule (``analysis.card.win_rate_row``: the prompt-bootstrap
interval, else Wilson), so the series, the report and the card always say the same. The
report attaches them when it is built, so new ratings and verdicts show without rerunning
``sidebyside series``.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from sidebyside.analysis.card import win_rate_row
from sidebyside.analysis.report_rows import ReportModel

NO_PAIRS = "no pairs against base"
IS_BASE = "base"
NOT_A_SYSTEM = "not a system of the study"
HUMAN = "human"


class SeriesWinRate(ReportModel):
    """One source's (humans or a judge) win rate of a checkpoint against the base; ties
    count half. ``note`` instead of a figure where there is none (``no pairs against
    base``, ``base``, ``not a system of the study``)."""

    source: str = Field(description='"human" or "judge NAME".')
    win_rate: float | None = Field(description="The checkpoint's win rate over the base.")
    ci_low: float | None
    ci_high: float | None
    interval: str | None = Field(description="How the interval was drawn (as the card says).")
    n: int | None = Field(description="Votes between this checkpoint and the base.")
    note: str | None = None


def win_rate_sources(report: Any) -> dict[str, list[Any] | None]:
    """source name ─► the report's win-rate rows: the humans where the study has ratings,
    then each judge with verdicts."""
    out: dict[str, list[Any] | None] = {}
    if report.human.n_ratings:
        out[HUMAN] = report.human.win_rates
    for judge, section in report.judges.items():
        if section.n:
            out[f"judge {judge}"] = section.win_rates
    return out


def step_win_rates(
    step: str, base: str, systems: list[str], sources: dict[str, list[Any] | None]
) -> list[SeriesWinRate]:
    """Every source's win rate of ``step`` against ``base`` (the card's row, so the same)."""
    out = []
    for source, rates in sources.items():
        note = IS_BASE if step == base else None if step in systems else NOT_A_SYSTEM
        layer = "human" if source == HUMAN else "judge"
        row = None if note else win_rate_row(layer, "series", source, rates, base, step)
        if row is None or row.value is None:
            out.append(SeriesWinRate(source=source, win_rate=None, ci_low=None, ci_high=None,
                                     interval=None, n=None, note=note or NO_PAIRS))  # fmt: skip
            continue
        out.append(
            SeriesWinRate(
                source=source,
                win_rate=row.value,
                ci_low=row.ci_low,
                ci_high=row.ci_high,
                interval=row.method,
                n=row.n,
            )
        )
    return out


def attach_series_win_rates(report: Any) -> None:
    """Fill the report's checkpoint series (``report.compared.series``) with each step's win
    rates against its base: the base the series was kept with (``series --base``), else the
    card's base, the study's first system. Nothing where no step names a system of the
    study (a perplexity-only series) or the study has neither ratings nor verdicts."""
    series = report.compared.series if report.compared is not None else None
    systems = list(report.study.systems)
    if series is None or not systems:
        return
    base = series.base if series.base in systems else systems[0]
    if not any(st.step in systems and st.step != base for st in series.steps):
        return
    sources = win_rate_sources(report)
    if not sources:
        return
    series.base = base
    for st in series.steps:
        st.win_rates = step_win_rates(st.step, base, systems, sources)


def win_rate_cell(w: SeriesWinRate) -> str:
    """``62% [40%, 80%]``, or the note."""
    if w.win_rate is None:
        return w.note or NO_PAIRS
    ci = (
        f" [{w.ci_low:.0%}, {w.ci_high:.0%}]"
        if w.ci_low is not None and w.ci_high is not None
        else ""
    )
    return f"{w.win_rate:.0%}{ci}"


def series_sources(steps: list[Any]) -> list[str]:
    """The win-rate sources of a series, in the order the steps list them."""
    seen: dict[str, None] = {}
    for st in steps:
        for w in st.win_rates or []:
            seen.setdefault(w.source, None)
    return list(seen)


def step_metrics(win_rates: list[SeriesWinRate]) -> dict[str, float]:
    """MLflow metrics of one step: ``<source>_win_rate`` (and its interval) where it has one."""
    out: dict[str, float] = {}
    for w in win_rates:
        if w.win_rate is None:
            continue
        key = w.source.replace(" ", "_")
        out[f"{key}_win_rate"] = w.win_rate
        if w.ci_low is not None and w.ci_high is not None:
            out[f"{key}_win_rate_ci_low"], out[f"{key}_win_rate_ci_high"] = w.ci_low, w.ci_high
    return out
