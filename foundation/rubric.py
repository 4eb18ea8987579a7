"""The rating rubric of a study: criteria on an integer scale plus an overall preference.

A criterion's name is checked where a rubric is made (the model's validators, so ``study
create --rubric``, the Studies page and any ``Rubric(...)`` alike): not blank, at most
``NAME_MAX`` characters, no control characters or line breaks, and unique ignoring case.
Any other name is fine: the analysis keeps criterion scores in their own namespace
(``analysis.columns``), so ``system``, ``len`` or ``preference`` are valid criteria.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sidebyside.foundation.errors import InputError
from sidebyside.foundation.names import fold, name_problem, normalise
from sidebyside.foundation.readers import decode, json_document, read_utf8

if TYPE_CHECKING:
    from sidebyside.foundation.models import Study


#: Longest criterion name: room for a descriptive name, short enough for a table header.
NAME_MAX = 100


def check_criterion_name(name: str) -> str:
    """``name`` (NFC, trimmed) if it can name a criterion, else ValueError saying which name
    and why (the rules of ``foundation.names``).

    >>> check_criterion_name("Format compliance")
    'Format compliance'
    >>> try:
    ...     check_criterion_name("Tone\\tand style")
    ... except ValueError as exc:
    ...     print(str(exc)[-32:])
    character (U+0009) at position 5
    """
    if not name.strip():
        raise ValueError(f"criterion name {name!r} is blank")
    if len(name) > NAME_MAX:
        raise ValueError(
            f"criterion name {name[:40]!r}… is {len(name)} characters long; "
            f"at most {NAME_MAX} are allowed"
        )
    problem = name_problem(name)
    if problem:
        raise ValueError(f"criterion name {name!r} {problem}")
    return normalise(name)


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
    preference_only: bool = Field(
        default=False,
        description="True for a rubric of no criteria: annotators give only the preference.",
    )

    @model_validator(mode="after")
    def _check(self) -> Rubric:
        if self.scale_max <= self.scale_min:
            raise ValueError(
                f"scale_max ({self.scale_max}) must be greater than scale_min ({self.scale_min})"
            )
        first: dict[str, int] = {}
        for i, c in enumerate(self.criteria):
            j = first.setdefault(fold(c.name), i)
            if j != i:  # the place of both, as the reader's errors give theirs
                other = self.criteria[j].name
                how = "the same name" if other == c.name else "differs only by case"
                raise ValueError(
                    f"duplicate criterion names: {fold(c.name)} (criteria.{j}.name {other!r} "
                    f"and criteria.{i}.name {c.name!r}: {how}; compared ignoring case)"
                )
        if not self.criteria and not self.preference_only:
            raise ValueError(
                'a rubric needs at least one criterion, or "preference_only": true for '
                "a study that asks only which response is better"
            )
        if self.criteria and self.preference_only:
            raise ValueError('a rubric with criteria cannot be "preference_only"')
        return self

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.criteria]

    @classmethod
    def from_file(cls, path: str | Path) -> Rubric:
        """Read a rubric from JSON; a bad file raises ``InputError`` naming the file (and
        the place, for what the reader finds)."""
        return cls.from_text(str(path), read_utf8(path))

    @classmethod
    def from_bytes(cls, name: str, data: bytes) -> Rubric:
        """A rubric from an uploaded file's bytes, read as every import is (``readers``)."""
        return cls.from_text(name, decode(name, data))

    @classmethod
    def from_text(cls, name: str, text: str) -> Rubric:
        # The one reader of input files: a BOM dropped, NUL refused, duplicate keys and
        # nesting too deep for the parser refused with their place, as in every import.
        document = json_document(name, text)
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            raise InputError(f"{name}: not a valid rubric: {rubric_error(exc)}") from exc


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
