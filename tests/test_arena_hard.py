"""Graded judges (issue 19): the bundled pairwise_graded_v1 template, parsed in both orders,
and arena-hard-auto's own files — model_answer, question.jsonl and model_judgment JSONL, v0.1
and v2 — imported as they are, with the strong-weighted win rate equal to arena-hard's own
computation (show_result.py's label_to_score) on the same files."""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import pytest
from sqlmodel import select
from typer.testing import CliRunner

from sidebyside.analysis.report import report_for_study
from sidebyside.analysis.verdicts import load_verdicts
from sidebyside.cli.main import app
from sidebyside.foundation.models import JudgeVerdict, Judgment, Prompt
from sidebyside.judge.parsing_graded import parse_graded
from sidebyside.judge.service import JudgeRunConfig, run_judges
from tests.judge_helpers import make_study
from tests.judge_server import LoopbackServer, shown_responses

runner = CliRunner()
BASELINE = "gpt-4-0314"
MODELS = ("model-x", "model-y")
LABELS = ["A>>B", "A>B", "A=B", "B>A", "B>>A"]


def invoke(*args: str):
    return runner.invoke(app, [str(a) for a in args])


def test_parse_graded_labels():
    assert parse_graded("Long reasoning.\nMy final verdict is: [[B>>A]]").winner == "B"
    assert parse_graded("[[B<A]]").winner == "A"  # the mirrored form
    tie = parse_graded("Equal. [[A=B]]")
    assert (tie.ok, tie.winner, tie.data["strength"]) == (True, "tie", None)
    assert parse_graded("[[A>B]] and again [[A>B]]").data["strength"] == 1  # same label twice
    assert not parse_graded('{"winner": "A"}').ok
    assert parse_graded("[[A>B]] or [[A>>B]]").problem.startswith("two different verdicts")


def graded_longest(messages, body=None) -> str:
    """Prefers the longer response: much better when it is twice as long."""
    shown = shown_responses(messages)
    a, b = len(shown["response_a"]), len(shown["response_b"])
    assert "[[A>>B]]" in messages[0]["content"]  # the graded template asked
    if a == b:
        return "Same. [[A=B]]"
    big, small = max(a, b), min(a, b)
    op = ">>" if big >= 2 * small else ">"
    return (
        f"A={a} B={b}. My final verdict is: [[{'A' if a > b else 'B'}{op}{'B' if a > b else 'A'}]]"
    )


def test_graded_template_is_parsed_in_both_orders(engine, session):
    texts = {"base": "short one.", "tuned": "short one, longer", "big": "x" * 40}
    study = make_study(session, n_prompts=3, systems=("base", "tuned", "big"), texts=texts)
    with LoopbackServer(judge=graded_longest) as server:
        spec = f"openai:j@{server.openai_url}"
        config = JudgeRunConfig(judges=[spec], template="pairwise_graded_v1", backoff_base=0.01)
        run_judges(engine, study.name, config)
    session.expire_all()
    judge = f"{spec}#pairwise_graded_v1"
    calls = session.exec(select(Judgment).where(Judgment.judge == judge)).all()
    assert len(calls) == 18 and {c.status for c in calls} == {"ok"}
    assert {c.template_version for c in calls} == {"pairwise_graded_v1"}
    verdicts = session.exec(select(JudgeVerdict).where(JudgeVerdict.judge == judge)).all()
    assert len(verdicts) == 9 and not any(v.inconsistent for v in verdicts)
    by_systems = {}
    for v in verdicts:
        orders = [c for c in calls if c.pair_id == v.pair_id]
        assert {c.winner for c in orders} == {v.winner}  # both orders, mapped to canonical
        assert {c.strength for c in orders} == {v.strength}
        by_systems.setdefault(v.strength, 0)
        by_systems[v.strength] += 1
    # base-tuned: "better" (1); base-big and tuned-big: "much better" (2)
    assert by_systems == {1: 3, 2: 6}
    report = report_for_study(engine, study.name, n_boot=0)
    graded = report.graded.judges[judge]
    assert graded.unit == "order" and graded.n_graded == 18


# --- arena-hard's files, written in its exact formats


