"""Load the versioned prompt templates in judge/prompts/ and render judge messages.

A template file has ``[system]``, ``[user]`` and ``[reference]`` sections; ``$name``
placeholders are filled with :class:`string.Template`, so braces in model outputs and in the
JSON examples need no escaping. The file name (without ``.txt``) is the template version stored
on every judgment and hashed into the cache key: change a prompt by adding a new file.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from string import Template

from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import InputError, NotFound
from sidebyside.foundation.rubric import Rubric

PROMPTS_DIR = Path(__file__).resolve().parent / "prompts"
DEFAULT_TEMPLATES = {JudgeMode.PAIRWISE: "pairwise_v1", JudgeMode.SINGLE: "single_v1"}
#: The pairwise default for a conversation's later turns (MT-Bench's multi-turn pair setup).
MULTITURN_TEMPLATE = "pairwise_multiturn_v1"
_SECTION = re.compile(r"^\[(system|user|reference)\]\s*$", re.MULTILINE)


@dataclass(frozen=True)
class PromptTemplate:
    #: Stored on every judgment and hashed into the cache key: the bundled file's stem, or
    #: ``STEM@HASH`` for a file of the user's (the hash of its text, so an edit re-asks).
    name: str
    system: str
    user: str
    reference: str
    #: Appended to the judge's name (``openai:gpt-4o#strict``) so that verdicts under this
    #: template are kept apart from the default's; None for the mode's default template.
    label: str | None = None

    def version(self, with_reference: bool) -> str:
        return f"{self.name}+ref" if with_reference else self.name


def _parse(path: Path, text: str, name: str, label: str | None) -> PromptTemplate:
    parts = _SECTION.split(text)
    sections = {parts[i]: parts[i + 1].strip("\n") for i in range(1, len(parts) - 1, 2)}
    missing = {"system", "user", "reference"} - sections.keys()
    if missing:
        raise InputError(
            f"{path}: missing section(s) {', '.join(sorted(missing))}; a template has "
            "[system], [user] and [reference] sections (see judge/prompts/)"
        )
    return PromptTemplate(name, sections["system"], sections["user"], sections["reference"], label)


@lru_cache(maxsize=16)
def load_template(name: str) -> PromptTemplate:
    """Read the bundled ``judge/prompts/NAME.txt``; a missing file raises ``NotFound``, a
    malformed one ``InputError``."""
    path = PROMPTS_DIR / f"{name}.txt"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.txt")))
        raise NotFound(f"no prompt template {name!r} in {PROMPTS_DIR} (known: {known})")
    label = None if name in {*DEFAULT_TEMPLATES.values(), MULTITURN_TEMPLATE} else name
    return _parse(path, path.read_text(encoding="utf-8"), name, label)


def resolve_template(ref: str | None, mode: JudgeMode) -> PromptTemplate:
    """The template a run uses: the mode's default (``ref`` None), a bundled name, or the
    path of a template file of the user's."""
    if ref is None:
        return load_template(DEFAULT_TEMPLATES[mode])
    path = Path(ref).expanduser()
    if not (path.suffix == ".txt" or path.is_file()):
        return load_template(ref)
    if not path.is_file():
        raise InputError(f"template file {path} does not exist")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"template file {path}: cannot read it as UTF-8 ({exc})") from exc
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "-", path.stem)[:30] or "template"
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    template = _parse(path, text, f"{stem}@{digest}", stem)
    _check_placeholders(path, template, mode)
    return template


#: The placeholders each mode fills; a user's template may use any of them, and no others.
_PLACEHOLDERS = {
    JudgeMode.PAIRWISE: {
        "system": {"criteria", "tie_rule", "turn"},
        "user": {
            "prompt",
            "response_a",
            "response_b",
            "reference_section",
            "conversation_a",
            "conversation_b",
            "turn",
        },
    },
    JudgeMode.SINGLE: {
        "system": {"criteria", "scale_min", "scale_max", "score_keys"},
        "user": {"prompt", "response", "reference_section"},
    },
}


def _check_placeholders(path: Path, template: PromptTemplate, mode: JudgeMode) -> None:
    """Fail before any request when a template names a placeholder this mode never fills
    (a typo would otherwise stop the run at the first pair)."""
    allowed = {**_PLACEHOLDERS[mode], "reference": {"reference"}}
    for section in ("system", "user", "reference"):
        body = getattr(template, section)
        bad = next(
            (m for m in Template.pattern.finditer(body) if m.group("invalid") is not None), None
        )
        if bad is not None:
            snippet = body[bad.start() : bad.start() + 20].splitlines()[0]
            raise InputError(
                f"{path}: [{section}] has a $ that starts no placeholder at {snippet!r}; "
                "write $$ for a dollar sign"
            )
        found = {
            m.group("named") or m.group("braced")
            for m in Template.pattern.finditer(body)
            if m.group("named") or m.group("braced")
        }
        unknown = sorted(found - allowed[section])
        if unknown:
            raise InputError(
                f"{path}: [{section}] uses ${', $'.join(unknown)}, which {mode} mode does not "
                f"fill; it can use ${', $'.join(sorted(allowed[section]))} ($$ for a dollar sign)"
            )
    shown = _names(template.user)
    if mode == JudgeMode.PAIRWISE and not (
        {"response_a", "response_b"} <= shown or {"conversation_a", "conversation_b"} <= shown
    ):
        raise InputError(
            f"{path}: [user] must show both $response_a and $response_b (or both "
            "$conversation_a and $conversation_b)"
        )
    if mode == JudgeMode.SINGLE and "response" not in _names(template.user):
        raise InputError(f"{path}: [user] must show $response")


def _names(body: str) -> set[str]:
    return {m.group("named") or m.group("braced") for m in Template.pattern.finditer(body)}


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
    conversation: dict[str, object] | None = None,
) -> list[dict[str, str]]:
    """Messages (system + user) asking which of two responses is better. ``conversation``
    fills a multi-turn template's ``$conversation_a``, ``$conversation_b`` and ``$turn``."""
    tie_rule = (
        'Answer "tie" only when neither response is meaningfully better.'
        if rubric.allow_ties
        else 'Always pick "A" or "B"; do not answer "tie".'
    )
    turn = (conversation or {}).get("turn", 1)
    system = Template(template.system).substitute(
        criteria=_criteria_lines(rubric), tie_rule=tie_rule, turn=turn
    )
    user = Template(template.user).substitute(
        prompt=prompt,
        response_a=response_a,
        response_b=response_b,
        reference_section=_reference_section(template, reference),
        **(conversation or {"conversation_a": "", "conversation_b": "", "turn": 1}),
    )
    return _messages(system, user)


def uses_conversations(template: PromptTemplate) -> bool:
    """Whether a pairwise template shows the whole conversations (``$conversation_a/b``)."""
    return {"conversation_a", "conversation_b"} <= _names(template.user)


def transcript(turns: Sequence[tuple[str, str]], assistant: str, system: str | None) -> str:
    """A conversation as MT-Bench's multi-turn judge prompt lays it out.

    >>> print(transcript([("Hi", "Hello!")], "Assistant A", None))
    ### User:
    Hi
    <BLANKLINE>
    ### Assistant A:
    Hello!
    """
    parts = [f"### System:\n{system}"] if system else []
    for user, answer in turns:
        parts += [f"### User:\n{user}", f"### {assistant}:\n{answer}"]
    return "\n\n".join(parts)


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
