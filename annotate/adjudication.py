"""Adjudication: a reviewer settles the pairs where the humans split, or where the human
majority and a chosen judge disagree (the Review page, ``report --labels adjudicated``,
``export --what dpo --labels adjudicated``).

* ``disputed_pairs``: the list, from the verdict frame (so gold pairs never appear): a pair
  is *split* when no answer has a strict majority of its ratings (or, with the study's
  ``min_agreement``, when the most frequent answer's share is below it); it is *judge
  disagrees* when the humans have a majority and the chosen judge's verdict differs.
* ``pair_for_review``: what the reviewer sees: both outputs (blinded: as Response A / B with
  sides seeded per pair, no system names; or by system), every rating and every judge's
  reasoning, in the same terms.
* ``adjudicate``: a verdict with its reason, in shown terms, stored canonical; every verdict
  is kept (``history``), the newest is the pair's label (``analysis.labels``).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, select

from sidebyside.analysis import columns as col
from sidebyside.analysis.labels import load_adjudicated as adjudicated_labels
from sidebyside.analysis.verdicts import load_verdicts
from sidebyside.annotate.blinding import to_canonical, to_shown
from sidebyside.foundation.enums import Preference, VerdictSource
from sidebyside.foundation.errors import InputError, NotFound
from sidebyside.foundation.grading import checked_strength
from sidebyside.foundation.models import (
    Adjudication,
    JudgeVerdict,
    Output,
    Pair,
    Prompt,
    ReviewSettings,
    Study,
    System,
    User,
)

SPLIT, JUDGE_DISAGREES = "split", "judge disagrees"


def review_settings(session: Session, study_id: int) -> ReviewSettings:
    return session.get(ReviewSettings, study_id) or ReviewSettings(study_id=study_id)


def set_review_settings(
    session: Session,
    *,
    study: Study,
    blinded: bool | None = None,
    judge: str | None = None,
    min_agreement: float | None = None,
) -> ReviewSettings:
    row = review_settings(session, study.id)
    if blinded is not None:
        row.blinded = blinded
    if judge is not None:
        known = set(
            session.exec(select(JudgeVerdict.judge).where(JudgeVerdict.study_id == study.id))
        )
        if judge and judge not in known:
            raise InputError(
                f"no verdicts from judge {judge!r} in study {study.name!r} "
                f"(judges: {', '.join(sorted(known)) or 'none yet'})"
            )
        row.judge = judge or None
    if min_agreement is not None:
        if not 0.0 < min_agreement <= 1.0:
            raise InputError(f"min_agreement is a share above 0 and at most 1, got {min_agreement}")
        row.min_agreement = min_agreement
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise InputError("the review settings were changed meanwhile; save them again") from None
    return row


def majority_of(votes: list[str]) -> str | None:
    """The answer with a strict majority of ``votes``, else None.

    >>> majority_of(["a", "a", "b"]), majority_of(["a", "b"]), majority_of(["a", "b", "tie"])
    ('a', None, None)
    """
    if not votes:
        return None
    top, n = Counter(votes).most_common(1)[0]
    return top if n * 2 > len(votes) else None


def disputed_pairs(
    session: Session, *, study: Study, judge: str | None = None
) -> list[dict[str, Any]]:
    """The pairs a reviewer should settle, in pair order: ``pair_id, prompt, n_ratings,
    votes`` ({a, b, tie} counts), ``majority`` (None when split), ``judge_winner``,
    ``reasons`` and ``adjudicated`` (the newest verdict, canonical, or None). ``judge``
    defaults to the study's review setting."""
    settings = review_settings(session, study.id)
    judge = judge or settings.judge
    verdicts = load_verdicts(session, study)
    human = verdicts[verdicts[col.SOURCE] == VerdictSource.HUMAN]
    judged = {}
    if judge:
        jv = verdicts[
            (verdicts[col.SOURCE] == VerdictSource.JUDGE) & (verdicts[col.JUDGE] == judge)
        ]
        judged = dict(zip(jv[col.PAIR_ID], jv[col.PREFERENCE], strict=True))
    labels = adjudicated_labels(session, study.id)
    rows = []
    for pair_id, group in human.groupby(col.PAIR_ID, sort=True):
        votes = list(group[col.PREFERENCE])
        if len(votes) < 2:
            continue  # one rating is no dispute
        majority = majority_of(votes)
        top_share = Counter(votes).most_common(1)[0][1] / len(votes)
        reasons = []
        if majority is None or (
            settings.min_agreement is not None and top_share < settings.min_agreement
        ):
            reasons.append(SPLIT)
        winner = judged.get(pair_id)
        if majority is not None and winner is not None and winner != majority:
            reasons.append(JUDGE_DISAGREES)
        if not reasons:
            continue
        counts = Counter(votes)
        rows.append(
            {
                "pair_id": int(pair_id),
                "prompt": group[col.PROMPT].iloc[0],
                "n_ratings": len(votes),
                "votes": {p.value: counts.get(p.value, 0) for p in Preference},
                "majority": majority,
                "judge_winner": winner,
                "reasons": reasons,
                "adjudicated": labels.get(int(pair_id), (None, None))[0],
            }
        )
    return rows