def _v01_files(tmp: Path, rng: random.Random, n: int = 12):
    """question.jsonl, model_answer/*.jsonl and model_judgment/<judge>/*.jsonl as
    arena-hard v0.1 writes them (gen_answer.py, gen_judgment.py)."""
    questions = [
        {
            "question_id": f"q{i:03d}",
            "category": "arena-hard-v0.1",
            "cluster": f"c{i % 3}",
            "turns": [{"content": f"Question {i}: explain {i}."}],
        }
        for i in range(n)
    ]
    (tmp / "question.jsonl").write_text("".join(json.dumps(q) + "\n" for q in questions))
    answers = tmp / "model_answer"
    answers.mkdir()
    for model in (BASELINE, *MODELS):
        rows = [
            {
                "question_id": q["question_id"],
                "answer_id": f"{model}-{q['question_id']}",
                "model_id": model,
                "choices": [{"index": 0, "turns": [{"content": f"{model} on {q['question_id']}"}]}],
                "tstamp": 1712000000.0,
            }
            for q in questions
        ]
        (answers / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    judged = tmp / "model_judgment" / "gpt-4-1106-preview"
    judged.mkdir(parents=True)
    files = {}
    for model in MODELS:
        rows = []
        for q in questions:
            games = []
            for _ in range(2):
                score = rng.choice(LABELS + [None]) if rng.random() < 0.1 else rng.choice(LABELS)
                games.append(
                    {"user_prompt": "...", "judgment": f"reasoning [[{score}]]", "score": score}
                )
            rows.append(
                {
                    "question_id": q["question_id"],
                    "model": model,
                    "judge": "gpt-4-1106-preview",
                    "games": games,
                }
            )
        path = judged / f"{model}.jsonl"
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        files[model] = path
    return answers, files


def _arena_hard_score(path: Path, weight: int) -> tuple[float, int]:
    """Arena-hard's own computation (show_result.py): rows with a null game dropped, each
    game's label mapped to [1] * weight etc. from the model's side, the mean of them all."""
    label_to_score = {
        "A>B": [1],
        "A>>B": [1] * weight,
        "A=B": [0.5],
        "A<<B": [0] * weight,
        "A<B": [0],
        "B>A": [0],
        "B>>A": [0] * weight,
        "B=A": [0.5],
        "B<<A": [1] * weight,
        "B<A": [1],
    }
    scores, rows = [], 0
    for line in path.read_text().splitlines():
        games = json.loads(line)["games"]
        if any(g is None or g["score"] is None for g in games):
            continue
        rows += 1
        scores += label_to_score[games[1]["score"]] + [
            1 - s for s in label_to_score[games[0]["score"]]
        ]
    return sum(scores) / len(scores), rows


def _model_vs_baseline(rows, model: str) -> float:
    for r in rows:
        if (r.system_a, r.system_b) == (model, BASELINE):
            return r.weighted_win_rate_a
        if (r.system_a, r.system_b) == (BASELINE, model):
            return 1 - r.weighted_win_rate_a
    raise AssertionError(f"no row for {model}")


def _only_complete(path: Path) -> Path:
    """The judgment file without the rows arena-hard drops (a null game), for the
    independent computation to see what our verdict-free orders do not count either."""
    keep = [
        line
        for line in path.read_text().splitlines()
        if all(g is not None and g["score"] is not None for g in json.loads(line)["games"])
    ]
    out = path.with_suffix(".complete.jsonl")
    out.write_text("\n".join(keep) + "\n")
    return out


@pytest.mark.parametrize("weight", [3, 1])
def test_arena_hard_v01_files_import_and_the_weighted_win_rate_is_arena_hards(
    engine, tmp_path, weight
):
    answers, judgments = _v01_files(tmp_path, random.Random(19))
    res = invoke("study", "create", "ah", "--k", "1")
    assert res.exit_code == 0, res.output
    res = invoke(
        "import", "ah", tmp_path / "question.jsonl", *sorted(answers.glob("*.jsonl")),
        "--pairing", "baseline", "--baseline", BASELINE,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    # without the baseline, a v0.1 file is refused line by line, nothing written
    res = invoke("import-judgments", "ah", judgments["model-x"])
    assert res.exit_code == 2 and "pass --baseline" in res.output
    for model in MODELS:
        # only rows with both games scored count, as arena-hard drops the others
        res = invoke(
            "import-judgments", "ah", _only_complete(judgments[model]), "--baseline", BASELINE
        )
        assert res.exit_code == 0, res.output
    report = report_for_study(engine, "ah", n_boot=0, strong_weight=weight)
    graded = report.graded.judges["gpt-4-1106-preview"]
    assert graded.unit == "order"
    for model in MODELS:
        expected, rows = _arena_hard_score(judgments[model], weight)
        assert rows > 5
        assert _model_vs_baseline(graded.win_rates, model) == pytest.approx(expected, abs=1e-12)


def test_arena_hard_null_games_are_unparsed_and_bad_scores_refused(engine, session, tmp_path):
    answers, judgments = _v01_files(tmp_path, random.Random(5), n=6)
    invoke("study", "create", "ah2", "--k", "1")
    res = invoke("import", "ah2", tmp_path / "question.jsonl", *sorted(answers.glob("*.jsonl")),
                 "--pairing", "baseline", "--baseline", BASELINE)  # fmt: skip
    assert res.exit_code == 0, res.output
    path = judgments["model-x"]
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    rows[0]["games"][1]["score"] = None
    rows[1]["games"][0] = None
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = invoke("import-judgments", "ah2", path, "--baseline", BASELINE)
    assert res.exit_code == 0, res.output
    assert "2 unparsed" in res.output
    session.expire_all()
    unparsed = session.exec(select(Judgment).where(Judgment.status == "unparsed")).all()
    assert len(unparsed) == 2
    assert len(session.exec(select(JudgeVerdict)).all()) == 4
    rows[2]["games"][0]["score"] = "A>>>B"
    rows[4]["question_id"] = "nope"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    res = invoke("import-judgments", "ah2", path, "--baseline", BASELINE)
    assert res.exit_code == 2
    assert f"{path}:3: game 1 score 'A>>>B' is not one of" in res.output
    assert f"{path}:5: question 'nope' is not a prompt_id" in res.output


def test_arena_hard_v2_files(engine, session, tmp_path):
    """v2: answers carry their prompt in ``messages`` and ``{"answer": ...}``; judgments
    name their baseline and keep ``{"answer": ...}`` judgments."""
    answers = tmp_path / "model_answer"
    answers.mkdir()
    uids = [f"u{i}" for i in range(4)]
    for model in (BASELINE, "m2"):
        rows = [
            {
                "uid": uid,
                "ans_id": f"{model}{uid}",
                "model": model,
                "messages": [
                    {"role": "user", "content": f"Prompt {uid}"},
                    {"role": "assistant", "content": {"answer": f"{model} answers {uid}"}},
                ],
                "tstamp": 1.0,
                "metadata": {"token_len": 3},
            }
            for uid in uids
        ]
        (answers / f"{model}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    invoke("study", "create", "v2", "--k", "1", "--preference-levels", "5")
    res = invoke("import", "v2", *sorted(answers.glob("*.jsonl")))
    assert res.exit_code == 0, res.output
    session.expire_all()
    assert {p.text for p in session.exec(select(Prompt))} == {f"Prompt {u}" for u in uids}
    scores = [("B>>A", "A>>B"), ("A>B", "B>A"), ("B>A", "B>A"), ("A=B", "A=B")]
    judged = tmp_path / "m2.jsonl"
    judged.write_text(
        "".join(
            json.dumps(
                {
                    "uid": uid,
                    "category": "hard_prompt",
                    "judge": "gpt-4.1",
                    "model": "m2",
                    "baseline": BASELINE,
                    "games": [
                        {"score": g1, "judgment": {"answer": f"[[{g1}]]"}, "prompt": []},
                        {"score": g2, "judgment": {"answer": f"[[{g2}]]"}, "prompt": []},
                    ],
                }
            )
            + "\n"
            for uid, (g1, g2) in zip(uids, scores, strict=True)
        )
    )
    res = invoke("import-judgments", "v2", judged)
    assert res.exit_code == 0, res.output
    session.expire_all()
    frame = load_verdicts(session, "v2")
    strength = {v.id: v.strength for v in session.exec(select(JudgeVerdict))}
    got = {
        r.prompt: (r.winner, strength[r.record_id], bool(r.inconsistent))
        for r in frame.itertuples()
    }
    # game 1 shows the baseline as A, game 2 the model: u0 m2 much better in both games,
    # u1 the baseline better in both, u2 split (an inconsistent tie), u3 a tie
    assert got == {
        "u0": ("m2", 2, False),
        "u1": (BASELINE, 1, False),
        "u2": ("tie", None, True),
        "u3": ("tie", None, False),
    }
    out = invoke("report", "v2", "--n-boot", "0", "--format", "md")
    assert out.exit_code == 0 and "## Graded preference" in out.stdout
    assert re.search(r"### Judge gpt-4\.1", out.stdout)
