"""The rating rubric of a study: criteria on an integer scale plus an overall preference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, model_validator

if TYPE_CHECKING:
    from sidebyside.foundation.models import Study


class Criterion(BaseModel):
    """One rubric criterion, rated for each response."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=60, description="Short name shown to raters.")
    description: str = Field(default="", max_length=500, description="One-line explanation.")


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
        """Read a rubric from JSON; a bad file raises ValueError naming the file."""
        path = Path(path)
        try:
            return cls.model_validate(json.loads(path.read_text(encoding="utf-8")))
        except (OSError, json.JSONDecodeError, ValueError) as exc:
            raise ValueError(f"{path}: not a valid rubric: {exc}") from exc


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
