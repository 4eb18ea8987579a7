"""The verdicts table read from the database."""

from __future__ import annotations

import pandas as pd
import pytest

from sidebyside.analysis import columns as col
from sidebyside.analysis.frames import load_study_frames
from sidebyside.analysis.judge_scores import load_judge_scores
from sidebyside.analysis.style_frame import load_style, style_columns
from sidebyside.analysis.verdicts import load_verdicts
from sidebyside.foundation.errors import NotFound
from tests.analysis_helpers import build_study, pair_of, rate, single_scores, verdict


@pytest.fixture
def built(session):
    b = build_study(session, lengths={"base": 5, "tuned": 12}, flip={1})
    p0, base_first = pair_of(b, 0, "base", "tuned")
    assert base_first
    p1, base_first = pair_of(b, 1, "base", "tuned")
    assert not base_first  # stored as tuned-vs-base
    rate(session, b, "ann", p0, "b", scores={"Accuracy": {"a": 2, "b": 5}}, swapped=True)
    rate(session, b, "ann", p1, "a", scores={"Accuracy": {"a": 4, "b": 1}, "Fluency": {"a": 3}})
    verdict(session, b, "openai:gpt", p0, "b", "b")
    verdict(session, b, "openai:gpt", p1, "a", "b")  # inconsistent ─► tie
    verdict(session, b, "gpt-3.5", p1, "a", None, mode="imported")
    return b, p0, p1


def test_one_row_per_verdict_with_unblinded_names(session, built):
    b, p0, p1 = built
    df = load_verdicts(session, b.study.name)
    assert list(df[col.SOURCE]) == ["human", "human", "judge", "judge", "judge"]
    h = df[df[col.SOURCE] == "human"].set_index(col.PAIR_ID)
    assert h.loc[p0, col.WINNER] == "tuned" and h.loc[p1, col.WINNER] == "tuned"
    assert (h.loc[p1, col.SYSTEM_A], h.loc[p1, col.SYSTEM_B]) == ("tuned", "base")
    assert (h.loc[p0, col.LEN_A], h.loc[p0, col.LEN_B]) == (5, 12)
    assert h.loc[p0, col.score_column("Accuracy", "b")] == 5
    assert h.loc[p1, col.score_column("Fluency", "a")] == 3
    assert pd.isna(h.loc[p1, col.score_column("Fluency", "b")])  # NaN when not given
    assert h.loc[p0, col.SWAPPED] is True and h.loc[p0, col.FIRST_SHOWN] == "b"
    assert h.loc[p1, col.SWAPPED] is None and h.loc[p1, col.FIRST_SHOWN] is None
    assert h.loc[p0, col.PROMPT] == "p0" and h.loc[p0, col.ANNOTATOR] == "ann"


def test_judge_rows(session, built):
    b, p0, p1 = built
    df = load_verdicts(session, b.study.id)
    j = df[df[col.SOURCE] == "judge"]
    gpt = j[j[col.JUDGE] == "openai:gpt"].set_index(col.PAIR_ID)
    assert gpt.loc[p1, col.PREFERENCE] == "tie" and bool(gpt.loc[p1, col.INCONSISTENT])
    assert gpt.loc[p1, col.WINNER] == "tie" and gpt.loc[p0, col.WINNER] == "tuned"
    assert (gpt.loc[p1, col.WINNER_AB], gpt.loc[p1, col.WINNER_BA]) == ("a", "b")
    imp = j[j[col.JUDGE] == "gpt-3.5"].iloc[0]
    assert imp[col.MODE] == "imported" and imp[col.ANNOTATOR] == "gpt-3.5"
    assert imp[col.WINNER] == "tuned"


def test_empty_study_has_all_columns(session):
    b = build_study(session, name="empty")
    df = load_verdicts(session, b.study)
    assert df.empty and list(df.columns) == col.verdict_columns(["Accuracy", "Fluency"])
    fr = load_study_frames(session, b.study.name)
    assert fr.systems == ["base", "tuned"] and fr.n_pairs == 4 and fr.n_prompts == 4
    assert fr.judges == [] and fr.human.empty


def test_unknown_study(session):
    with pytest.raises(NotFound, match="no study 'nope'"):
        load_verdicts(session, "nope")


def test_single_mode_scores_and_judge_keys(session, built):
    b, p0, p1 = built
    single_scores(session, b, "openai:gpt", p0, "a", {"Accuracy": 2, "Fluency": 4}, 6)
    single_scores(session, b, "openai:gpt", p0, "b", {"Accuracy": 5}, 9)
    verdict(session, b, "openai:gpt", p0, "b", None, mode="single")
    scores = load_judge_scores(session, b.study)
    assert set(scores[col.JUDGE]) == {"openai:gpt (single)"}
    row = scores[(scores[col.SIDE] == "b") & (scores[col.CRITERION] == "overall")].iloc[0]
    assert row[col.SYSTEM_NAME] == "tuned" and row[col.SCORE] == 9
    fr = load_study_frames(session, b.study)
    assert fr.judges == ["openai:gpt", "gpt-3.5", "openai:gpt (single)"]


def test_style_features_have_their_own_columns(session, built):
    b, p0, p1 = built
    style = load_style(session, b.study.id).set_index(col.PAIR_ID)
    assert list(style.columns) == style_columns()
    assert not set(style.columns) & set(col.verdict_columns(["length", "bold"]))
    # outputs are 5 (base) and 12 (tuned) characters; p1 is stored tuned-vs-base
    assert style.loc[p0, col.style_column("length", "a")] == 5
    assert style.loc[p1, col.style_column("length", "a")] == 12
    assert style.loc[p1, col.style_column("length", "b")] == 5
