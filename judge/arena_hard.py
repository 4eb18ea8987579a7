"""Arena-hard-auto's judgment files, read as they are (``import-judgments``).

One JSON object per line, as ``gen_judgment.py`` writes them:

* v0.1: ``{"question_id", "model", "judge", "games": [game, game]}``;
* v2: ``{"uid", "category", "judge", "model", "baseline", "games": [game, game]}``;

where each game is ``{"score": "A>>B" | "A>B" | "A=B" | "B>A" | "B>>A" | null, "judgment":
text (v0.1) or {"answer": text} (v2), ...}``. Game 1 shows the baseline as assistant A and
the model as B, game 2 the other way round. v0.1 files do not name the baseline: the
importer is told it (``--baseline``). The question id is the prompt's ``prompt_id`` and the
model names are systems of the study (import its ``model_answer`` files first).

Both games are kept as the judge's two orders (``Judgment`` rows with their grade) and
reconciled as a judge run is: agreeing orders give the verdict, its strength the weaker of
the two; disagreeing orders a tie flagged inconsistent; a game without a score (arena-hard's
null) is an unparsed answer and the pair gets no verdict. The graded figures count each game
as arena-hard does (``analysis.graded``). All or nothing, every problem with file and line;
re-importing replaces the judge's imported rows on the same pairs.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete
from sqlmodel import Session, select

from sidebyside.foundation.enums import JudgeMode, JudgmentStatus, Order
from sidebyside.foundation.grading import LABELS, parse_label
from sidebyside.foundation.models import (
    JudgeVerdict,
    Judgment,
    Output,
    Pair,
    Prompt,
    Study,
    System,
)
from sidebyside.judge.parsing import shown_to_canonical
from sidebyside.judge.reconcile import combine_orders, combine_strengths
from sidebyside.judge.specs import ENSEMBLE

IMPORTED = JudgeMode.IMPORTED
TEMPLATE = "arena-hard"


class ArenaHardError(Exception):
    """One row's problem (the caller adds file and line)."""


def is_arena_hard(record: dict[str, Any]) -> bool:
    """Whether a judgment record is arena-hard's (it has its ``games``)."""
    return isinstance(record.get("games"), list) and "model" in record


@dataclass
class _Game:
    order: Order
    status: JudgmentStatus
    shown: str | None  # "A" | "B" | "tie"
    winner: str | None  # canonical
    strength: int | None
    text: str
    raw: str
    error: str | None


@dataclass
class _Row:
    judge: str
    pair_id: int
    games: list[_Game]


def _text(game: dict[str, Any]) -> str:
    judgment = game.get("judgment")
    if isinstance(judgment, dict):
        judgment = judgment.get("answer", json.dumps(judgment, ensure_ascii=False))
    return "" if judgment is None else str(judgment)


class _Index:
    """The study's prompts, systems, outputs and pairs, looked up by every row."""

    def __init__(self, session: Session, study: Study):
        self.name = study.name
        self.prompts = {
            p.external_id: p.id
            for p in session.exec(select(Prompt).where(Prompt.study_id == study.id))
        }
        self.systems = {
            s.name: s.id for s in session.exec(select(System).where(System.study_id == study.id))
        }
        self.outputs = {
            (o.prompt_id, o.system_id): o.id
            for o in session.exec(select(Output).join(Prompt).where(Prompt.study_id == study.id))
        }
        self.pairs = {
            (p.output_a_id, p.output_b_id): p.id
            for p in session.exec(select(Pair).where(Pair.study_id == study.id))
        }

    def pair(self, qid: str, model: str, baseline: str) -> tuple[int, bool]:
        """(pair id, whether the baseline is its output_a)."""
        prompt = self.prompts.get(qid)
        if prompt is None:
            raise ArenaHardError(f"question {qid!r} is not a prompt_id of study {self.name!r}")
        for who in (model, baseline):
            if who not in self.systems:
                known = ", ".join(sorted(self.systems))
                raise ArenaHardError(f"model {who!r} is not a system of the study ({known})")
        out_m = self.outputs.get((prompt, self.systems[model]))
        out_b = self.outputs.get((prompt, self.systems[baseline]))
        if (out_b, out_m) in self.pairs:
            return self.pairs[(out_b, out_m)], True
        if (out_m, out_b) in self.pairs:
            return self.pairs[(out_m, out_b)], False
        raise ArenaHardError(f"no pair of {model!r} and {baseline!r} on question {qid!r}")


def _game(game: Any, number: int, order: Order) -> _Game:
    if game is not None and not isinstance(game, dict):
        raise ArenaHardError(f"game {number} is not an object")
    if game is None or game.get("score") is None:  # arena-hard's "no verdict found"
        text = "" if game is None else _text(game)
        return _Game(order, JudgmentStatus.UNPARSED, None, None, None, text, text, "no score")
    score = game.get("score")
    parsed = parse_label(score) if isinstance(score, str) else None
    if parsed is None:
        raise ArenaHardError(
            f"game {number} score {score!r} is not one of {', '.join(LABELS)} (or null)"
        )
    direction, strength = parsed
    shown = "tie" if direction == "tie" else direction.upper()
    text = _text(game)
    return _Game(
        order,
        JudgmentStatus.OK,
        shown,
        shown_to_canonical(shown, order).value,
        strength,
        text,
        text,
        None,
    )


