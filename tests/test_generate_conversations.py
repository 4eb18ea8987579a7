"""``sidebyside generate --prompts question.jsonl``: multi-turn prompts (MT-Bench's format,
written here) generated turn by turn, turn 2 after the model's *own* turn-1 answer, for an
OpenAI-compatible server (loopback) and the transformers engine (a tiny local model); the study
as ``import --prompts`` makes it, the cache over the whole history, resume and the dry run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("openai")

from sqlmodel import Session, func, select  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from sidebyside.analysis.frames import load_study_frames  # noqa: E402
from sidebyside.analysis.report import build_report  # noqa: E402
from sidebyside.cli.main import app  # noqa: E402
from sidebyside.foundation.conversation import pair_histories  # noqa: E402
from sidebyside.foundation.db import get_engine  # noqa: E402
from sidebyside.foundation.models import (  # noqa: E402
    Generation,
    GenerationSource,
    Output,
    Pair,
    Prompt,
    PromptSetVersion,
    Study,
    System,
)
from sidebyside.generate.conversations import ConversationItem, turn_messages  # noqa: E402
from sidebyside.generate.params import generation_key  # noqa: E402
from tests.analysis_helpers import Built, rate  # noqa: E402
from tests.judge_server import LoopbackServer, Reply, server_error  # noqa: E402

runner = CliRunner()

#: Three questions in MT-Bench's question.jsonl format (FastChat), written for the tests.
QUESTIONS = [
    {
        "question_id": 81,
        "category": "writing",
        "turns": [
            "Write a two-line poem about the sea.",
            "Rewrite your previous response. Start every line with the letter A.",
        ],
    },
    {
        "question_id": 101,
        "category": "reasoning",
        "turns": [
            "You overtake the second person in a race. What is your position?",
            "And if it was the last person?",
        ],
        "reference": ["You are in second place.", "Uncertain: you cannot overtake the last."],
    },
    {
        "question_id": 131,
        "category": "extraction",
        "turns": ["Rate these three reviews from 1 to 5.", "Now add the release year."],
    },
]


def write_questions(path: Path, questions: list[dict] = QUESTIONS) -> Path:
    path.write_text("".join(json.dumps(q) + "\n" for q in questions))
    return path


def chat_model(name: str):
    """A scripted chat model: its answer names itself, the turn and the user's message, so a
    turn-2 request shows whose turn-1 answer it carries."""

    def answer(messages, body=None) -> str:
        turn = sum(m["role"] == "user" for m in messages)
        return f"{name} turn {turn}: {messages[-1]['content'][:30]}"

    return answer


def count(db_url: str, table) -> int:
    with Session(get_engine(db_url)) as s:
        return s.exec(select(func.count()).select_from(table)).one()


def turn_two_requests(server: LoopbackServer) -> list[list[dict]]:
    return [
        r["body"]["messages"]
        for r in server.requests
        if sum(m["role"] == "user" for m in r["body"]["messages"]) == 2
    ]


def test_two_servers_answer_turn_two_after_their_own_turn_one(db_url, tmp_path):
    questions = write_questions(tmp_path / "question.jsonl")
    with (
        LoopbackServer(judge=chat_model("A")) as a,
        LoopbackServer(judge=chat_model("B")) as b,
    ):
        args = [
            "generate", "mt", "--prompts", str(questions), "--max-new-tokens", "64",
            "--model", f"base=openai:llama-base@{a.openai_url}",
            "--model", f"tuned=openai:llama-tuned@{b.openai_url}",
        ]  # fmt: skip
        dry = runner.invoke(app, [*args, "--dry-run"])
        assert dry.exit_code == 0, dry.output
        # turns x questions per model, though turn 2 cannot be built before turn 1 exists
        assert "base: 6 to generate (0 already stored)" in dry.output
        assert "total: 12 generations" in dry.output
        assert a.count == 0 and count(db_url, Study) == 0

        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "base: 6 generated, 0 already stored" in res.output
        assert a.count == b.count == 6
        for server, name in ((a, "A"), (b, "B")):
            seconds = turn_two_requests(server)
            assert len(seconds) == 3
            for messages in seconds:
                # [user 1, assistant (this model's own turn-1 answer), user 2]
                assert [m["role"] for m in messages] == ["user", "assistant", "user"]
                q = next(q for q in QUESTIONS if q["turns"][0] == messages[0]["content"])
                assert messages[1]["content"] == f"{name} turn 1: {q['turns'][0][:30]}"
                assert messages[2]["content"] == q["turns"][1]

        with Session(get_engine(db_url)) as s:
            study = s.exec(select(Study).where(Study.name == "mt")).one()
            prompts = {p.external_id: p for p in s.exec(select(Prompt))}
            assert sorted(prompts) == ["101#1", "101#2", "131#1", "131#2", "81#1", "81#2"]
            two = prompts["101#2"]
            assert (two.conversation, two.turn, two.category) == ("101", 2, "reasoning")
            assert two.text == QUESTIONS[1]["turns"][1]
            assert two.reference == QUESTIONS[1]["reference"][1]  # the turn's own reference
            assert prompts["81#1"].reference is None
            pairs = s.exec(select(Pair)).all()
            assert len(pairs) == 6  # one pair per turn of each question
            histories = pair_histories(s, study_id=study.id)
            names = {sy.id: sy.name for sy in s.exec(select(System))}
            for pair in pairs:
                prompt = s.get(Prompt, pair.prompt_id)
                if prompt.turn != 2:
                    continue
                out_a = s.get(Output, pair.output_a_id)
                (earlier,) = histories[pair.id].earlier
                letter = {"base": "A", "tuned": "B"}[names[out_a.system_id]]
                assert earlier.a.startswith(f"{letter} turn 1:")  # each side's own history
                assert earlier.b.startswith(f"{'B' if letter == 'A' else 'A'} turn 1:")
                assert out_a.text.startswith(f"{letter} turn 2:")
            gens = s.exec(select(Generation.prompt_external_id)).all()
            assert sorted(set(gens)) == sorted(prompts)
            assert count(db_url, PromptSetVersion) == 1

            # Some ratings: tuned wins every turn 1, base every turn 2; per-turn win rates.
            built = Built(study=study, systems={}, prompts=[], pairs={})
            for pair in pairs:
                winner = "tuned" if s.get(Prompt, pair.prompt_id).turn == 1 else "base"
                side = "a" if names[s.get(Output, pair.output_a_id).system_id] == winner else "b"
                rate(s, built, "h1", pair.id, side)
            data = build_report(load_study_frames(s, study.id), n_boot=0).model_dump(mode="json")
        turns = {t["turn"]: t for t in data["by_turn"]}
        assert sorted(turns) == [1, 2]
        for turn, base_wins in ((1, 0.0), (2, 1.0)):
            [wr] = turns[turn]["human"]["win_rates"]
            assert wr["n"] == 3
            assert wr["win_rate_a"] == (base_wins if wr["system_a"] == "base" else 1 - base_wins)

        again = runner.invoke(app, args)
        assert again.exit_code == 0, again.output
        assert "base: 0 generated, 6 already stored" in again.output
        assert "tuned: 0 generated, 6 already stored" in again.output
        assert a.count == b.count == 6  # nothing re-sent
        dry = runner.invoke(app, [*args, "--dry-run"])
        assert "base: 0 to generate (6 already stored)" in dry.output
        assert count(db_url, Pair) == 6 and count(db_url, Output) == 12


def test_a_failed_turn_two_is_all_a_resume_generates(db_url, tmp_path):
    questions = write_questions(tmp_path / "question.jsonl")
    with LoopbackServer(judge=chat_model("A")) as server:
        # Three turn-1 requests answer (a pure-delay Reply still answers); the first turn-2
        # request and both SDK retries fail: that turn 1 is stored, its turn 2 is not.
        server.faults.extend([Reply(), Reply(), Reply()] + [server_error()] * 3)
        args = [
            "generate", "mt", "--prompts", str(questions), "--concurrency", "1",
            "--model", f"m=openai:x@{server.openai_url}",
            "--model", f"n=openai:y@{server.openai_url}",
        ]  # fmt: skip
        res = runner.invoke(app, args)
        assert res.exit_code == 1
        assert "run the same command again" in res.stderr
        assert count(db_url, Generation) == 11
        with Session(get_engine(db_url)) as s:
            # m's conversation with a missing turn waits; n's three and m's two others are in
            assert count(db_url, Output) == 10 and count(db_url, Pair) == 4
            assert len(s.exec(select(Prompt)).all()) == 6
        server.reset()
        dry = runner.invoke(app, [*args, "--dry-run"])
        assert "m: 1 to generate (5 already stored)" in dry.output
        assert "n: 0 to generate (6 already stored)" in dry.output
        res = runner.invoke(app, args)
        assert res.exit_code == 0, res.output
        assert "m: 1 generated, 5 already stored" in res.output
        assert "n: 0 generated, 6 already stored" in res.output
        [messages] = [r["body"]["messages"] for r in server.requests]
        # the resumed turn 2 carries the turn-1 answer stored by the crashed run
        assert messages[1] == {"role": "assistant", "content": messages[1]["content"]}
        assert messages[1]["content"].startswith("A turn 1:")
        assert count(db_url, Output) == 12 and count(db_url, Pair) == 6


def test_messages_prompts_with_a_system_message(db_url, tmp_path):
    path = tmp_path / "chats.jsonl"
    record = {
        "prompt_id": "c1",
        "messages": [
            {"role": "system", "content": "Answer in French."},
            {"role": "user", "content": "Say hello."},
            {"role": "user", "content": "Now say goodbye."},
        ],
    }
    path.write_text(json.dumps(record) + "\n")
    with LoopbackServer(judge=chat_model("A")) as server:
        args = ["generate", "chat", "--prompts", str(path)]
        res = runner.invoke(app, [*args, "--model", f"m=openai:x@{server.openai_url}"])
        assert res.exit_code == 0, res.output
        [second] = turn_two_requests(server)
        assert [m["role"] for m in second] == ["system", "user", "assistant", "user"]
        assert second[2]["content"] == "A turn 1: Say hello."
        sp = tmp_path / "system.txt"
        sp.write_text("Be brief.")
        res = runner.invoke(
            app,
            [*args, "--system-prompt", str(sp), "--model", f"m=openai:x@{server.openai_url}"],
        )
        assert res.exit_code == 2
        assert "chats.jsonl, line 1" in res.stderr and "its own system message" in res.stderr
    with Session(get_engine(db_url)) as s:
        row = s.exec(select(Prompt).where(Prompt.external_id == "c1#2")).one()
        assert (row.system_message, row.turn) == ("Answer in French.", 2)


def test_a_bad_conversation_prompt_file_is_located_as_import_locates_it(db_url, tmp_path):
    bad = tmp_path / "question.jsonl"
    bad.write_text(
        json.dumps(QUESTIONS[0]) + "\n" + json.dumps({"question_id": 82, "turns": []}) + "\n"
    )
    res = runner.invoke(
        app, ["generate", "mt", "--prompts", str(bad), "--model", "m=openai:x@http://h/v1"]
    )
    assert res.exit_code == 2
    assert "line 2" in res.stderr and "'turns' is empty" in res.stderr


# --- the transformers engine ------------------------------------------------------------


@pytest.fixture(scope="module")
def chat_models(tmp_path_factory) -> dict[str, Path]:
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from tests.tiny_adapters import with_chat_template
    from tests.tiny_lm import build_tiny_gpt2

    root = tmp_path_factory.mktemp("conv-models")
    return {
        name: with_chat_template(
            build_tiny_gpt2(root / f"{name}-raw", n_positions=256, seed=seed), root / name
        )
        for name, seed in (("base", 0), ("tuned", 1))
    }


def test_a_tiny_local_model_answers_turn_two_after_its_own_turn_one(db_url, tmp_path, chat_models):
    questions = write_questions(tmp_path / "question.jsonl", QUESTIONS[:2])
    args = [
        "generate", "mt", "--prompts", str(questions), "--max-new-tokens", "6",
        "--device", "cpu", "--model", f"base={chat_models['base']}",
        "--model", f"tuned={chat_models['tuned']}",
    ]  # fmt: skip
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    assert "base: 4 generated" in res.output and "tuned: 4 generated" in res.output
    with Session(get_engine(db_url)) as s:
        for src in s.exec(select(GenerationSource)).all():
            gens = {
                g.prompt_external_id: g
                for g in s.exec(select(Generation).where(Generation.source_id == src.id))
            }
            assert len(gens) == 4  # two answers per question
            for q in QUESTIONS[:2]:
                cid = str(q["question_id"])
                item = ConversationItem(cid, tuple(q["turns"]), (f"{cid}#1", f"{cid}#2"))
                first, second = gens[f"{cid}#1"], gens[f"{cid}#2"]
                # turn 2's key is over [user 1, this model's own answer 1, user 2]
                own = turn_messages(item, [first.text])
                assert second.cache_key == generation_key(src.fingerprint, own)
                assert second.tokens_in > first.tokens_in
        assert s.exec(select(func.count()).select_from(Pair)).one() == 4
    again = runner.invoke(app, args)
    assert again.exit_code == 0, again.output
    assert "base: 0 generated, 4 already stored" in again.output
