"""Small hand-made studies for the analysis tests, built with plain SQLModel inserts."""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import combinations

from sqlmodel import Session

from sidebyside.foundation.models import (
    JudgeVerdict,
    Judgment,
    Output,
    Pair,
    Prompt,
    Rating,
    Study,
    System,
    User,
)
from sidebyside.foundation.rubric import Criterion, Rubric

RUBRIC = Rubric(criteria=[Criterion(name="Accuracy"), Criterion(name="Fluency")])


@dataclass
class Built:
    study: Study
    systems: dict[str, int]
    prompts: list[int]
    #: (prompt index, system_a, system_b) ─► pair id, in canonical order
    pairs: dict[tuple[int, str, str], int]
    users: dict[str, int] = field(default_factory=dict)


def build_study(
    session: Session,
    *,
    name: str = "s",
    systems: tuple[str, ...] = ("base", "tuned"),
    n_prompts: int = 4,
    lengths: dict[str, int] | None = None,
    flip: set[int] | None = None,
) -> Built:
    """Every prompt pairs every two systems; prompt indexes in ``flip`` store the pair the
    other way round. Output text of system s has ``lengths[s]`` characters (default 10)."""
    study = Study(name=name, rubric=RUBRIC.model_dump(), k=3, seed=1)
    session.add(study)
    session.commit()
    sys_rows = {s: System(study_id=study.id, name=s) for s in systems}
    session.add_all(sys_rows.values())
    session.commit()
    prompts, pairs = [], {}
    for i in range(n_prompts):
        p = Prompt(study_id=study.id, external_id=f"p{i}", text=f"Question {i}?")
        session.add(p)
        session.commit()
        prompts.append(p.id)
        outs = {}
        for s in systems:
            n = (lengths or {}).get(s, 10)
            o = Output(prompt_id=p.id, system_id=sys_rows[s].id, text=f"{s[0]}" * n)
            session.add(o)
            session.commit()
            outs[s] = o.id
        for x, y in combinations(systems, 2):
            if flip and i in flip:
                x, y = y, x
            pair = Pair(study_id=study.id, prompt_id=p.id, output_a_id=outs[x], output_b_id=outs[y])
            session.add(pair)
            session.commit()
            pairs[(i, x, y)] = pair.id
    return Built(study, {s: r.id for s, r in sys_rows.items()}, prompts, pairs)


def pair_of(b: Built, i: int, s1: str, s2: str) -> tuple[int, bool]:
    """(pair id, True when s1 is the canonical output_a)."""
    if (i, s1, s2) in b.pairs:
        return b.pairs[(i, s1, s2)], True
    return b.pairs[(i, s2, s1)], False


def user(session: Session, b: Built, name: str) -> int:
    if name not in b.users:
        u = User(username=name, password_hash=None)
        session.add(u)
        session.commit()
        b.users[name] = u.id
    return b.users[name]


def rate(
    session: Session,
    b: Built,
    annotator: str,
    pair_id: int,
    preference: str,
    *,
    scores: dict | None = None,
    swapped: bool | None = None,
) -> None:
    session.add(
        Rating(
            study_id=b.study.id,
            pair_id=pair_id,
            user_id=user(session, b, annotator),
            preference=preference,
            scores=scores or {},
            swapped=swapped,
            time_spent_s=12.5,
        )
    )
    session.commit()


def verdict(
    session: Session,
    b: Built,
    judge: str,
    pair_id: int,
    winner_ab: str | None,
    winner_ba: str | None,
    *,
    mode: str = "pairwise",
) -> None:
    """A reconciled verdict from the two orders (inconsistent ─► tie)."""
    if winner_ab is not None and winner_ba is not None:
        winner = winner_ab if winner_ab == winner_ba else "tie"
        inconsistent = winner_ab != winner_ba
    else:
        winner, inconsistent = (winner_ab or winner_ba or "tie"), False
    session.add(
        JudgeVerdict(
            study_id=b.study.id,
            pair_id=pair_id,
            judge=judge,
            mode=mode,
            winner=winner,
            inconsistent=inconsistent,
            winner_ab=winner_ab,
            winner_ba=winner_ba,
        )
    )
    for order, w in (("ab", winner_ab), ("ba", winner_ba)):
        if w is not None and mode == "pairwise":
            session.add(
                Judgment(
                    study_id=b.study.id,
                    pair_id=pair_id,
                    judge=judge,
                    mode=mode,
                    order=order,
                    winner=w,
                    shown_winner=w.upper() if w != "tie" else "tie",
                    raw=f"[[{w}]]",
                )
            )
    session.commit()


def single_scores(
    session: Session, b: Built, judge: str, pair_id: int, side: str, criteria: dict, overall
) -> None:
    session.add(
        Judgment(
            study_id=b.study.id,
            pair_id=pair_id,
            judge=judge,
            mode="single",
            order=side,
            output_id=0 if side == "a" else 1,
            scores={"criteria": criteria, "overall": overall},
        )
    )
    session.commit()
