"""The study report: a typed ``StudyReport`` (``analysis.report_models``), rendered as JSON
(its ``model_dump(mode="json")``, a documented interface: docs/report.md and the generated
docs/report.schema.json), Markdown (``analysis.report_md``) or a self-contained HTML page
(``analysis.report_html``).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from sidebyside.analysis import agreement as ag
from sidebyside.analysis import calibration as cal
from sidebyside.analysis import columns as col
from sidebyside.analysis import lc_winrate as lcw
from sidebyside.analysis import length_control as lc
from sidebyside.analysis import style_control as sc
from sidebyside.analysis import winrates as wr
from sidebyside.analysis.annotators import annotator_quality
from sidebyside.analysis.anytime import study_decisions
from sidebyside.analysis.bootstrap import DEFAULT_N_BOOT, resample_sums
from sidebyside.analysis.card import PromptScorer, build_card
from sidebyside.analysis.card_frames import load_card_frames
from sidebyside.analysis.categories import by_category
from sidebyside.analysis.confidence import calibration_frame, judge_calibration
from sidebyside.analysis.frames import StudyFrames, load_study_frames
from sidebyside.analysis.gold import (
    failed_names,
    gold_accuracy,
    gold_section,
    without_failed_raters,
)
from sidebyside.analysis.graded import DEFAULT_STRONG_WEIGHT, graded_figures, with_strength
from sidebyside.analysis.headline import headline
from sidebyside.analysis.judge_compare import compare_judges
from sidebyside.analysis.labels import ADJUDICATED, LABELS, load_adjudicated, with_adjudicated
from sidebyside.analysis.ppi import ppi_for_rows
from sidebyside.analysis.probes import probe_results
from sidebyside.analysis.reading import as_session, resolve_study
from sidebyside.analysis.report_models import SCHEMA_VERSION, StudyReport, alpha_key
from sidebyside.analysis.self_preference import self_preference
from sidebyside.analysis.series_winrates import attach_series_win_rates
from sidebyside.analysis.small_samples import too_few_overlap
from sidebyside.analysis.turns import by_turn, card_turn_rows
from sidebyside.analysis.verdicts import scores_by_system
from sidebyside.foundation.enums import Preference
from sidebyside.foundation.errors import InputError

FORMATS = ("json", "md", "html")


def _criterion_long(human: pd.DataFrame, criterion: str) -> pd.DataFrame:
    """One row per (pair, side, annotator) score; the item id is 2·pair_id + side."""
    parts = []
    for k, side in enumerate(col.SIDES):
        score = col.score_column(criterion, side)
        part = human[[col.PAIR_ID, col.ANNOTATOR, score]].rename(columns={score: "value"})
        parts.append(part.assign(item=part[col.PAIR_ID].to_numpy() * 2 + k))
    long = pd.concat(parts, ignore_index=True)
    return long[long["value"].notna()]


def _human_alphas(human, criteria, scale, n_boot, seed, conf) -> dict[str, Any]:
    """Alpha for the preference and for every criterion (ordinal and interval), with CIs from
    ONE bootstrap resample of pairs shared by all of them (a pair's preference and scores
    move together, and the resampling is paid once)."""
    pair_index = pd.Index(pd.unique(human[col.PAIR_ID]))
    stats: list[tuple[str, np.ndarray, np.ndarray, tuple[str, ...]]] = []
    # The standard coding: the preference relative to the pair's stored order (A / B / tie),
    # three categories on every item (docs/report.md, "Two codings").
    counts, domain = ag.value_counts(
        human[col.PAIR_ID], human[col.PREFERENCE], domain=ag.PREFERENCE_DOMAIN
    )
    stats.append(("preference", counts, domain, ("nominal",)))
    clusters = {"preference": pd.unique(human[col.PAIR_ID])}
    for c in criteria:
        long = _criterion_long(human, c)
        if long.empty:
            continue
        dom = sorted(set(scale) | set(long["value"].astype(float)))
        cc, cd = ag.value_counts(long["item"], long["value"].astype(float), domain=dom)
        stats.append((alpha_key(c), cc, cd, ("ordinal", "interval")))
        clusters[alpha_key(c)] = pd.unique(long["item"]) // 2
    boots: list[np.ndarray | None] = [None] * len(stats)
    if n_boot > 0:
        per_cluster = [
            ag.cluster_coincidences(cnt, clusters[name], index=pair_index)
            for name, cnt, _, _ in stats
        ]
        boots = resample_sums(per_cluster, n_boot=n_boot, seed=seed)
    out: dict[str, Any] = {alpha_key(c): None for c in criteria}
    for (name, cnt, dom, levels), boot in zip(stats, boots, strict=True):
        res = {
            lvl: ag.alpha_with_ci(cnt, dom, lvl, n_boot=0, boot=boot, confidence=conf)
            for lvl in levels
        }
        out[name] = res["nominal"] if name == "preference" else res
    return {"preference": out.pop("preference"), **out}


def _swap_symmetric(pref_long: pd.DataFrame) -> dict[str, Any]:
    """The preference agreement with each pair counted in both orientations."""
    both = ag.swap_symmetric(pref_long)
    counts, domain = ag.value_counts(both["item"], both["value"], domain=ag.PREFERENCE_DOMAIN)
    # The unit is the pair, not its two oriented rows: the doubling adds no evidence.
    n_pairs = int((counts.sum(axis=1) >= 2).sum()) // 2
    return {
        "krippendorff_alpha": ag.krippendorff_alpha(counts, domain, "nominal"),
        "fleiss_kappa": ag.fleiss_kappa(counts),
        "pairwise_cohen_kappa": ag.pairwise_cohen_kappa(both, domain=ag.PREFERENCE_DOMAIN),
        "n_units": n_pairs,
        "small_sample": too_few_overlap(n_pairs),
    }


def _fleiss(counts: np.ndarray) -> tuple[float | None, dict | None]:
    kappa = ag.fleiss_kappa(counts)
    m = counts.sum(axis=1)
    m = m[m >= 2]
    if len(m) == 0:
        return kappa, None
    raters = Counter(m.tolist()).most_common(1)[0][0]
    subset = counts[counts.sum(axis=1) == raters]
    return kappa, {
        "kappa": ag.fleiss_kappa(subset),
        "n_items": int(len(subset)),
        "n_raters": int(raters),
    }


def _prompt_boots(fr: StudyFrames, sources: list[pd.DataFrame], n_boot: int, seed: int):
    """Resampled win matrices for every source (humans, each judge) from ONE resample of
    the study's prompts; returns (system order, boot) per source."""
    orders = [wr.system_order(v, fr.systems) for v in sources]
    if n_boot <= 0 or not sources:
        return [(o, None) for o in orders]
    prompts = pd.Index(pd.unique(pd.concat([v[col.PROMPT_ID] for v in sources])))
    per_prompt = [
        wr.per_prompt_wins(v, o, prompts)[0] for v, o in zip(sources, orders, strict=True)
    ]
    boots = resample_sums(per_prompt, n_boot=n_boot, seed=seed)
    return list(zip(orders, boots, strict=True))


