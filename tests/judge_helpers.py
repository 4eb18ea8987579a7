"""Study fixtures for the judge tests, written with plain SQLModel inserts, and a scripted fake
provider that registers through the real registry (``registry.register(SCRIPTED)``)."""

from __future__ import annotations

from itertools import combinations

from sqlmodel import Session

from sidebyside.foundation.errors import ProviderError
from sidebyside.foundation.models import Output, Pair, Prompt, Study, System
from sidebyside.foundation.rubric import default_rubric
from sidebyside.judge.providers.base import Completion, JudgeRequest
from sidebyside.judge.providers.registry import ProviderInfo
from sidebyside.judge.specs import JudgeSpec
from tests.judge_server import always_a_judge, longest_judge

#: The whole declaration of the fake provider: ``scripted:longest``, ``scripted:always-a``,
#: ``scripted:garbage`` (unparsable answers) or ``scripted:broken`` (every call fails).
SCRIPTED = ProviderInfo(
    name="scripted",
    target="tests.judge_helpers:ScriptedJudge",
    models=("longest", "always-a", "garbage", "broken"),
)


class ScriptedJudge:
    """A judge that answers from a script (the loopback server's), with no SDK and no network;
    ``requests`` records what the runner sent."""

    base_url = None

    def __init__(self, spec: JudgeSpec, **_: object):
        self.spec = spec
        self.requests: list[JudgeRequest] = []
        self.closed = False

    async def complete(self, request: JudgeRequest) -> Completion:
        self.requests.append(request)
        messages = list(request.messages)
        if self.spec.model == "broken":
            raise ProviderError("scripted failure")
        if self.spec.model == "garbage":
            text = "I cannot decide."
        elif self.spec.model == "always-a":
            text = always_a_judge(messages)
        else:
            text = longest_judge(messages)
        return Completion(text=text, input_tokens=10, output_tokens=5)

    async def aclose(self) -> None:
        self.closed = True


def make_study(
    session: Session,
    *,
    name: str = "judged",
    n_prompts: int = 6,
    systems: tuple[str, ...] = ("base", "tuned"),
    references: bool = False,
    texts: dict[str, str] | None = None,
) -> Study:
    """A study where system i answers prompt p with a text of length growing in i (so
    "longest" always prefers the last system), every two systems paired on every prompt."""
    study = Study(name=name, rubric=default_rubric().model_dump(), k=1, seed=3)
    session.add(study)
    session.flush()
    rows = [System(study_id=study.id, name=s) for s in systems]
    session.add_all(rows)
    session.flush()
    for p in range(n_prompts):
        prompt = Prompt(
            study_id=study.id,
            external_id=f"p{p}",
            text=f"Question {p}: what is {p} + {p}?",
            reference=f"{2 * p}" if references else None,
        )
        session.add(prompt)
        session.flush()
        outputs = []
        for i, system in enumerate(rows):
            text = (texts or {}).get(system.name) or (
                f"{system.name} says {2 * p}." + " Indeed." * i
            )
            out = Output(prompt_id=prompt.id, system_id=system.id, text=text)
            session.add(out)
            session.flush()
            outputs.append(out)
        for a, b in combinations(outputs, 2):
            session.add(
                Pair(study_id=study.id, prompt_id=prompt.id, output_a_id=a.id, output_b_id=b.id)
            )
    session.commit()
    session.refresh(study)
    return study
