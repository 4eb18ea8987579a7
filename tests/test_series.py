"""``sidebyside series``: held-out and training perplexity over checkpoints; a checkpoint
trained here to overfit a few sentences is flagged (held-out up, training down)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from typer.testing import CliRunner  # noqa: E402

from sidebyside.cli.main import app  # noqa: E402
from tests.tiny_adapters import build_lora_adapter  # noqa: E402
from tests.tiny_lm import SENTENCES, build_tiny_gpt2  # noqa: E402

runner = CliRunner()
TRAIN, HELD_OUT = SENTENCES[:3], SENTENCES[3:]


def train_copy(source: Path, path: Path, *, epochs: int, lr: float) -> Path:
    """``source`` trained on TRAIN for ``epochs`` passes (one sentence a step), saved."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # a tiny model: threads only fight over the shared cores
    try:
        torch.manual_seed(0)
        tok = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(source).train()
        opt = torch.optim.AdamW(model.parameters(), lr=lr)
        for _ in range(epochs):
            for text in TRAIN:
                ids = tok(text, return_tensors="pt")["input_ids"]
                model(input_ids=ids, labels=ids).loss.backward()
                opt.step()
                opt.zero_grad()
        model.eval().save_pretrained(path)
        tok.save_pretrained(path)
    finally:
        torch.set_num_threads(threads)
    return path


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("series")
    base = build_tiny_gpt2(root / "step-0", n_positions=64)
    light = train_copy(base, root / "step-100", epochs=4, lr=1e-2)
    heavy = train_copy(light, root / "step-1000", epochs=60, lr=3e-3)
    return {"base": base, "light": light, "heavy": heavy}


def texts(tmp_path: Path) -> list[str]:
    held, train = tmp_path / "held.txt", tmp_path / "train.jsonl"
    held.write_text("\n".join(HELD_OUT) + "\n")
    train.write_text("\n".join(json.dumps({"text": t}) for t in TRAIN) + "\n")
    return ["--held-out", str(held), "--train", str(train)]


def test_the_overfitting_checkpoint_is_flagged(db_url, tmp_path, checkpoints):
    svg = tmp_path / "series.svg"
    args = [
        "series", *texts(tmp_path), "--device", "cpu", "--n-boot", "300",
        "--checkpoint", f"step-0={checkpoints['base']}",
        "--checkpoint", f"step-100={checkpoints['light']}",
        "--checkpoint", f"step-1000={checkpoints['heavy']}",
    ]  # fmt: skip
    assert runner.invoke(app, ["study", "create", "exp"]).exit_code == 0
    res = runner.invoke(app, [*args, "--json", "--svg", str(svg), "--study", "exp"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert data["best"] == "step-100" and data["overfit_from"] == "step-1000"
    p0, p1, p2 = data["points"]
    assert p1["held_out"]["perplexity"] < p0["held_out"]["perplexity"]
    assert p2["held_out"]["perplexity"] > p1["held_out"]["perplexity"]  # held-out up ...
    assert p2["train"]["perplexity"] < p1["train"]["perplexity"]  # ... while training falls
    assert p2["held_out_change"]["ci_low"] > 0  # the interval that supports it
    for p in data["points"]:
        for part in ("held_out", "train"):
            assert p[part]["ci_low"] <= p[part]["perplexity"] <= p[part]["ci_high"]
    assert "overfit" in data["notes"][0]
    plot = svg.read_text()
    assert plot.startswith("<svg") and "overfitting from step-1000" in plot and "best" in plot
    # Kept with the study: the card and the report show it under "What was compared".
    card = runner.invoke(app, ["card", "exp", "--n-boot", "0"]).stdout
    assert "### Checkpoint series" in card
    row = next(line for line in card.splitlines() if line.startswith("| step-1000"))
    assert row.rstrip(" |").endswith("overfitting from here")
    report = json.loads(runner.invoke(app, ["report", "exp", "--n-boot", "0"]).stdout)
    series = report["compared"]["series"]
    assert series["best"] == "step-100" and series["overfit_from"] == "step-1000"
    assert [s["step"] for s in series["steps"]] == ["step-0", "step-100", "step-1000"]
    table = runner.invoke(app, args)
    assert table.exit_code == 0, table.output
    lines = {line.split()[0]: line for line in table.stdout.splitlines()[1:4]}
    assert lines["step-100"].endswith("best")
    assert lines["step-1000"].endswith("overfitting from here")


def test_adapters_and_bad_input(tmp_path, checkpoints):
    base = checkpoints["base"]
    adapter = build_lora_adapter(base, tmp_path / "lora")
    args = ["series", *texts(tmp_path), "--device", "cpu", "--n-boot", "50"]
    res = runner.invoke(
        app,
        [*args, "--checkpoint", f"base={base}", "--checkpoint", f"lora={base}+{adapter}", "--json"],
    )
    assert res.exit_code == 0, res.output
    base_ppl, lora_ppl = (p["held_out"]["perplexity"] for p in json.loads(res.stdout)["points"])
    assert base_ppl != lora_ppl  # the adapter was applied
    res = runner.invoke(app, [*args, "--checkpoint", f"only={base}"])
    assert res.exit_code == 2 and "at least two --checkpoint" in res.stderr
    res = runner.invoke(
        app, [*args, "--checkpoint", f"a={base}", "--checkpoint", f"b={tmp_path}/gone/model"]
    )
    assert res.exit_code == 2 and "checkpoint 'b'" in res.stderr
    res = runner.invoke(app, [*args, "--checkpoint", "nopath", "--checkpoint", f"b={base}"])
    assert res.exit_code == 2 and "STEP=PATH" in res.stderr
