"""rm: and rmpair: judges with tiny sequence-classification models built locally (never a
download): the preference is the logistic of the reward difference, the model is loaded
once and batched, and the verdicts feed agreement, calibration and the card."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
from sqlmodel import Session, select

pytest.importorskip("torch")
pytest.importorskip("transformers")

from sidebyside.analysis.frames import load_study_frames  # noqa: E402
from sidebyside.analysis.report import build_report  # noqa: E402
from sidebyside.foundation.errors import ModelLoadError  # noqa: E402
from sidebyside.foundation.models import JudgeVerdict, Judgment, Output, Pair, Prompt  # noqa: E402
from sidebyside.judge.providers import load_judge  # noqa: E402
from sidebyside.judge.providers.rm import pair_text, reward_text  # noqa: E402
from sidebyside.judge.service import JudgeRunConfig, run_judges  # noqa: E402
from sidebyside.judge.specs import parse_spec  # noqa: E402
from tests.analysis_helpers import rate  # noqa: E402
from tests.judge_helpers import make_study  # noqa: E402
from tests.tiny_lm import build_tiny_gpt2  # noqa: E402


def build_tiny_classifier(path: Path, *, num_labels: int = 1, seed: int = 0) -> Path:
    """The tiny GPT-2's tokenizer with a sequence-classification head of ``num_labels``."""
    import torch
    from transformers import AutoConfig, GPT2ForSequenceClassification

    build_tiny_gpt2(path, n_positions=128, seed=seed)
    config = AutoConfig.from_pretrained(path)
    config.num_labels = num_labels
    config.pad_token_id = config.eos_token_id
    torch.manual_seed(seed)
    GPT2ForSequenceClassification(config).eval().save_pretrained(path)
    return path


@pytest.fixture(scope="module")
def reward_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_classifier(tmp_path_factory.mktemp("tiny-rm"))


def _score(path: Path, texts: list[str]) -> list[float]:
    """Each text alone (no padding, no batching), straight through transformers."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    model = AutoModelForSequenceClassification.from_pretrained(path).eval()
    with torch.inference_mode():
        return [float(model(**tok(t, return_tensors="pt")).logits[0, 0]) for t in texts]


def _pairs(session: Session, study_id: int) -> list[tuple[int, str, str, str]]:
    rows = session.exec(select(Pair).where(Pair.study_id == study_id).order_by(Pair.id)).all()
    out = []
    for p in rows:
        prompt = session.get(Prompt, p.prompt_id).text
        a, b = session.get(Output, p.output_a_id).text, session.get(Output, p.output_b_id).text
        out.append((p.id, prompt, a, b))
    return out


def logistic(x: float) -> float:
    return 1 / (1 + math.exp(-x))


def test_the_preference_is_the_logistic_of_the_reward_difference(
    engine, session: Session, reward_model, monkeypatch
):
    from sidebyside.judge.providers import rm

    batches: list[int] = []
    original = rm.RewardModelJudge.scores

    def spy(self, texts):
        batches.append(len(texts))
        return original(self, texts)

    monkeypatch.setattr(rm.RewardModelJudge, "scores", spy)
    study = make_study(session, n_prompts=5)
    spec = f"rm:{reward_model}"
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec, "baseline:longest"]))
    assert sum(batches) == 5 * 2 * 2 and max(batches) > 2  # both orders, several pairs a pass
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(reward_model)
    verdicts = {
        v.pair_id: v
        for v in session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == spec)).all()
    }
    assert len(verdicts) == 5
    for pair_id, prompt, a, b in _pairs(session, study.id):
        r_a, r_b = _score(reward_model, [reward_text(tok, prompt, a), reward_text(tok, prompt, b)])
        v = verdicts[pair_id]
        assert v.preference == pytest.approx(1 + logistic(r_b - r_a), abs=1e-5)
        assert v.winner == ("b" if r_b > r_a else "a") and not v.inconsistent
    rows = session.exec(select(Judgment).where(Judgment.judge == spec)).all()
    assert {r.status for r in rows} == {"ok"} and all(r.p_tie == 0.0 for r in rows)
    # A rerun is cached; a second load of the same model is the same object (loaded once).
    batches.clear()
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    assert batches == []
    one, two = load_judge(parse_spec(spec)), load_judge(parse_spec(spec))
    assert one.model is two.model
    # Its verdicts feed what every judge feeds: agreement, calibration, the card.
    built = type("B", (), {"study": study, "users": {}})()
    for pair_id in verdicts:
        rate(session, built, "ann", pair_id, "b")
    report = build_report(load_study_frames(session, study.id), n_boot=0)
    section = report.judges[spec]
    assert section.confidence is not None and section.confidence.n == 5
    assert section.calibration.agreement_with_majority is not None
    assert section.calibration.n_with_humans == 5
    ranked = {r.judge for r in report.judge_comparison.judges}
    assert spec in ranked
    assert spec in report.card.model_dump_json()


def test_a_pairwise_ranker_reads_both_responses(engine, session: Session, reward_model):
    study = make_study(session, n_prompts=3)
    spec = f"rmpair:{reward_model}"
    run_judges(engine, study.name, JudgeRunConfig(judges=[spec]))
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(reward_model)
    verdicts = {
        v.pair_id: v
        for v in session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == spec)).all()
    }
    for pair_id, prompt, a, b in _pairs(session, study.id):
        l_ab, l_ba = _score(
            reward_model, [pair_text(tok, prompt, a, b), pair_text(tok, prompt, b, a)]
        )
        # Order ab: P(b) = 1 - P(shown A); order ba shows b first: P(b) = P(shown A).
        expected = 1 + ((1 - logistic(l_ab)) + logistic(l_ba)) / 2
        assert verdicts[pair_id].preference == pytest.approx(expected, abs=1e-5)


def test_a_head_that_is_not_a_single_score_is_refused(tmp_path, engine, session: Session):
    two = build_tiny_classifier(tmp_path / "two-labels", num_labels=2)
    study = make_study(session, n_prompts=1)
    with pytest.raises(ModelLoadError, match=r"gives 2 scores \(num_labels=2\); a reward model"):
        run_judges(engine, study.name, JudgeRunConfig(judges=[f"rm:{two}"]))
    assert session.exec(select(Judgment)).all() == []  # nothing half-written
    with pytest.raises(ModelLoadError, match="no such model directory"):
        load_judge(parse_spec(f"rm:{tmp_path / 'missing'}"))
