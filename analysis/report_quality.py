"""The graded and gold sections in the Markdown and HTML reports (``analysis.report_graded``):
each shown only when there is something in it (a five-level study or graded verdicts; answers
on gold pairs), so a study without them reads as it always did."""

from __future__ import annotations

from html import escape
from typing import Any

from sidebyside.analysis.report_graded import GoldSection, GradedSection, GradedVotes
from sidebyside.analysis.report_models import StudyReport
from sidebyside.analysis.small_samples import overlap_cell, prompts_cell

# The two renderers import this module, so it keeps its own two cell helpers.


def fmt(x: Any, digits: int = 3) -> str:
    """A number for a table; '—' for missing."""
    if x is None:
        return "—"
    if isinstance(x, int) and not isinstance(x, bool):
        return str(x)
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x).replace("|", "\\|")


def table(headers: list[str], rows: list[list[Any]]) -> str:
    out = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    out += ["| " + " | ".join(fmt(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


WEIGHTED_HEADERS = ["A", "B", "strong-weighted win rate A", "win rate A", "n", "strong votes"]


def _shown(g: GradedSection | None) -> bool:
    if g is None:
        return False
    sources = [g.human, *g.judges.values()]
    return g.preference_levels == 5 or any(s is not None and s.n_graded for s in sources)


def graded_note(g: GradedSection) -> str:
    return (
        f"The study rates on {g.preference_levels} levels (A>>B, A>B, A=B, B>A, B>>A). Every "
        "other figure reads only the direction of a vote. Strong-weighted (arena-hard): a "
        f"strong verdict counts {fmt(g.strong_weight, 2)} times, any other once, a tie half "
        "to each side; Bradley–Terry is fitted on those weighted wins."
    )


def _sources(g: GradedSection) -> list[tuple[str, GradedVotes]]:
    out = [("Humans", g.human)] if g.human is not None else []
    return out + [(f"Judge {k}", v) for k, v in g.judges.items()]


def _cells(v: GradedVotes) -> list[list[Any]]:
    return [
        [
            r.system_a,
            r.system_b,
            prompts_cell(r.weighted_win_rate_a, r.n_prompts),
            prompts_cell(r.win_rate_a, r.n_prompts),
            r.n,
            r.n_strong,
        ]
        for r in v.win_rates
    ]


def _alpha_line(g: GradedSection) -> str:
    a = g.ordinal_alpha
    if a is None:
        return "Ordinal alpha of the five-level human preference: — (no ratings)."
    figure = overlap_cell(fmt(a.alpha), a.n_units)  # the words, not a figure, from so few
    return (
        f"Krippendorff's alpha of the five-level human preference (ordinal): {figure} "
        f"over {a.n_units} pairs rated at least twice — {a.reading}."
    )


def graded_md(report: StudyReport) -> list[str]:
    g = report.graded
    if not _shown(g):
        return []
    out = ["## Graded preference", "", graded_note(g), "", _alpha_line(g), ""]
    for who, v in _sources(g):
        out += [f"### {who}", "", table(WEIGHTED_HEADERS, _cells(v)), ""]
        if v.bradley_terry:
            rows = [[r.system, fmt(r.rating, 1)] for r in v.bradley_terry]
            out += [table(["system", "strong-weighted Bradley–Terry"], rows), ""]
    return out


def _html_table(headers: list[str], rows: list[list[Any]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>" + "".join(f"<td>{escape(c if isinstance(c, str) else fmt(c))}</td>" for c in r)
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def graded_html(report: StudyReport) -> str:
    g = report.graded
    if not _shown(g):
        return ""
    parts = [
        "<h2>Graded preference</h2>",
        f"<p class='muted'>{escape(graded_note(g))}</p>",
        f"<p>{escape(_alpha_line(g))}</p>",
    ]
    for who, v in _sources(g):
        parts.append(f"<h3>{escape(who)}</h3>" + _html_table(WEIGHTED_HEADERS, _cells(v)))
        if v.bradley_terry:
            rows = [[r.system, fmt(r.rating, 1)] for r in v.bradley_terry]
            parts.append(_html_table(["system", "strong-weighted Bradley–Terry"], rows))
    return "".join(parts)


GOLD_HEADERS = ["rater", "gold answers", "right", "accuracy", "95% CI (Wilson)", "passed"]


def gold_note(g: GoldSection) -> str:
    text = (
        f"{g.n_gold_pairs} gold pairs (known answers), {g.n_answers} answers; served blind like "
        "any pair and never counted in any other figure. A rater passes at an accuracy of "
        f"{g.threshold:.0%} or more."
    )
    if g.excluded is not None:
        names = ", ".join(g.excluded.raters) or "nobody"
        text += (
            f" Every other figure here leaves out the {g.excluded.n_raters} rater(s) below "
            f"it ({names}) and their {g.excluded.n_ratings} rating(s)."
        )
    return text


def _gold_cells(g: GoldSection) -> list[list[Any]]:
    return [
        [
            r.annotator,
            r.n,
            r.right,
            r.accuracy,
            f"[{fmt(r.ci_low)}, {fmt(r.ci_high)}]",
            "yes" if r.passed else "no",
        ]
        for r in g.raters
    ]


def labels_note(report: StudyReport) -> str | None:
    info = report.labels
    if info is None:
        return None
    return (
        f"Human labels: adjudicated. {info.n_pairs} rated pair(s) count as their reviewer's "
        f"verdict in place of their {info.n_ratings_replaced} rating(s) "
        f"({info.n_adjudicated} pair(s) of the study are adjudicated); agreement figures no "
        "longer see those pairs."
    )


def quality_md(report: StudyReport) -> list[str]:
    out = [note, ""] if (note := labels_note(report)) else []
    out += graded_md(report)
    g = report.gold
    if g is not None:
        out += ["## Gold pairs", "", gold_note(g), "", table(GOLD_HEADERS, _gold_cells(g)), ""]
    return out


def quality_html(report: StudyReport) -> str:
    note = labels_note(report)
    out = f"<p><b>{escape(note)}</b></p>" if note else ""
    out += graded_html(report)
    g = report.gold
    if g is not None:
        out += f"<h2>Gold pairs</h2><p class='muted'>{escape(gold_note(g))}</p>" + _html_table(
            GOLD_HEADERS, _gold_cells(g)
        )
    return out