def _votes_section(
    votes: pd.DataFrame,
    order: list[str],
    boot,
    conf: float,
    n_boot: int,
    seed: int,
    lc_inputs: lcw.LcInputs | None = None,
) -> dict[str, Any]:
    """Win rates (overall and per category; AlpacaEval's LC where ``lc_inputs`` allow),
    Bradley–Terry and the matrix from one set of votes."""
    if votes.empty:
        return {
            "win_rates": None,
            "length_controlled": None,
            "by_category": None,
            "bradley_terry": None,
            "win_rate_matrix": None,
        }
    kw = {"systems": order, "n_boot": 0, "confidence": conf, "boot": boot}
    rates = lcw.add_lc_win_rates(votes, wr.win_rates(votes, **kw), lc_inputs)
    return {
        "win_rates": rates,
        "length_controlled": lc.length_controlled(votes, rates, confidence=conf),
        "by_category": by_category(
            votes, rates, systems=order, n_boot=n_boot, seed=seed, confidence=conf
        ),
        "bradley_terry": wr.bradley_terry_ratings(votes, **kw),
        "win_rate_matrix": wr.win_rate_matrix(votes, systems=order),
    }


def _style_control(votes: pd.DataFrame, style: pd.DataFrame, order, n_boot, seed, conf):
    """Bradley–Terry as observed and style-controlled (``analysis.style_control``)."""
    if votes.empty or style.empty or len(order) < 3:
        return None
    merged = votes.merge(style, on=col.PAIR_ID, how="inner")
    return sc.style_controlled_ratings(
        merged, systems=order, n_boot=n_boot, seed=seed, confidence=conf
    )