def review_swapped(study: Study, pair_id: int) -> bool:
    """Whether output_b is Response A for a blinded reviewer (seeded per pair, stable)."""
    digest = hashlib.sha256(f"sidebyside-review:{study.seed}:{pair_id}".encode()).digest()
    return digest[0] % 2 == 1


@dataclass(frozen=True)
class ReviewPair:
    prompt: str
    reference: str | None
    #: The two outputs as shown (left, right) and their titles ("Response A" or a system).
    left: str
    right: str
    left_title: str
    right_title: str
    swapped: bool
    blinded: bool
    #: Every rating: annotator, answer as shown ("A" | "B" | "tie"), comment.
    ratings: list[dict[str, Any]]
    #: Every judge: judge, verdict as shown, reasoning.
    judges: list[dict[str, Any]]
    history: list[dict[str, Any]]


def _shown_word(canonical: str, swapped: bool, titles: tuple[str, str]) -> str:
    shown = to_shown(canonical, swapped)
    return {"A": titles[0], "B": titles[1]}.get(shown, "tie")


def pair_for_review(session: Session, *, study: Study, pair_id: int) -> ReviewPair:
    pair = session.get(Pair, pair_id)
    if pair is None or pair.study_id != study.id:
        raise NotFound(f"no pair {pair_id} in study {study.name!r}")
    blinded = review_settings(session, study.id).blinded
    swapped = review_swapped(study, pair_id) if blinded else False
    prompt = session.get(Prompt, pair.prompt_id)
    out_a, out_b = session.get(Output, pair.output_a_id), session.get(Output, pair.output_b_id)
    left, right = (out_b, out_a) if swapped else (out_a, out_b)
    if blinded:
        titles = ("Response A", "Response B")
    else:
        titles = tuple(session.get(System, o.system_id).name for o in (left, right))
    verdicts = load_verdicts(session, study)
    mine = verdicts[verdicts[col.PAIR_ID] == pair_id]
    ratings, judges = [], []
    for r in mine.itertuples():
        word = _shown_word(r.preference, swapped, titles)
        if r.source == VerdictSource.HUMAN:
            ratings.append({"annotator": r.annotator, "answer": word})
        else:
            judges.append({"judge": r.judge, "answer": word})
    reasonings = {
        v.judge: v.reasoning
        for v in session.exec(select(JudgeVerdict).where(JudgeVerdict.pair_id == pair_id))
    }
    for j in judges:
        j["reasoning"] = reasonings.get(j["judge"], "")
    return ReviewPair(
        prompt=prompt.text,
        reference=prompt.reference,
        left=left.text,
        right=right.text,
        left_title=titles[0],
        right_title=titles[1],
        swapped=swapped,
        blinded=blinded,
        ratings=ratings,
        judges=judges,
        history=[
            {**h, "verdict": _shown_word(h["preference"], swapped, titles)}
            for h in history(session, study_id=study.id, pair_id=pair_id)
        ],
    )


def adjudicate(
    session: Session,
    *,
    study: Study,
    pair_id: int,
    reviewer: User,
    shown: str,
    reason: str,
    swapped: bool,
    blinded: bool,
    strength: int | None = None,
) -> Adjudication:
    """Record a verdict given as shown (``A`` = the left output) with its reason; the
    caller commits. ``swapped``/``blinded``: how the pair was shown."""
    reason = (reason or "").strip()
    if not reason:
        raise InputError("say why: a verdict needs its reason")
    pair = session.get(Pair, pair_id)
    if pair is None or pair.study_id != study.id:
        raise NotFound(f"no pair {pair_id} in study {study.name!r}")
    canonical = to_canonical(shown, swapped)
    strength = checked_strength(study.preference_levels, canonical, strength)
    row = Adjudication(
        study_id=study.id,
        pair_id=pair_id,
        user_id=reviewer.id,
        preference=canonical.value,
        strength=strength,
        reason=reason[:5000],
        blinded=blinded,
    )
    session.add(row)
    session.flush()
    return row


def history(session: Session, *, study_id: int, pair_id: int) -> list[dict[str, Any]]:
    """Every verdict on the pair, oldest first: ``reviewer, preference`` (canonical),
    ``reason, blinded, at``."""
    rows = session.exec(
        select(Adjudication, User.username)
        .join(User, User.id == Adjudication.user_id)
        .where(Adjudication.study_id == study_id, Adjudication.pair_id == pair_id)
        .order_by(Adjudication.created_at, Adjudication.id)
    ).all()
    return [
        {
            "reviewer": name,
            "preference": a.preference,
            "reason": a.reason,
            "blinded": a.blinded,
            "at": a.created_at,
        }
        for a, name in rows
    ]
