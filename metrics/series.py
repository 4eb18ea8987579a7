"""A checkpoint series (``sidebyside series``): perplexity on held-out texts and on a sample
of the training texts for an ordered list of checkpoints, each with its bootstrap interval,
the best checkpoint (lowest held-out perplexity) and the overfitting signal: the first step
whose held-out perplexity rises from the step before, with a paired interval that excludes
no change, while its training perplexity falls.

Each checkpoint is loaded fresh (an adapter is injected into its base in place) and freed
before the next, so a long series needs one model's memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlmodel import Session

from sidebyside.foundation.adapters import load_fresh
from sidebyside.foundation.errors import InputError, ModelLoadError
from sidebyside.foundation.hf import model_source, resolve_device, resolve_dtype
from sidebyside.foundation.models import CheckpointSeries
from sidebyside.metrics.perplexity import PerplexityScorer
from sidebyside.metrics.ppl_stats import TextScores, paired_comparison, texts_sha256


@dataclass(frozen=True)
class Checkpoint:
    """``--checkpoint STEP=PATH`` or ``STEP=PATH+ADAPTER``; ``step`` is its label (its
    number, when it has one, orders nothing: the command line's order is the series')."""

    step: str
    source: str
    adapter: str | None = None


def parse_checkpoint(text: str) -> Checkpoint:
    """>>> parse_checkpoint("step-500=/ckpt/base+/ckpt/lora-500")
    Checkpoint(step='step-500', source='/ckpt/base', adapter='/ckpt/lora-500')
    """
    step, sep, rest = text.partition("=")
    base, plus, adapter = rest.strip().partition("+")
    if not sep or not step.strip() or not base or (plus and not adapter):
        raise InputError(
            f"--checkpoint {text!r}: write STEP=PATH or STEP=PATH+ADAPTER, e.g. "
            "step-500=./checkpoints/step-500"
        )
    return Checkpoint(step.strip(), base, adapter or None)


@dataclass
class SeriesPoint:
    step: str
    source: str
    adapter: str | None
    held_out: dict[str, Any]
    train: dict[str, Any]
    #: Paired relative change of held-out (and training) perplexity from the step before.
    held_out_change: dict[str, float] | None = None
    train_change: dict[str, float] | None = None


@dataclass
class Series:
    points: list[SeriesPoint] = field(default_factory=list)
    best: str | None = None
    overfit_from: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "best": self.best,
            "overfit_from": self.overfit_from,
            "notes": self.notes,
            "points": [p.__dict__ for p in self.points],
        }


def store_series(
    session: Session,
    *,
    study_id: int,
    series: Series,
    held_out: Sequence[str],
    train: Sequence[str],
    base: str | None = None,
) -> CheckpointSeries:
    """Keep a series with its study (the card and report show the newest); no commit.
    ``base``: the system the checkpoints' win rates are against (``series --base``), kept in
    each point; without it the report takes the card's base."""
    payload = json.loads(json.dumps(series.as_dict()), parse_constant=lambda _: None)
    if base is not None:
        for p in payload["points"]:
            p["base"] = base
    row = CheckpointSeries(
        study_id=study_id,
        held_out_sha256=texts_sha256(held_out),
        train_sha256=texts_sha256(train),
        best=series.best,
        overfit_from=series.overfit_from,
        points=payload["points"],
        notes=series.notes,
    )
    session.add(row)
    session.flush()
    return row


def _change(before: TextScores, after: TextScores, n_boot: int, seed: int) -> dict[str, float]:
    c = paired_comparison(before, after, n_boot=n_boot, seed=seed)
    return {"rel_change": c.rel_change, "ci_low": c.ci_low, "ci_high": c.ci_high}


def flag_series(points: Sequence[SeriesPoint]) -> tuple[str | None, str | None]:
    """(best step, first overfitting step). Best: the lowest held-out perplexity. Overfitting:
    held-out perplexity up from the step before with the paired interval above 0, training
    perplexity down (point estimate) at the same step.

    >>> p = lambda s, h, t, lo: SeriesPoint(s, "", None, {"perplexity": h}, {"perplexity": t},
    ...     None if lo is None else {"rel_change": 0, "ci_low": lo, "ci_high": 1},
    ...     None if lo is None else {"rel_change": t - 1, "ci_low": -1, "ci_high": 1})
    >>> flag_series([p("a", 9, 9, None), p("b", 5, 4, -0.5), p("c", 7, 2, 0.1)])
    ('b', 'c')
    """
    finite = [p for p in points if math.isfinite(p.held_out.get("perplexity") or math.nan)]
    best = min(finite, key=lambda p: p.held_out["perplexity"]).step if finite else None
    for before, p in zip(points, points[1:], strict=False):
        held, train = p.held_out_change, p.train_change
        if held is None or train is None:
            continue
        rises = math.isfinite(held["ci_low"]) and held["ci_low"] > 0
        if rises and p.train["perplexity"] < before.train["perplexity"]:
            return best, p.step
    return best, None


def run_series(
    checkpoints: Sequence[Checkpoint],
    held_out: Sequence[str],
    train: Sequence[str],
    *,
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int | str = "auto",
    n_boot: int = 1000,
    seed: int = 0,
    progress: Callable[[str], None] | None = None,
) -> Series:
    """Score every checkpoint on both text sets, then flag the best and the overfitting step."""
    if len(checkpoints) < 2:
        raise InputError("a series needs at least two --checkpoint")
    steps = [c.step for c in checkpoints]
    if len(set(steps)) != len(steps):
        raise InputError(f"--checkpoint steps must be distinct, got {', '.join(steps)}")
    if not held_out or not train:
        raise InputError("a series needs held-out texts and training texts (both non-empty)")
    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    series = Series()
    previous: tuple[TextScores, TextScores] | None = None
    for ckpt in checkpoints:
        if progress:
            progress(ckpt.step)
        label = f"checkpoint {ckpt.step!r} ({ckpt.source})"
        try:
            source = model_source(ckpt.source)
        except ModelLoadError as exc:
            raise ModelLoadError(f"{label}: {exc}") from None
        model, tokenizer = load_fresh(
            source,
            adapter=ckpt.adapter,
            device=dev,
            torch_dtype=torch_dtype,
            label=label,
            merge=True,  # the scorer splits off the LM head: a plain model, same weights
        )
        scorer = PerplexityScorer(model, tokenizer, name=ckpt.step, batch_size=batch_size)
        held = scorer.score(held_out, texts_name="held-out texts")
        trained = scorer.score(train, texts_name="training texts")
        del model, scorer
        point = SeriesPoint(
            ckpt.step,
            ckpt.source,
            ckpt.adapter,
            held.summary(n_boot=n_boot, seed=seed),
            trained.summary(n_boot=n_boot, seed=seed),
        )
        if previous is not None:
            point.held_out_change = _change(previous[0], held, n_boot, seed)
            point.train_change = _change(previous[1], trained, n_boot, seed)
        previous = (held, trained)
        series.points.append(point)
    series.best, series.overfit_from = flag_series(series.points)
    if series.overfit_from:
        p = next(p for p in series.points if p.step == series.overfit_from)
        c = p.held_out_change or {}
        series.notes.append(
            f"from {p.step} held-out perplexity rises ({c.get('rel_change', 0):+.1%}, paired "
            f"interval {c.get('ci_low', 0):+.1%} to {c.get('ci_high', 0):+.1%}) while training "
            "perplexity falls: the model starts to overfit"
        )
    return series
