"""``sidebyside generate`` with the transformers engine on tiny local models: two models and
an adapter into a study, provenance, chat templates, stop strings, the cache, eval-set
versions and bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("peft")

from sqlmodel import Session, func, select  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from sidebyside.cli.main import app  # noqa: E402
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
from tests.tiny_adapters import (  # noqa: E402
    build_lora_adapter,
    build_merged,
    build_other_base_adapter,
    with_chat_template,
)
from tests.tiny_lm import build_tiny_gpt2  # noqa: E402

runner = CliRunner()

PROMPTS = [
    "The cat sat on",
    "A fine-tuned model should",
    "Perplexity is the exponential",
    "Researchers compare systems",
    "Numbers like 3.14159",
    "Unicode text also needs",
]


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("gen-models")
    base = build_tiny_gpt2(root / "base", n_positions=128)
    adapter = build_lora_adapter(base, root / "adapter")
    return {
        "base": base,
        "adapter": adapter,
        "merged": build_merged(base, adapter, root / "merged"),
        "other_adapter": build_other_base_adapter(base, root / "other-adapter"),
        "chat": with_chat_template(base, root / "chat"),
    }


def write_prompts(path: Path, prompts: list[str] = PROMPTS, **extra: str) -> Path:
    rows = [{"prompt_id": f"p{i}", "prompt": p, **extra} for i, p in enumerate(prompts)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def generate(*args: str):
    result = runner.invoke(app, ["generate", *args])
    return result


def outputs(db_url: str, study: str) -> dict[str, dict[str, str]]:
    """system -> prompt id -> output text."""
    with Session(get_engine(db_url)) as s:
        rows = s.exec(
            select(System.name, Prompt.external_id, Output.text)
            .join(Output, Output.system_id == System.id)
            .join(Prompt, Output.prompt_id == Prompt.id)
            .join(Study, Study.id == System.study_id)
            .where(Study.name == study)
        ).all()
    found: dict[str, dict[str, str]] = {}
    for system, pid, text in rows:
        found.setdefault(system, {})[pid] = text
    return found


def test_two_models_and_an_adapter_into_a_study(db_url, tmp_path, models):
    prompts = write_prompts(tmp_path / "eval.jsonl")
    args = [
        "exp",
        "--prompts", str(prompts),
        "--model", f"base={models['base']}",
        "--model", f"tuned={models['base']}+{models['adapter']}",
        "--model", f"merged={models['merged']}",
        "--no-chat-template", "--max-new-tokens", "12", "--batch-size", "4",
    ]  # fmt: skip
    res = generate(*args)
    assert res.exit_code == 0, res.output
    assert "base: 6 generated" in res.output and "tuned: 6 generated" in res.output
    got = outputs(db_url, "exp")
    assert set(got) == {"base", "tuned", "merged"} and all(len(v) == 6 for v in got.values())
    # The adapter was really loaded: its answers differ from the base's, and equal the
    # answers of the merged copy (same weights, one folder).
    assert sum(got["tuned"][p] != got["base"][p] for p in got["base"]) >= 4
    assert got["tuned"] == got["merged"]
    with Session(get_engine(db_url)) as s:
        assert s.exec(select(func.count()).select_from(Pair)).one() == 18  # 3 pairs x 6
        sources = {r.system: r for r in s.exec(select(GenerationSource))}
        gens = s.exec(select(Generation)).all()
    tuned = sources["tuned"]
    assert tuned.adapter == str(models["adapter"]) and len(tuned.adapter_hash) == 64
    assert tuned.model_hash == sources["base"].model_hash != sources["merged"].model_hash
    assert sources["base"].adapter_hash is None and tuned.template_hash is None
    assert {"transformers", "torch", "peft"} <= set(tuned.versions)
    assert tuned.params["max_new_tokens"] == 12 and tuned.params["chat_template"] is False
    assert tuned.params["temperature"] == 0.0 and tuned.seed == 0
    assert all(g.tokens_in and g.tokens_out is not None and g.latency_s > 0 for g in gens)
    assert {g.finish_reason for g in gens} <= {"eos", "length"}

    # A temperature-0 rerun generates nothing and changes nothing.
    again = generate(*args)
    assert again.exit_code == 0, again.output
    assert "base: 0 generated, 6 already stored" in again.output
    assert "tuned: 0 generated, 6 already stored" in again.output
    assert outputs(db_url, "exp") == got


def test_batched_left_padding_matches_one_at_a_time(db_url, tmp_path, models):
    prompts = write_prompts(tmp_path / "eval.jsonl")
    common = ["--prompts", str(prompts), "--no-chat-template", "--max-new-tokens", "10"]
    m = ["--model", f"m={models['base']}"]
    assert generate("one", *common, *m, "--batch-size", "1").exit_code == 0
    assert generate("six", *common, *m, "--batch-size", "6").exit_code == 0
    assert outputs(db_url, "one") == outputs(db_url, "six")


def test_chat_template_system_prompt_and_stop(db_url, tmp_path, models):
    prompts = write_prompts(tmp_path / "eval.jsonl")
    system = tmp_path / "system.txt"
    system.write_text("You are terse.")
    common = ["--prompts", str(prompts), "--max-new-tokens", "16"]
    # A model without a chat template is refused unless the prompts are plain text.
    res = generate("plain", *common, "--model", f"m={models['base']}")
    assert res.exit_code == 2 and "has no chat template" in res.stderr
    assert "--no-chat-template" in res.stderr
    res = generate(
        "chat", *common, "--model", f"m={models['chat']}", "--system-prompt", str(system)
    )
    assert res.exit_code == 0, res.output
    with Session(get_engine(db_url)) as s:
        src = s.exec(select(GenerationSource)).one()
        tokens_in = {g.prompt_external_id: g.tokens_in for g in s.exec(select(Generation))}
    assert len(src.template_hash) == 64 and src.params["system_prompt_sha256"]
    # The system prompt and the template's markup are part of what the model read.
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(models["chat"])
    rendered = tok.apply_chat_template(
        [{"role": "system", "content": "You are terse."}, {"role": "user", "content": PROMPTS[0]}],
        add_generation_prompt=True,
        tokenize=False,
    )
    assert tokens_in["p0"] == len(tok(rendered, add_special_tokens=False)["input_ids"])

    # --stop: the answer ends before the first stop string (the string is not kept).
    long = outputs(db_url, "chat")["m"]
    pid, text = next((p, t) for p, t in long.items() if len(t.strip()) > 6)
    stop = text[3:6]
    res = generate(
        "chat-stop", *common, "--model", f"m={models['chat']}",
        "--system-prompt", str(system), "--stop", stop,
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    stopped = outputs(db_url, "chat-stop")["m"][pid]
    assert stopped == text[: text.find(stop)]


def test_changed_prompt_set_is_refused_with_its_ids(db_url, tmp_path, models):
    common = ["--model", f"m={models['base']}", "--no-chat-template", "--max-new-tokens", "4"]
    first = write_prompts(tmp_path / "v1.jsonl")
    assert generate("exp", "--prompts", str(first), *common).exit_code == 0
    changed = PROMPTS.copy()
    changed[1] += " (edited)"
    changed[4] = "Another prompt"
    second = write_prompts(tmp_path / "v2.jsonl", changed)
    res = generate("exp", "--prompts", str(second), *common)
    assert res.exit_code == 2
    assert "2 prompt(s) with other texts" in res.stderr and "'p1', 'p4'" in res.stderr
    # ``import`` refuses it the same way, listing every differing id.
    long = tmp_path / "long.jsonl"
    long.write_text(
        "\n".join(
            json.dumps({"prompt_id": f"p{i}", "prompt": p, "system": "x", "output": "o"})
            for i, p in enumerate(changed)
        )
    )
    res = runner.invoke(app, ["import", "exp", str(long)])
    assert res.exit_code == 2 and "'p1', 'p4'" in res.stderr
    # --new-version starts the next version, a study of its own.
    res = generate("exp", "--prompts", str(second), *common, "--new-version")
    assert res.exit_code == 0, res.output
    with Session(get_engine(db_url)) as s:
        versions = {
            (name, v.version, v.parent_study_id is not None)
            for v, name in s.exec(
                select(PromptSetVersion, Study.name).join(
                    Study, Study.id == PromptSetVersion.study_id
                )
            )
        }
    assert versions == {("exp", 1, False), ("exp-v2", 2, True)}
    # The same command again resumes in that version (nothing to generate).
    res = generate("exp", "--prompts", str(second), *common, "--new-version")
    assert res.exit_code == 0 and "m: 0 generated, 6 already stored" in res.output
    assert outputs(db_url, "exp-v2")["m"].keys() == {f"p{i}" for i in range(6)}


def test_bad_models_and_prompt_files(db_url, tmp_path, models):
    prompts = write_prompts(tmp_path / "eval.jsonl")
    common = ["--prompts", str(prompts), "--no-chat-template", "--max-new-tokens", "4"]
    res = generate("exp", *common, "--model", f"gone={tmp_path / 'nope' / 'model'}")
    assert res.exit_code == 2 and "model 'gone'" in res.stderr
    assert "no such model directory" in res.stderr
    res = generate(
        "exp", *common, "--model", f"base={models['base']}",
        "--model", f"bad={models['base']}+{models['other_adapter']}",
    )  # fmt: skip
    assert res.exit_code == 2, res.output
    assert "model 'bad'" in res.stderr and "does not fit this base model" in res.stderr
    # What was generated before the error stays; a rerun without the bad model continues.
    with Session(get_engine(db_url)) as s:
        assert s.exec(select(func.count()).select_from(Generation)).one() == 6
    res = generate("exp", *common, "--model", f"base={models['base']}")
    assert res.exit_code == 0 and "base: 0 generated, 6 already stored" in res.output
    assert len(outputs(db_url, "exp")["base"]) == 6

    dup = tmp_path / "dup.jsonl"
    dup.write_text('{"prompt_id": "a", "prompt": "x"}\n{"prompt_id": "a", "prompt": "y"}\n')
    res = generate("exp", "--prompts", str(dup), "--model", f"m={models['base']}")
    assert res.exit_code == 2
    assert "dup.jsonl, line 2, column prompt_id: duplicate prompt_id 'a' (first on line 1)" in (
        res.stderr
    )
    res = generate("exp", *common, "--model", "nameonly")
    assert res.exit_code == 2 and "NAME=SOURCE" in res.stderr
    too_long = ["--max-new-tokens", "127", "--no-chat-template", "--prompts", str(prompts)]
    res = generate("exp2", *too_long, "--model", f"m={models['base']}")
    assert res.exit_code == 2 and "exceed its context of 128 tokens" in res.stderr
    res = generate("exp3", *common, "--model", f"m={models['base']}", "--pairing", "baseline")
    assert res.exit_code == 2 and "--baseline NAME, one of the --model names: m" in res.stderr


def test_dry_run_counts_and_stores_nothing(db_url, tmp_path, models):
    prompts = write_prompts(tmp_path / "eval.jsonl")
    common = ["--prompts", str(prompts), "--no-chat-template", "--max-new-tokens", "5"]
    res = generate("exp", *common, "--model", f"m={models['base']}", "--dry-run")
    assert res.exit_code == 0, res.output
    assert "m: 6 to generate (0 already stored)" in res.output
    assert "at most 30 tokens out" in res.output
    with Session(get_engine(db_url)) as s:
        assert s.exec(select(func.count()).select_from(Study)).one() == 0
        assert s.exec(select(func.count()).select_from(Generation)).one() == 0


def _stored(db_url: str) -> int:
    with Session(get_engine(db_url)) as s:
        return s.exec(select(func.count()).select_from(Generation)).one()


@pytest.mark.slow
def test_kill_9_then_rerun_generates_only_what_is_missing(engine, db_url, tmp_path, models):
    n = 16
    prompts = write_prompts(tmp_path / "eval.jsonl", [f"{PROMPTS[i % 6]} {i}" for i in range(n)])
    args = [
        "generate", "exp", "--prompts", str(prompts), "--no-chat-template",
        "--max-new-tokens", "16", "--batch-size", "1",
        "--model", f"base={models['base']}",
        "--model", f"tuned={models['base']}+{models['adapter']}",
    ]  # fmt: skip
    code = "from sidebyside.cli.main import main; main()"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        env=os.environ | {"SIDEBYSIDE_DATABASE_URL": db_url},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 120
        while _stored(db_url) < 3:
            assert proc.poll() is None, "the run finished before it could be killed"
            assert time.monotonic() < deadline
            time.sleep(0.05)
    finally:
        proc.kill()  # SIGKILL: no cleanup, no final commit
        proc.wait()
    stored = _stored(db_url)
    assert 3 <= stored < 2 * n
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    generated = sum(int(x) for x in re.findall(r"(\d+) generated, \d+ already", res.output))
    assert generated == 2 * n - stored
    assert _stored(db_url) == 2 * n
    got = outputs(db_url, "exp")
    assert len(got["base"]) == len(got["tuned"]) == n


def test_provenance_in_report_card_and_export(db_url, tmp_path, models):
    prompts = write_prompts(tmp_path / "eval.jsonl")
    res = generate(
        "exp", "--prompts", str(prompts), "--no-chat-template", "--max-new-tokens", "6",
        "--model", f"base={models['base']}",
        "--model", f"tuned={models['base']}+{models['adapter']}",
        "--seed", "7",
    )  # fmt: skip
    assert res.exit_code == 0, res.output
    report = json.loads(runner.invoke(app, ["report", "exp", "--n-boot", "0"]).stdout)
    compared = report["compared"]
    assert compared["eval_set"]["version"] == 1 and compared["eval_set"]["n_prompts"] == 6
    by = {m["system"]: m for m in compared["models"]}
    assert by["tuned"]["adapter"] == str(models["adapter"]) and by["tuned"]["seed"] == 7
    assert by["tuned"]["n_outputs"] == 6 and by["tuned"]["tokens_out"] > 0
    assert by["base"]["model_hash"] == by["tuned"]["model_hash"]
    assert "peft" in by["tuned"]["versions"]

    md = runner.invoke(app, ["report", "exp", "--n-boot", "0", "--format", "md"]).stdout
    assert md.index("## What was compared") < md.index("## Evaluation card")
    assert f"tuned: {models['base']} + adapter {models['adapter']}" in md
    card = runner.invoke(app, ["card", "exp", "--n-boot", "0"]).stdout
    assert card.startswith("## What was compared")
    assert "Eval set: version 1, 6 prompts" in card and "greedy, max 6 new tokens, seed 7" in card
    card_json = json.loads(runner.invoke(app, ["card", "exp", "--format", "json"]).stdout)
    assert card_json["compared"] == compared

    out = tmp_path / "gens.jsonl"
    res = runner.invoke(
        app, ["export", "exp", "--what", "generations", "-f", "jsonl", "-o", str(out)]
    )
    assert res.exit_code == 0, res.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(rows) == 12 and {r["system"] for r in rows} == {"base", "tuned"}
    tuned = next(r for r in rows if r["system"] == "tuned")
    assert tuned["adapter_hash"] == by["tuned"]["adapter_hash"] and tuned["seed"] == 7
    assert tuned["params"]["max_new_tokens"] == 6 and tuned["eval_set_version"] == 1
    assert tuned["eval_set_sha256"] == compared["eval_set"]["sha256"]


def test_an_adapter_that_changes_nothing_is_warned_about(tmp_path, models):
    from peft import LoraConfig, get_peft_model
    from torch import float32
    from transformers import AutoModelForCausalLM

    from sidebyside.foundation.adapters import load_fresh

    zero = tmp_path / "zero-lora"  # peft's default initialisation: B = 0
    config = LoraConfig(r=2, target_modules=["c_attn"], fan_in_fan_out=True)
    get_peft_model(AutoModelForCausalLM.from_pretrained(models["base"]), config).save_pretrained(
        zero
    )
    with pytest.warns(UserWarning, match="changes nothing"):
        load_fresh(
            str(models["base"]), adapter=str(zero), device="cpu", torch_dtype=float32, label="m"
        )