def _criteria_means(human: pd.DataFrame, criteria: list[str], systems: list[str], conf: float):
    scores = scores_by_system(human, criteria)
    if scores.empty:
        return []
    return wr.criterion_means(scores, confidence=conf, systems=systems, criteria=criteria)


def _empty_human(criteria: list[str]) -> dict[str, Any]:
    return {
        "n_ratings": 0,
        "n_annotators": 0,
        "n_pairs_rated": 0,
        "agreement": {
            "krippendorff_alpha": {"preference": None, **{alpha_key(c): None for c in criteria}},
            "fleiss_kappa": None,
            "fleiss_kappa_complete": None,
            "pairwise_cohen_kappa": None,
            "pairwise_weighted_kappa": None,
            "percent_agreement": None,
            "swap_symmetric": None,
        },
        "loo_agreement": None,
        "annotators": None,
        "prefers_longer_rate": None,
        "first_position_rate": None,
        "win_rates": None,
        "length_controlled": None,
        "by_category": None,
        "bradley_terry": None,
        "win_rate_matrix": None,
        "criteria": None,
    }


def human_section(
    fr: StudyFrames, order, boot, n_boot: int, seed: int, conf: float, lc_inputs=None
) -> dict:
    human = fr.human
    if human.empty:
        return _empty_human(fr.criteria)
    systems = fr.systems
    scale = list(range(fr.scale_min, fr.scale_max + 1))
    pref_long = human[[col.PAIR_ID, col.ANNOTATOR, col.PREFERENCE]].set_axis(
        ["item", "annotator", "value"], axis=1
    )
    counts, _ = ag.value_counts(pref_long["item"], pref_long["value"], domain=ag.PREFERENCE_DOMAIN)
    fleiss, fleiss_complete = _fleiss(counts)
    n_overlap = int((counts.sum(axis=1) >= 2).sum())  # what every agreement figure rests on
    weighted = {}
    for c in fr.criteria:
        long = _criterion_long(human, c)
        dom = sorted(set(scale) | set(long["value"].astype(float)))
        weighted[c] = (
            ag.pairwise_cohen_kappa(
                long[["item", "annotator", "value"]], weights="quadratic", domain=dom
            )
            if len(long)
            else []
        )
    loo = ag.loo_agreement(pref_long, tie_value=Preference.TIE)
    return {
        "n_ratings": int(len(human)),
        "n_annotators": int(human[col.ANNOTATOR].nunique()),
        "n_pairs_rated": int(human[col.PAIR_ID].nunique()),
        "agreement": {
            "krippendorff_alpha": _human_alphas(human, fr.criteria, scale, n_boot, seed, conf),
            "fleiss_kappa": fleiss,
            "fleiss_kappa_complete": fleiss_complete,
            "pairwise_cohen_kappa": ag.pairwise_cohen_kappa(pref_long, domain=ag.PREFERENCE_DOMAIN),
            "pairwise_weighted_kappa": weighted,
            "percent_agreement": ag.percent_agreement(counts),
            "swap_symmetric": _swap_symmetric(pref_long),
            "n_overlap": n_overlap,
            "small_sample": too_few_overlap(n_overlap),
        },
        "loo_agreement": loo,
        "annotators": annotator_quality(human, loo),
        "prefers_longer_rate": cal.prefers_longer_rate(human)[0],
        "first_position_rate": cal.first_position_rate(human)[0],
        **_votes_section(human, order, boot, conf, n_boot, seed, lc_inputs),
        "criteria": _criteria_means(human, fr.criteria, systems, conf),
        "style_control": _style_control(human, fr.style, order, n_boot, seed, conf),
        "anytime": study_decisions(fr, confidence=conf),
    }


def judge_section(
    fr: StudyFrames,
    key: str,
    order,
    boot,
    conf: float,
    n_boot: int = 0,
    seed: int = 0,
    lc_inputs: lcw.LcInputs | None = None,
) -> dict[str, Any]:
    judge = fr.judge(key)
    scores = fr.judge_scores
    if len(scores):
        scores = scores[scores[col.JUDGE] == key]
    modes = judge[col.MODE].dropna().unique().tolist()
    return {
        "mode": modes[0] if len(modes) == 1 else modes,
        "n": int(len(judge)),
        **_with_ppi(
            _votes_section(judge, order, boot, conf, n_boot, seed, lc_inputs), judge, fr.human, conf
        ),
        "style_control": _style_control(judge, fr.style, order, n_boot, seed, conf),
        "calibration": cal.calibrate(
            judge,
            fr.human,
            judge_scores=scores,
            criteria=fr.criteria,
            n_unparsed=int((fr.unparsed[col.JUDGE] == key).sum()),
        ),
        "confidence": _confidence(judge, fr.human),
        "vote_confidence": _vote_confidence(fr, key),
        "self_preference": _self_preference(fr, key, judge),
    }


