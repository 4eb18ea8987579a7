"""AlpacaEval 2's length-controlled win rate (``length_controlled_v1``, Dubois et al., 2024).

For one model against AlpacaEval's reference, a logistic GLM is fitted on the judge's
preferences (P(model better) = preference − 1, AlpacaEval's 1..2 scale) with the formula

    np.tanh(std_delta_len) + instruction_difficulty + not_gamed_baseline.astype(float) - 1

where ``std_delta_len`` is (reference length − model length) / its SD over the annotations,
``instruction_difficulty`` a per-instruction term AlpacaEval fitted on its leaderboard, and
``not_gamed_baseline`` 1 on the model's rows. The rows of two *gamed* versions of the
reference (asked to be concise or verbose: ``df_gamed.csv``) join the fit with weight
λ/2 = 0.1 each, which regularises the fit toward the baseline. The fit is sklearn's
L1-penalised ``LogisticRegressionCV`` (liblinear, no intercept, 5 group folds, soft labels
counted as two weighted rows); the LC win rate is the mean predicted preference with the
length difference set to 0, its standard error the SEM of those predictions — exactly as in
``alpaca_eval/metrics/glm_winrate.py`` (tests/test_lc_winrate.py compares both to 1e-6).

AlpacaEval keeps the difficulty and the gamed rows on its dataset hub, not in its package;
the tool never downloads them. The user names a folder holding ``instruction_difficulty.csv``
and ``df_gamed.csv`` (``--alpaca-eval-glm DIR``, ``SIDEBYSIDE_ALPACA_EVAL_GLM_DIR``); without
them, for prompts that are not AlpacaEval's instructions, or for a pair without its reference,
each row says why LC is absent (``lc_reason``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from sidebyside.analysis import columns as col
from sidebyside.analysis.reading import as_session, resolve_study
from sidebyside.foundation.enums import Preference
from sidebyside.foundation.errors import InputError
from sidebyside.foundation.models import Prompt

#: AlpacaEval 2's reference (generator_1 of its annotations): LC is a model's figure against it.
REFERENCE = "gpt4_1106_preview"
DIFFICULTY_FILE = "instruction_difficulty.csv"
GAMED_FILE = "df_gamed.csv"
#: AlpacaEval's eval set, in its order: needed only when the difficulty file is indexed by
#: position (0..804) rather than by instruction text.
EVAL_SET_FILES = ("alpaca_eval_gpt4_baseline.json", "alpaca_eval.json")
REGULARIZE_LAMBDA = 0.2
N_SPLITS = 5
FEATURES = ("np.tanh(std_delta_len)", "instruction_difficulty", "not_gamed_baseline.astype(float)")
GAMED_COLUMNS = ("index", "instruction_difficulty", "preference", "std_delta_len")
NO_DIR = (
    "no AlpacaEval GLM folder given (--alpaca-eval-glm DIR or SIDEBYSIDE_ALPACA_EVAL_GLM_DIR, "
    f"holding {DIFFICULTY_FILE} and {GAMED_FILE}; see docs/report.md)"
)


@dataclass(frozen=True)
class GlmFiles:
    """AlpacaEval's hub files: the difficulty by instruction text (in eval-set order) and
    the gamed baselines' annotation rows."""

    difficulty: pd.Series
    gamed: pd.DataFrame


@dataclass(frozen=True)
class LcInputs:
    """What one study's LC figures need: the difficulty of each of its prompts that is an
    AlpacaEval instruction (by prompt database id, with its eval-set position) and the gamed
    rows; or only the ``reason`` why there are none."""

    difficulty: dict[int, tuple[int, float]]
    gamed: pd.DataFrame | None
    reason: str | None = None

    @classmethod
    def absent(cls, reason: str) -> LcInputs:
        return cls({}, None, reason)


def _clean(text: str) -> str:
    return text.strip()


