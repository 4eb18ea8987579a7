"""The vote buttons of the Annotate page: three (A / tie / B) or, in a study rated on five
levels (``Study.preference_levels``), five — A much better, A better, tie, B better, B much
better — each with its keyboard shortcut. Keys and labels are neutral: a button carries the
side as shown and a grade, never an id."""

from __future__ import annotations

from dataclasses import dataclass

from sidebyside.foundation.enums import Preference
from sidebyside.foundation.grading import PLAIN, STRONG
from sidebyside.foundation.models import Study
from sidebyside.foundation.rubric import Rubric


@dataclass(frozen=True)
class VoteButton:
    #: The preference as shown ("A" | "B" | "tie") and its grade (None: ungraded or a tie).
    value: str
    strength: int | None
    label: str
    shortcut: str
    #: The widget key (neutral).
    key: str


#: Alt+digit chords, left to right as the buttons stand: they work while a score or the
#: comment has the focus, as the three-level Alt+A / Alt+T / Alt+B do.
FIVE = (
    VoteButton("A", STRONG, "A is much better", "Alt+1", "vote_A2"),
    VoteButton("A", PLAIN, "A is better", "Alt+2", "vote_A1"),
    VoteButton(Preference.TIE.value, None, "Tie", "Alt+3", "vote_tie"),
    VoteButton("B", PLAIN, "B is better", "Alt+4", "vote_B1"),
    VoteButton("B", STRONG, "B is much better", "Alt+5", "vote_B2"),
)


def vote_buttons(
    study: Study, rubric: Rubric, three: tuple[tuple[str, str, str], ...]
) -> list[VoteButton]:
    """The buttons to show: ``three`` are the page's (value, label, shortcut) for a
    three-level study; a study that allows no ties shows no tie button."""
    if study.preference_levels == 5:
        buttons = list(FIVE)
    else:
        buttons = [VoteButton(v, None, label, key, f"vote_{v}") for v, label, key in three]
    return [b for b in buttons if b.value != Preference.TIE or rubric.allow_ties]


def shortcut_help(study: Study, rubric: Rubric) -> str | None:
    """The Guidelines' line on the five-level shortcuts; None for a three-level study."""
    if study.preference_levels != 5:
        return None
    tie = ", **Alt+3** a tie" if rubric.allow_ties else ""
    return (
        "Five levels: **Alt+1** A is much better, **Alt+2** A is better"
        f"{tie}, **Alt+4** B is better, **Alt+5** B is much better."
    )