def _with_ppi(votes: dict[str, Any], judge, human, conf: float) -> dict[str, Any]:
    """A judge's vote tables with each win-rate row's ``ppi``: the humans' win rate,
    sharpened by this judge's verdicts (``analysis.ppi``)."""
    if votes["win_rates"]:
        votes["win_rates"] = ppi_for_rows(votes["win_rates"], judge, human, confidence=conf)
    return votes


def _self_preference(fr: StudyFrames, key: str, judge: pd.DataFrame) -> dict[str, Any] | None:
    judges = fr.families.get("judge", {})
    family = judges.get(key) or judges.get(key.rsplit(" (", 1)[0])  # "name (single)" keys
    return self_preference(judge, fr.human, fr.families.get("system", {}), family)


def _confidence(judge: pd.DataFrame, human: pd.DataFrame) -> dict[str, Any] | None:
    """ECE, Brier and the reliability diagram of a judge with probabilities, else None."""
    frame = calibration_frame(judge, human)
    if frame.empty:
        return None
    return asdict(judge_calibration(frame))


def _vote_confidence(fr: StudyFrames, key: str) -> dict[str, Any] | None:
    """A sampled judge with log-probabilities: its vote fractions' calibration too."""
    votes = fr.vote_scores
    if votes.empty:
        return None
    return _confidence(votes[votes[col.JUDGE] == key], fr.human)


def build_report(
    fr: StudyFrames,
    *,
    n_boot: int = DEFAULT_N_BOOT,
    seed: int = 0,
    confidence: float = 0.95,
    layers: dict[str, pd.DataFrame] | None = None,
    scorer: PromptScorer | None = None,
    lc_inputs: lcw.LcInputs | None = None,
    strong_weight: float = DEFAULT_STRONG_WEIGHT,
    gold_excluded: dict[str, Any] | None = None,
    labels_info: dict[str, Any] | None = None,
    base: str | None = None,
) -> StudyReport:
    """The full report of one study; ``.model_dump(mode="json")`` gives the JSON report.
    ``layers``: the stored automatic layers for the evaluation card
    (``analysis.card_frames.load_card_frames``); without them the card has the judges and humans.
    ``scorer``: rescores text metrics per prompt for the card's paired intervals (the edges pass
    ``metrics.card_scoring.TEXT_SCORER``; analysis never imports metrics).
    ``lc_inputs``: AlpacaEval's GLM inputs (``analysis.lc_winrate.load_lc_inputs``); without
    them every win-rate row says why its LC win rate is absent.
    ``strong_weight``: arena-hard's weight of a strong graded verdict (``analysis.graded``).
    ``gold_excluded``: what ``report_for_study(exclude_failed_gold=True)`` left out."""
    human = fr.human
    sources = ([human] if len(human) else []) + [fr.judge(k) for k in fr.judges]
    boots = _prompt_boots(fr, sources, n_boot, seed)
    human_boot = boots.pop(0) if len(human) else (fr.systems, None)
    report = {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "study": {
            "id": fr.study_id,
            "name": fr.name,
            "systems": fr.systems,
            "criteria": fr.criteria,
            "scale_min": fr.scale_min,
            "scale_max": fr.scale_max,
            "k": fr.k,
            "n_pairs": fr.n_pairs,
            "n_prompts": fr.n_prompts,
        },
        "settings": {"n_boot": n_boot, "seed": seed, "confidence": confidence},
        "human": human_section(fr, *human_boot, n_boot, seed, confidence, lc_inputs),
        "judges": {
            key: judge_section(fr, key, *ob, confidence, n_boot, seed, lc_inputs)
            for key, ob in zip(fr.judges, boots, strict=True)
        },
        "judge_comparison": compare_judges(
            {key: fr.judge(key) for key in fr.judges},
            human,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
        ),
        "headline": [],
        "compared": fr.compared.model_dump() if fr.compared else None,
        "by_turn": by_turn(
            fr.verdicts,
            fr.turns,
            fr.pairs_per_turn,
            fr.judges,
            systems=fr.systems,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
        ),
        "labels": labels_info,
        "gold": gold_section(
            fr.gold_answers,
            threshold=fr.gold_threshold,
            confidence=confidence,
            excluded=gold_excluded,
        ),
        "graded": graded_figures(
            with_strength(fr.verdicts, fr.strengths),
            fr.systems,
            games=fr.judge_games,
            preference_levels=fr.preference_levels,
            strong_weight=strong_weight,
            n_boot=n_boot,
            seed=seed,
            confidence=confidence,
        ),
        "probes": probe_results(fr.probes, confidence=confidence),
    }
    # The statistics modules return plain rows; clean them (numpy scalars, NaN) and validate
    # them into the models once, then answer the headline from the typed sections.
    typed = StudyReport.model_validate(clean(report))
    attach_series_win_rates(typed)  # checkpoints as systems: their win rates vs the base
    if typed.judge_comparison:  # rank judges by calibration too, where they have confidence
        for row in typed.judge_comparison.judges:
            conf = typed.judges[row.judge].confidence if row.judge in typed.judges else None
            if conf is not None:
                row.ece, row.brier, row.n_confidence = conf.ece, conf.brier, conf.n
    typed.headline = headline(typed)
    typed.card = build_card(
        typed,
        judge_scores=fr.judge_scores,
        scorer=scorer,
        n_boot=n_boot,
        seed=seed,
        base=base,
        **(layers or {}),
    )
    if typed.card is not None:  # a conversation study: the card's win rates at each turn
        typed.card.rows += card_turn_rows(typed.by_turn, typed.card.base, fr.systems[1:])
    return typed