def _eval_set_order(folder: Path) -> list[str] | None:
    for name in EVAL_SET_FILES:
        path = folder / name
        if path.is_file():
            try:
                records = json.loads(path.read_text(encoding="utf-8"))
                return [_clean(r["instruction"]) for r in records]
            except (ValueError, TypeError, KeyError) as exc:
                raise InputError(f"{path}: not AlpacaEval's eval set ({exc})") from None
    return None


def read_glm_dir(folder: Path | str) -> GlmFiles:
    """Read ``instruction_difficulty.csv`` and ``df_gamed.csv`` from ``folder``; a missing
    folder, file or column is an ``InputError`` saying which."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"AlpacaEval GLM folder {folder} does not exist")
    paths = {name: folder / name for name in (DIFFICULTY_FILE, GAMED_FILE)}
    missing = [name for name, p in paths.items() if not p.is_file()]
    if missing:
        raise InputError(
            f"AlpacaEval GLM folder {folder} lacks {' and '.join(missing)} "
            "(from the tatsu-lab/alpaca_eval dataset; see docs/report.md)"
        )
    try:
        difficulty = pd.read_csv(paths[DIFFICULTY_FILE], index_col=0).squeeze("columns")
        gamed = pd.read_csv(paths[GAMED_FILE])
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"AlpacaEval GLM folder {folder}: unreadable CSV ({exc})") from None
    if not isinstance(difficulty, pd.Series) or not pd.api.types.is_numeric_dtype(difficulty):
        raise InputError(f"{paths[DIFFICULTY_FILE]}: expected one numeric difficulty column")
    lacking = [c for c in (*GAMED_COLUMNS, "not_gamed_baseline") if c not in gamed.columns]
    if lacking:
        raise InputError(f"{paths[GAMED_FILE]}: missing column(s) {', '.join(lacking)}")
    if pd.api.types.is_integer_dtype(difficulty.index):
        order = _eval_set_order(folder)
        if order is None:
            raise InputError(
                f"{paths[DIFFICULTY_FILE]} is indexed by position: put AlpacaEval's eval set "
                f"({' or '.join(EVAL_SET_FILES)}) in {folder} to match instructions by text"
            )
        positions = difficulty.index.to_numpy()
        if positions.min() < 0 or positions.max() >= len(order):
            raise InputError(f"{paths[DIFFICULTY_FILE]}: positions beyond the eval set")
        difficulty = pd.Series(difficulty.to_numpy(), index=[order[i] for i in positions])
    else:
        difficulty.index = [_clean(str(t)) for t in difficulty.index]
    gamed = gamed.drop(columns=["model"], errors="ignore")
    return GlmFiles(difficulty.astype(float), gamed)


def match_prompts(texts: dict[int, str], files: GlmFiles) -> LcInputs:
    """The difficulty of each prompt whose text is an AlpacaEval instruction."""
    position = {t: i for i, t in enumerate(files.difficulty.index)}
    values = files.difficulty.to_numpy()
    found = {}
    for pid, text in texts.items():
        i = position.get(_clean(text))
        if i is not None:
            found[pid] = (i, float(values[i]))
    return LcInputs(found, files.gamed)


def load_lc_inputs(source: Any, study: Any, glm_dir: Path | str | None) -> LcInputs:
    """The LC inputs of a study (session or engine; name, id or ``Study``); without a
    folder, the reason."""
    if glm_dir is None or str(glm_dir) == "":
        return LcInputs.absent(NO_DIR)
    files = read_glm_dir(glm_dir)
    with as_session(source) as session:
        st = resolve_study(session, study)
        rows = session.execute(select(Prompt.id, Prompt.text).where(Prompt.study_id == st.id))
        texts = {int(pid): text for pid, text in rows}
    return match_prompts(texts, files)


def _featurize(
    preference: np.ndarray,
    len_1: np.ndarray,
    len_2: np.ndarray,
    difficulty: np.ndarray,
    gamed: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.Series, pd.DataFrame]:
    """Training design (gamed rows first, then the model's), its weights, and the test design
    (the model's rows at equal length), as AlpacaEval's ``_get_featurized_data``."""  # fmt: skip
    delta = pd.Series(len_1 - len_2, dtype=float)
    own = pd.DataFrame(
        {
            "preference": pd.Series(preference, dtype=float).replace({0.0: 1.5}) - 1,
            "std_delta_len": delta / delta.std(),
            "instruction_difficulty": difficulty.astype(float),
            "not_gamed_baseline": True,
        }
    )
    train = pd.concat([gamed, own], axis=0, ignore_index=True)
    not_gamed = train["not_gamed_baseline"].astype(bool)
    weight = not_gamed.astype(float) + (REGULARIZE_LAMBDA * ~not_gamed).astype(float) / 2

    def design(df: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame(
            {
                FEATURES[0]: np.tanh(df["std_delta_len"].astype(float)),
                FEATURES[1]: df["instruction_difficulty"].astype(float),
                FEATURES[2]: df["not_gamed_baseline"].astype(float),
            }
        )

    x_train = design(train).assign(preference=train["preference"].astype(float))
    keep = x_train["preference"].notna().to_numpy()
    return x_train[keep], weight[keep], design(own.assign(std_delta_len=0.0))


def _logloss_continuous(y_true, y_pred, true_prob, true_sample_weight=None) -> float:
    """AlpacaEval's CV score: the log loss against the soft labels (weighted)."""
    y = np.where(y_true == 1, true_prob, 1 - true_prob)
    p = np.clip(y_pred, 1e-15, 1 - 1e-15)
    loss = y * np.log(p) + (1 - y) * np.log(1 - p)
    if true_sample_weight is not None:
        loss = loss * true_sample_weight
    return float(-np.mean(loss))


def _fit_soft_labels(x: pd.DataFrame, weight: pd.Series):
    """L1 logistic regression on soft labels, C chosen by 5 group folds: each row twice,
    once labelled 1 with weight p·w, once labelled 0 with weight (1 − p)·w."""
    import sklearn
    from sklearn.linear_model import LogisticRegressionCV
    from sklearn.metrics import make_scorer
    from sklearn.model_selection import GroupKFold

    data = x.reset_index(drop=True)
    p = data.pop("preference")
    features = pd.concat([data, data], axis=0, ignore_index=True)
    y = np.r_[np.ones(len(data)), np.zeros(len(data))].astype(int)
    true_prob = np.r_[p.to_numpy(), 1 - p.to_numpy()]
    true_weight = np.r_[weight.to_numpy(), weight.to_numpy()]
    groups = np.r_[np.arange(len(data)), np.arange(len(data))]
    with sklearn.config_context(enable_metadata_routing=True):
        scorer = make_scorer(
            _logloss_continuous, response_method="predict_proba", greater_is_better=False
        ).set_score_request(true_sample_weight=True, true_prob=True)
        model = LogisticRegressionCV(
            cv=GroupKFold(n_splits=N_SPLITS), scoring=scorer, random_state=123, dual=False,
            penalty="l1", solver="liblinear", fit_intercept=False,
        )  # fmt: skip
        model.set_fit_request(sample_weight=True)
        model.fit(
            features, y, sample_weight=true_prob * true_weight, groups=groups,
            true_sample_weight=true_weight, true_prob=true_prob,
        )  # fmt: skip
    return model


def fit_lc_win_rate(
    preference: np.ndarray,
    len_1: np.ndarray,
    len_2: np.ndarray,
    difficulty: np.ndarray,
    gamed: pd.DataFrame,
) -> tuple[float, float]:
    """The LC win rate of the model (output_2) against the reference (output_1) and its
    standard error, as fractions (AlpacaEval prints them ×100). ``preference``: AlpacaEval's
    1 (reference better) .. 2 (model better); lengths in characters, one entry per
    annotation."""
    import warnings

    x_train, weight, x_test = _featurize(preference, len_1, len_2, difficulty, gamed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)  # sklearn's penalty= deprecation
        model = _fit_soft_labels(x_train, weight)
        predicted = model.predict_proba(x_test[list(FEATURES)])[:, 1]
    return float(np.mean(predicted)), float(pd.Series(predicted).sem())


def _row_inputs(votes: pd.DataFrame, model: str, reference: str) -> pd.DataFrame:
    """The pair's votes as AlpacaEval annotations: preference (1 = reference .. 2 = model)
    and lengths (1 = reference, 2 = model); a vote without a continuous preference counts
    as 1, 1.5 or 2 by its discrete verdict."""
    stored = votes[(votes[col.SYSTEM_A] == model) & (votes[col.SYSTEM_B] == reference)]
    other = votes[(votes[col.SYSTEM_A] == reference) & (votes[col.SYSTEM_B] == model)]
    discrete = {Preference.A: 1.0, Preference.B: 2.0, Preference.TIE: 1.5}

    def score(v: pd.DataFrame) -> pd.Series:
        s = v[col.PREFERENCE].map(discrete).astype(float)
        if col.PREFERENCE_SCORE in v.columns:
            s = v[col.PREFERENCE_SCORE].astype(float).fillna(s)
        return s  # 1 = system_a better

    return pd.concat(
        [
            pd.DataFrame({"prompt_id": stored[col.PROMPT_ID], "preference": 3.0 - score(stored),
                          "len_1": stored[col.LEN_B], "len_2": stored[col.LEN_A]}),
            pd.DataFrame({"prompt_id": other[col.PROMPT_ID], "preference": score(other),
                          "len_1": other[col.LEN_A], "len_2": other[col.LEN_B]}),
        ],
        ignore_index=True,
    )  # fmt: skip


def _lc_of_row(votes: pd.DataFrame, row: dict[str, Any], inputs: LcInputs) -> dict[str, Any]:
    none = {"lc_win_rate": None, "lc_se": None}
    if inputs.reason:
        return {**none, "lc_reason": inputs.reason}
    model, reference = row["system_a"], row["system_b"]
    if reference != REFERENCE:
        return {
            **none,
            "lc_reason": f"system_b is not AlpacaEval 2's reference {REFERENCE!r}: LC is a "
            "model's figure against that reference",
        }
    ann = _row_inputs(votes, model, reference)
    known = ann["prompt_id"].map(lambda p: p in inputs.difficulty)
    if not known.all():
        n_out = int(ann.loc[~known, "prompt_id"].nunique())
        return {
            **none,
            "lc_reason": f"{n_out} of {ann['prompt_id'].nunique()} prompts are not AlpacaEval "
            f"instructions (not in {DIFFICULTY_FILE})",
        }
    if ann[["len_1", "len_2"]].isna().any().any():
        return {**none, "lc_reason": "output lengths unknown"}
    # AlpacaEval's row order (the eval set's): it decides the cross-validation folds.
    ann["position"] = ann["prompt_id"].map(lambda p: inputs.difficulty[p][0])
    ann = ann.sort_values("position", kind="stable")
    difficulty = ann["prompt_id"].map(lambda p: inputs.difficulty[p][1]).to_numpy()
    delta = (ann["len_1"] - ann["len_2"]).astype(float)
    if len(ann) < 2 * N_SPLITS or not np.isfinite(delta.std()) or delta.std() == 0:
        return {**none, "lc_reason": "too few annotations or no length variation to fit"}
    lc, se = fit_lc_win_rate(
        ann["preference"].to_numpy(), ann["len_1"].to_numpy(float),
        ann["len_2"].to_numpy(float), difficulty, inputs.gamed,
    )  # fmt: skip
    return {"lc_win_rate": lc, "lc_se": se, "lc_reason": None}


def add_lc_win_rates(
    votes: pd.DataFrame, rates: list[dict[str, Any]], inputs: LcInputs | None
) -> list[dict[str, Any]]:
    """``rates`` (rows of ``winrates.win_rates``) with ``lc_win_rate``, ``lc_se`` and
    ``lc_reason`` added: AlpacaEval 2's LC win rate of system_a against system_b (the
    reference) and its standard error, or null and why."""
    inputs = inputs or LcInputs.absent(NO_DIR)
    return [{**r, **_lc_of_row(votes, r, inputs)} for r in rates]
