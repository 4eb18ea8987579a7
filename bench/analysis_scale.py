"""Analysis at scale: the full JSON report of a 100,000-rating study.

A synthetic study (5 systems, 20,000 pairs, 5 annotators per pair from a pool, two judges,
prompts in 8 categories) is written to a temporary SQLite file. Timed, after one warm-up
run that pays the imports:

- baseline: reading the raw rating table with ``pandas.read_sql`` (the floor any analysis
  pays), measured in the same process, so the ratios below travel between machines;
- loading the tidy verdict frames (``analysis.frames``);
- the full report (``analysis.report.build_report``, 1,000 bootstrap resamples);
- the bootstrap parts alone: alpha CIs (preference + every criterion, both levels) and the
  prompt bootstrap behind win-rate and Bradley–Terry CIs (humans and each judge);
- Bradley–Terry with style control (Chatbot Arena's fit, as observed and style-controlled,
  with its bootstrap of at most 100 refits), humans and each judge: part of the full report.

Usage: ``python bench/analysis_scale.py [--pairs 20000] [--n-boot 1000] [--categories 8]
[--json OUT]``.
Prints wall-clock seconds and ratios to the baseline; never fails on a time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import pandas as pd  # noqa: E402
from sqlalchemy import text  # noqa: E402

from sidebyside.analysis import agreement as ag  # noqa: E402
from sidebyside.analysis import columns as col  # noqa: E402
from sidebyside.analysis import report as rp  # noqa: E402
from sidebyside.analysis import winrates as wr  # noqa: E402
from sidebyside.analysis.frames import load_study_frames  # noqa: E402
from sidebyside.annotate.synthetic import SyntheticSpec, build_synthetic_study  # noqa: E402
from sidebyside.foundation.db import get_engine, init_db  # noqa: E402


def timed(fn, repeat: int = 1):
    """Best wall-clock time of ``repeat`` runs, and the last value."""
    best, value = float("inf"), None
    for _ in range(repeat):
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def bootstrap_parts(fr, n_boot: int) -> dict[str, float]:
    """Time only the resampling work of the report (with its point estimates subtracted)."""
    human = fr.human
    scale = list(range(fr.scale_min, fr.scale_max + 1))

    def alphas(b):
        return lambda: rp._human_alphas(human, fr.criteria, scale, b, 0, 0.95)

    def prompt_bootstrap():
        sources = [human, *(fr.judge(k) for k in fr.judges)]
        for _order, boot in rp._prompt_boots(fr, sources, n_boot, 0):
            wr.bradley_terry(boot)

    t_alpha, _ = timed(alphas(n_boot), repeat=2)
    t_alpha0, _ = timed(alphas(0), repeat=2)
    t_prompt, _ = timed(prompt_bootstrap, repeat=2)

    def style_control():  # Arena's BT with style covariates, humans and each judge
        for votes in (human, *(fr.judge(k) for k in fr.judges)):
            order = wr.system_order(votes, fr.systems)
            rp._style_control(votes, fr.style, order, n_boot, 0, 0.95)

    t_style, _ = timed(style_control)
    return {
        "alpha_bootstrap_s": t_alpha - t_alpha0,
        "winrate_bt_bootstrap_s": t_prompt,
        "style_control_s": t_style,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pairs", type=int, default=20_000, help="pairs (10 per prompt)")
    ap.add_argument("--annotators", type=int, default=10, help="annotator pool")
    ap.add_argument("--per-pair", type=int, default=5)
    ap.add_argument("--n-boot", type=int, default=1000)
    ap.add_argument("--categories", type=int, default=8, help="prompt categories (0 = none)")
    ap.add_argument("--repeat", type=int, default=2, help="best of N runs (shared machines)")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        engine = init_db(get_engine(f"sqlite:///{tmp}/bench.db"))
        spec = SyntheticSpec(
            name="bench",
            strengths=[0.0, 0.2, 0.4, 0.6, 0.8],
            n_prompts=args.pairs // 10,
            n_annotators=args.annotators,
            per_pair=args.per_pair,
            judges={"judge:fair": 0.0, "judge:position-biased": 0.3},
            n_categories=args.categories,
        )
        t_build, sid = timed(lambda: build_synthetic_study(engine, spec))
        warm = SyntheticSpec(name="warm", n_prompts=20, judges={"judge:w": 0.0})
        rp.report_for_study(engine, build_synthetic_study(engine, warm), n_boot=50)  # imports

        with engine.connect() as conn:
            t_base, raw = timed(
                lambda: pd.read_sql(text("SELECT * FROM rating WHERE study_id = :s"), conn,
                                    params={"s": sid}),
                repeat=3,
            )  # fmt: skip
        t_load, fr = timed(lambda: load_study_frames(engine, sid), repeat=args.repeat)
        t_report, report = timed(
            lambda: rp.build_report(fr, n_boot=args.n_boot), repeat=args.repeat
        )
        t_report0, _ = timed(lambda: rp.build_report(fr, n_boot=0), repeat=args.repeat)
        parts = bootstrap_parts(fr, args.n_boot)
        t_fleiss, _ = timed(
            lambda: ag.fleiss_kappa(
                ag.value_counts(
                    fr.human[col.PAIR_ID], fr.human[col.PREFERENCE], domain=ag.PREFERENCE_DOMAIN
                )[0]
            )
        )
        engine.dispose()

    n_ratings = int(len(raw))
    figures = {
        "ratings": n_ratings,
        "pairs": fr.n_pairs,
        "systems": len(fr.systems),
        "judges": len(fr.judges),
        "n_boot": args.n_boot,
        "repeat": args.repeat,
        "load_average_1min": os.getloadavg()[0],
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "build_study_s": t_build,
        "baseline_read_sql_s": t_base,
        "load_frames_s": t_load,
        "report_s": t_report,
        "report_no_bootstrap_s": t_report0,
        "load_plus_report_s": t_load + t_report,
        **parts,
        "fleiss_s": t_fleiss,
    }
    width = max(len(k) for k in figures)
    print(
        f"analysis at scale: {n_ratings:,} ratings, {fr.n_pairs:,} pairs, "
        f"{len(fr.systems)} systems, {len(fr.judges)} judges, {args.n_boot} resamples"
    )
    for key in ("baseline_read_sql_s", "load_frames_s", "report_s", "report_no_bootstrap_s",
                "alpha_bootstrap_s", "winrate_bt_bootstrap_s", "style_control_s",
                "load_plus_report_s"):  # fmt: skip
        ratio = figures[key] / t_base
        print(f"  {key:<{width}} {figures[key]:8.3f} s   {ratio:6.1f}× baseline")
    verdict = "under" if t_load + t_report < 10 else "OVER"
    print(f"  load + full report: {t_load + t_report:.2f} s ({verdict} the 10 s target)")
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    assert report.human.n_ratings == n_ratings


if __name__ == "__main__":
    main()
