"""The rating rubric of a study: criteria on an integer scale plus an overall preference.

A criterion's name is checked where a rubric is made (the model's validators, so ``study
create --rubric``, the Studies page and any ``Rubric(...)`` alike): not blank, at most
``NAME_MAX`` characters, no control characters or line breaks, and unique ignoring case.
Any other name is fine: the analysis keeps criterion scores in their own namespace
(``analysis.columns``), so ``system``, ``len`` or ``preference`` are valid criteria.
"""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sidebyside.foundation.errors import InputError

if TYPE_CHECKING:
    from sidebyside.foundation.models import Study


#: Longest criterion name: room for a descriptive name, short enough for a table header.
NAME_MAX = 100
#: Unicode categories a name may not contain: controls (tab, newline, NUL, ESC…) and the
#: line and paragraph separators, which break table rows and file headers.
_FORBIDDEN = frozenset({"Cc", "Zl", "Zp"})


def check_criterion_name(name: str) -> str:
    """``name`` if it can name a criterion, else ValueError saying which name and why.

    >>> check_criterion_name("Format compliance")
    'Format compliance'
    >>> check_criterion_name("Tone\\tand style")
    Traceback (most recent call last):
    ValueError: criterion name 'Tone\\tand style' contains a control character (U+0009)
    """
    if not name.strip():
        raise ValueError(f"criterion name {name!r} is empty")
    if len(name) > NAME_MAX:
        raise ValueError(
            f"criterion name {name[:40]!r}… is {len(name)} characters long; "
            f"at most {NAME_MAX} are allowed"
        )
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN:
            raise ValueError(
                f"criterion name {name!r} contains a control character (U+{ord(char):04X})"
            )
    return name


class Criterion(BaseModel):
    """One rubric criterion, rated for each response."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(
        description=f"Short name shown to raters: 1–{NAME_MAX} characters, no control "
        "characters, unique in the rubric ignoring case."
    )
    description: str = Field(default="", max_length=500, description="One-line explanation.")

    @field_validator("name")
    @classmethod
    def _check_name(cls, name: str) -> str:
        return check_criterion_name(name)


class Rubric(BaseModel):
    """What annotators (and judges) are asked; stored as JSON on the study."""

    model_config = ConfigDict(extra="forbid")

    criteria: list[Criterion] = Field(description="Criteria rated on each response.")
    scale_min: int = Field(default=1, description="Lowest score of every criterion.")
    scale_max: int = Field(default=5, description="Highest score of every criterion.")
    allow_ties: bool = Field(default=True, description="Whether 'Tie' is offered as preference.")
    guidelines: str = Field(default="", description="Markdown instructions shown to annotators.")

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        if self.scale_max <= self.scale_min:
            raise ValueError(
                f"scale_max ({self.scale_max}) must be greater than scale_min ({self.scale_min})"
            )
        names = [c.name.strip().lower() for c in self.criteria]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"duplicate criterion names: {', '.join(dupes)}")
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]

    @classmethod
    def from_file(cls, path: str | Path) -> Rubric:
        """Read a rubric from JSON; a bad file raises ``InputError`` naming the file."""
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except ValidationError as exc:
            raise InputError(f"{path}: not a valid rubric: {rubric_error(exc)}") from exc
        except (OSError, json.JSONDecodeError, ValueError) as exc:
            raise InputError(f"{path}: not a valid rubric: {exc}") from exc


def rubric_error(exc: ValidationError) -> str:
    """A rubric's validation errors on one line, each with where it is: ``criteria.1.name:
    criterion name 'tab\\there' contains a control character (U+0009)``."""
    return "; ".join(
        f"{'.'.join(str(p) for p in err['loc']) or 'rubric'}: "
        f"{err['msg'].removeprefix('Value error, ')}"
        for err in exc.errors()
    )


DEFAULT_GUIDELINES = """\
Read the prompt, then both responses. Score each response on every criterion, then say which
response is better overall. Judge the content, not the length: a longer answer is not better
unless the extra text helps. An empty response scores the minimum on every criterion.
"""


def default_rubric() -> Rubric:
    return Rubric(
        criteria=[
            Criterion(name="Accuracy", description="Facts, reasoning and code are correct."),
            Criterion(name="Relevance", description="Answers what was asked, nothing off-topic."),
            Criterion(
                name="Format compliance",
                description="Follows the requested format, length and style.",
            ),
            Criterion(name="Fluency", description="Clear, grammatical, easy to read."),
        ],
        guidelines=DEFAULT_GUIDELINES,
    )


def rubric_of(study: Study) -> Rubric:
    """The rubric a study stores (as JSON), read back into a ``Rubric``."""
    return Rubric.model_validate(study.rubric)
