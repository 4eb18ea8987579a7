"""``judge-probe``: what flips a judge. Take pairs the judge decided (a consistent A or B
verdict of both orders), perturb the *losing* response with each probe (judge/probing.py)
and judge the pair again, both orders; as a control, perturb the *winning* response the same
way. A judge the perturbation sways flips to the perturbed loser and stays with a perturbed
winner; a fair judge does neither.

The probe calls go through the normal runner (cache, cost, budget, both orders, batch APIs):
each (probe, arm) is its own judge name, ``SPEC#probe-pad`` and ``SPEC#probe-pad-control``,
stored in mode ``probe`` (never a verdict), with what was perturbed in the judgment's
``scores`` column; the figures are computed from the stored rows (analysis/probes.py).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from sidebyside.foundation.enums import JudgeMode, Preference
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.lookup import get_study
from sidebyside.foundation.models import JudgeVerdict, Output, Pair, Prompt, Study
from sidebyside.judge.pricing import Prices
from sidebyside.judge.probing import Probe, apply, load_probes
from sidebyside.judge.providers.base import Judge
from sidebyside.judge.runner import RunResult
from sidebyside.judge.service import JudgeRunConfig, build_judges, execute_tasks
from sidebyside.judge.specs import JudgeSpec
from sidebyside.judge.tasks import Task, build_tasks

#: "probe": the loser perturbed; "control": the winner perturbed the same way.
ARMS = ("probe", "control")
DEFAULT_N = 200


def probe_spec(spec: JudgeSpec, probe: str, arm: str) -> JudgeSpec:
    """The name a probe's judgments are stored under (baselines too: they are judged again)."""
    label = f"probe-{probe}" + ("-control" if arm == "control" else "")
    return JudgeSpec(
        spec.provider,
        spec.model,
        spec.base_url,
        f"{spec.variant}+{label}" if spec.variant else label,
    )


@dataclass
class ProbePlan:
    tasks: list[Task]
    #: Probe judge name -> the judge it asks again.
    judge_of: dict[str, str]
    #: Base judge name -> the decided pairs probed.
    pairs: dict[str, list[int]]


def decided_pairs(session: Session, study_id: int, judge: str) -> list[tuple[int, str]]:
    """(pair_id, winner) of the pairs ``judge`` decided: both orders agreed on A or B."""
    rows = session.exec(
        select(JudgeVerdict.pair_id, JudgeVerdict.winner).where(
            JudgeVerdict.study_id == study_id,
            JudgeVerdict.judge == judge,
            JudgeVerdict.mode == JudgeMode.PAIRWISE,
            col(JudgeVerdict.inconsistent).is_(False),
            col(JudgeVerdict.winner).in_([Preference.A, Preference.B]),
        )
    ).all()
    return sorted((int(p), str(w)) for p, w in rows)


def plan_probes(
    session: Session,
    study: Study,
    config: JudgeRunConfig,
    probes: list[Probe],
    *,
    n: int = DEFAULT_N,
    seed: int = 0,
) -> ProbePlan:
    """Every probe call: per judge, up to ``n`` decided pairs (a seeded sample), each probe,
    both arms, both orders. ``InputError`` for a judge without decided pairs."""
    if n < 1:
        raise InputError(f"--n must be at least 1, got {n}")
    options = replace(config.plan_options(), samples=1)
    texts = dict(
        session.exec(
            select(Output.id, Output.text).join(Prompt).where(Prompt.study_id == study.id)
        ).all()
    )
    outputs = {
        p.id: (texts[p.output_a_id], texts[p.output_b_id])
        for p in session.exec(select(Pair).where(Pair.study_id == study.id)).all()
    }
    plan = ProbePlan([], {}, {})
    for spec in config.specs():
        decided = decided_pairs(session, study.id, spec.name)
        if not decided:
            raise InputError(
                f"judge {spec.name} has no decided pair on study {study.name!r} (a consistent "
                f"A or B verdict); run `sidebyside judge {study.name} -j {spec.name.split('#')[0]}"
                + (f" --template {config.template}" if config.template else "")
                + "` first"
            )
        chosen = sorted(random.Random(seed).sample(decided, min(n, len(decided))))
        plan.pairs[spec.name] = [p for p, _ in chosen]
        for probe in probes:
            for arm in ARMS:
                shown, meta = {}, {}
                for pair_id, winner in chosen:
                    a, b = outputs[pair_id]
                    loser = Preference.B if winner == Preference.A else Preference.A
                    side = loser if arm == "probe" else winner
                    own, other = (a, b) if side == Preference.A else (b, a)
                    new = apply(probe, own, other, seed=f"{seed}|{probe.name}|{pair_id}|{arm}")
                    shown[pair_id] = (new, b) if side == Preference.A else (a, new)
                    meta[pair_id] = {
                        "judge": spec.name,
                        "probe": probe.name,
                        "arm": arm,
                        "perturbed": str(side),
                        "winner": winner,
                    }
                named = probe_spec(spec, probe.name, arm)
                plan.judge_of[named.name] = spec.name
                plan.tasks += build_tasks(
                    session,
                    study=study,
                    specs=[named],
                    options=options,
                    texts=shown,
                    store_mode=JudgeMode.PROBE,
                    meta=meta,
                )
    return plan


async def run_probes_async(
    engine: Engine,
    study_ref: str | int,
    config: JudgeRunConfig,
    probe_refs: list[str] | str,
    *,
    n: int = DEFAULT_N,
    seed: int = 0,
    judges: dict[str, Judge] | None = None,
) -> tuple[ProbePlan, RunResult]:
    """Plan and send every probe call (probes, study and judges checked first)."""
    probes = load_probes(probe_refs)
    specs = config.specs()
    with Session(engine) as session:
        study = get_study(session, study_ref)
        plan = plan_probes(session, study, config, probes, n=n, seed=seed)
    built = judges if judges is not None else build_judges(specs, config)
    by_name = {name: built[base] for name, base in plan.judge_of.items()}
    result = await execute_tasks(
        engine, config, plan.tasks, by_name, prices=Prices.load(config.prices_file)
    )
    return plan, result
