"""Load the versioned prompt templates in judge/prompts/ and render judge messages.

A template file has ``[system]``, ``[user]`` and ``[reference]`` sections; ``$name``
placeholders are filled with :class:`string.Template`, so braces in model outputs and in the
JSON examples need no escaping. The file name (without ``.txt``) is the template version stored
on every judgment and hashed into the cache key: change a prompt by adding a new file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from annotate.rubric import Rubric

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
DEFAULT_TEMPLATES = {"pairwise": "pairwise_v1", "single": "single_v1"}
_SECTION = re.compile(r"^\[(system|user|reference)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    name: str
    system: str
    user: str
    reference: str

    def version(self, with_reference: bool) -> str:
        return f"{self.name}+ref" if with_reference else self.name


@lru_cache(maxsize=16)
def load_template(name: str) -> PromptTemplate:
    """Read ``judge/prompts/NAME.txt``; a missing or malformed file raises ValueError."""
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.txt")))
        raise ValueError(f"no prompt template {name!r} in {PROMPTS_DIR} (known: {known})")
    text = path.read_text(encoding="utf-8")
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    missing = {"system", "user", "reference"} - sections.keys()
    if missing:
        raise ValueError(f"{path}: missing section(s) {', '.join(sorted(missing))}")
    return PromptTemplate(name, sections["system"], sections["user"], sections["reference"])


def _criteria_lines(rubric: Rubric) -> str:
    return "\n".join(
        f"- {c.name}: {c.description}" if c.description else f"- {c.name}" for c in rubric.criteria
    )


def _reference_section(template: PromptTemplate, reference: str | None) -> str:
    if reference is None:
        return ""
    return Template(template.reference).substitute(reference=reference)


def _messages(system: str, user: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


def render_pairwise(
    template: PromptTemplate,
    *,
    rubric: Rubric,
    prompt: str,
    response_a: str,
    response_b: str,
    reference: str | None = None,
) -> list[dict[str, str]]:
    """Messages (system + user) asking which of two responses is better."""
    tie_rule = (
        'Answer "tie" only when neither response is meaningfully better.'
        if rubric.allow_ties
        else 'Always pick "A" or "B"; do not answer "tie".'
    )
    system = Template(template.system).substitute(
        criteria=_criteria_lines(rubric), tie_rule=tie_rule
    )
    user = Template(template.user).substitute(
        prompt=prompt,
        response_a=response_a,
        response_b=response_b,
        reference_section=_reference_section(template, reference),
    )
    return _messages(system, user)


def render_single(
    template: PromptTemplate,
    *,
    rubric: Rubric,
    prompt: str,
    response: str,
    reference: str | None = None,
) -> list[dict[str, str]]:
    """Messages asking for per-criterion scores and an overall 1-10 score of one response."""
    score_keys = ", ".join(
        f'"{c.name}": <{rubric.scale_min}-{rubric.scale_max}>' for c in rubric.criteria
    )
    system = Template(template.system).substitute(
        criteria=_criteria_lines(rubric),
        scale_min=rubric.scale_min,
        scale_max=rubric.scale_max,
        score_keys=score_keys,
    )
    user = Template(template.user).substitute(
        prompt=prompt,
        response=response,
        reference_section=_reference_section(template, reference),
    )
    return _messages(system, user)