def report_for_study(
    source,
    study,
    *,
    alpaca_eval_glm=None,
    exclude_failed_gold: bool = False,
    labels: str = "majority",
    **kwargs,
) -> StudyReport:
    """Read a study (session or engine, name or id) and build its report (card included);
    ``alpaca_eval_glm``: the folder of AlpacaEval's GLM files, for its LC win rate;
    ``exclude_failed_gold``: every figure without the raters below the study's gold threshold
    (``analysis.gold``; the report says who and how many ratings); ``labels``: "majority"
    (every rating) or "adjudicated" (a reviewer's verdict in place of the ratings of each pair
    it settled, ``analysis.labels``)."""
    if labels not in LABELS:
        raise InputError(f"--labels must be one of {', '.join(LABELS)}, got {labels!r}")
    kwargs.setdefault("layers", load_card_frames(source, study))
    if kwargs.get("base") is None:  # the study's own choice of base system, if it made one
        with as_session(source) as session:
            kwargs["base"] = resolve_study(session, study).base_system
    kwargs.setdefault("lc_inputs", lcw.load_lc_inputs(source, study, alpaca_eval_glm))
    frames = load_study_frames(source, study)
    if exclude_failed_gold:
        if not frames.gold_answers:
            raise InputError(
                f"study {frames.name!r} has no answers on gold pairs: "
                "--exclude-failed-gold has nothing to go by"
            )
        rows = gold_accuracy(frames.gold_answers, threshold=frames.gold_threshold)
        frames, kwargs["gold_excluded"] = without_failed_raters(frames, failed_names(rows))
    if labels == ADJUDICATED:
        with as_session(source) as session:
            settled = load_adjudicated(session, frames.study_id)
        frames, kwargs["labels_info"] = with_adjudicated(frames, settled)
    return build_report(frames, **kwargs)


def clean(obj: Any) -> Any:
    """Plain JSON types: numpy scalars unwrapped, NaN/inf ─► None."""
    if isinstance(obj, dict):
        return {str(k): clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def to_json(data: Any) -> str:
    """Plain JSON data as indented text (the report's is ``report.model_dump(mode="json")``)."""
    return json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


def render(report: StudyReport, fmt: str) -> str:
    """The report as ``json``, ``md`` or ``html`` text."""
    if fmt == "json":
        return to_json(report.model_dump(mode="json"))
    if fmt == "md":
        from sidebyside.analysis.report_md import to_markdown

        return to_markdown(report)
    if fmt == "html":
        from sidebyside.analysis.report_html import to_html

        return to_html(report)
    raise ValueError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