def _row(record: dict[str, Any], index: _Index, baseline: str | None) -> _Row:
    qid = record.get("uid", record.get("question_id"))
    if qid is None or str(qid).strip() == "":
        raise ArenaHardError("missing 'uid' (v2) or 'question_id' (v0.1)")
    judge = str(record.get("judge") or "").strip()
    if not judge:
        raise ArenaHardError("missing 'judge'")
    if judge.lower() == ENSEMBLE:
        raise ArenaHardError("judge name 'ensemble' is reserved; rename it")
    model = str(record.get("model") or "").strip()
    base = str(record.get("baseline") or baseline or "").strip()
    if not base:
        raise ArenaHardError(
            "the record names no baseline (arena-hard v0.1 files do not): pass --baseline"
        )
    games = record["games"]
    if len(games) != 2:
        raise ArenaHardError(f"'games' has {len(games)} games; arena-hard writes two")
    pair_id, baseline_is_a = index.pair(str(qid), model, base)
    # Game 1 shows the baseline as A: order "ab" when the baseline is the pair's output_a.
    first = Order.AB if baseline_is_a else Order.BA
    second = Order.BA if first == Order.AB else Order.AB
    return _Row(judge, pair_id, [_game(games[0], 1, first), _game(games[1], 2, second)])


@dataclass
class ArenaHardSummary:
    rows: int = 0
    inserted: int = 0
    replaced: int = 0
    #: Pairs with a game without a score: their answers are kept, never a vote.
    unparsed: int = 0
    inconsistent: int = 0


def read_arena_hard(
    session: Session,
    *,
    study: Study,
    name: str,
    records: list[tuple[int, dict[str, Any]]],
    baseline: str | None,
) -> tuple[list[_Row], list[str]]:
    """Every row checked: (rows, problems as ``file:line: message``)."""
    index = _Index(session, study)
    rows, problems = [], []
    seen: dict[tuple[str, int], int] = {}
    for line, record in records:
        try:
            if not is_arena_hard(record):
                raise ArenaHardError("not an arena-hard judgment (no 'model' and 'games')")
            row = _row(record, index, baseline)
            first = seen.setdefault((row.judge, row.pair_id), line)
            if first != line:
                raise ArenaHardError(
                    f"judge {row.judge!r} already judged this pair at line {first}"
                )
        except ArenaHardError as exc:
            problems.append(f"{name}:{line}: {exc}")
            continue
        rows.append(row)
    return rows, problems


def write_arena_hard(session: Session, *, study: Study, rows: list[_Row]) -> ArenaHardSummary:
    """Replace the judges' imported rows on these pairs with the games and their verdicts."""
    summary = ArenaHardSummary(rows=len(rows))
    for judge in sorted({r.judge for r in rows}):
        pair_ids = [r.pair_id for r in rows if r.judge == judge]
        old = set(
            session.exec(
                select(JudgeVerdict.pair_id).where(
                    JudgeVerdict.study_id == study.id,
                    JudgeVerdict.judge == judge,
                    JudgeVerdict.mode == IMPORTED,
                    JudgeVerdict.pair_id.in_(pair_ids),  # type: ignore[attr-defined]
                )
            )
        )
        summary.replaced += len(old)
        for table in (JudgeVerdict, Judgment):
            session.execute(
                delete(table).where(
                    table.study_id == study.id,
                    table.judge == judge,
                    table.mode == IMPORTED,
                    table.pair_id.in_(pair_ids),  # type: ignore[attr-defined]
                )
            )
    summary.inserted = summary.rows - summary.replaced
    for r in rows:
        for g in r.games:
            session.add(
                Judgment(
                    study_id=study.id,
                    pair_id=r.pair_id,
                    judge=r.judge,
                    mode=IMPORTED,
                    order=g.order,
                    template_version=TEMPLATE,
                    status=g.status,
                    shown_winner=g.shown,
                    winner=g.winner,
                    strength=g.strength,
                    reasoning=g.text,
                    raw=g.raw,
                    error=g.error,
                )
            )
        by_order = {g.order: g for g in r.games}
        ab, ba = by_order[Order.AB], by_order[Order.BA]
        if ab.status != JudgmentStatus.OK or ba.status != JudgmentStatus.OK:
            summary.unparsed += 1
            continue
        winner, inconsistent = combine_orders(ab.winner, ba.winner)
        summary.inconsistent += inconsistent
        session.add(
            JudgeVerdict(
                study_id=study.id,
                pair_id=r.pair_id,
                judge=r.judge,
                mode=IMPORTED,
                winner=winner,
                inconsistent=inconsistent,
                winner_ab=ab.winner,
                winner_ba=ba.winner,
                strength=combine_strengths(ab.strength, ba.strength, inconsistent),
                reasoning=f"[order ab] {ab.text}\n\n[order ba] {ba.text}",
            )
        )
    session.flush()
    return summary
