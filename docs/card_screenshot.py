"""Take the README's picture of the evaluation card (docs/card.png) in headless Chromium.

Usage: .venv/bin/python docs/card_screenshot.py [OUT.png]

A throw-away database with the demo study, every layer filled through the CLI: text metrics,
perplexity and a tiny benchmark of two tiny local models (built as the tests build them), a
baseline judge and synthetic ratings; then `sidebyside card demo --format html`, rendered.
Nothing is downloaded.
"""

from __future__ import annotations

import csv
import json
import os
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE.parent))

ITEMS = [
    ("The cat sat on the", ["mat", "moon", "car"]),
    ("Perplexity is the exponential of the average negative", ["log-likelihood", "banana"]),
    ("Researchers compare systems side by side with blind", ["ratings", "cats", "moons"]),
    ("A fine-tuned model should be better on the target", ["domain", "cat", "number"]),
    ("Numbers like 3.14159 and 2718 appear in text now and", ["then", "mat", "model"]),
    ("The cat looked at the", ["moon", "domain", "text"]),
]


def _cli(*args: str) -> str:
    from typer.testing import CliRunner

    from sidebyside.cli.main import app

    result = CliRunner().invoke(app, list(args))
    if result.exit_code != 0:
        raise SystemExit(result.output)
    return result.stdout


def build(tmp: Path) -> str:
    from tests.tiny_lm import build_tiny_gpt2

    os.environ.update(
        SIDEBYSIDE_DATA_DIR=str(tmp / "data"),
        SIDEBYSIDE_DATABASE_URL=f"sqlite:///{tmp / 'card.db'}",
        HF_DATASETS_OFFLINE="1",
        HF_HUB_OFFLINE="1",
        HF_DATASETS_CACHE=str(tmp / "hf"),
    )
    base = str(build_tiny_gpt2(tmp / "base-1b", n_positions=64))
    tuned = str(build_tiny_gpt2(tmp / "tuned-1b", n_positions=64, seed=3))
    data = tmp / "cloze.jsonl"
    data.write_text("".join(json.dumps({"q": q, "c": c, "a": 0}) + "\n" for q, c in ITEMS))
    (tmp / "cloze.yaml").write_text(
        f"task: tiny_cloze\ndataset_path: json\ndataset_kwargs:\n  data_files:\n    test: {data}\n"
        "test_split: test\noutput_type: multiple_choice\n"
        'doc_to_text: "{{q}}"\ndoc_to_choice: "{{c}}"\ndoc_to_target: "{{a}}"\n'
        "metric_list:\n  - metric: acc\n  - metric: acc_norm\n"
    )
    (tmp / "general.txt").write_text("The cat sat on the mat.\nNumbers like 3.14 appear.\n")
    (tmp / "domain.txt").write_text(
        "Perplexity is the exponential of the mean negative log-likelihood.\n"
        "Researchers compare systems with blind ratings.\n"
    )
    _cli("init", "--demo")
    _cli("metrics", "demo")
    _cli("perplexity", "--model", base, "--model", tuned, "--texts", str(tmp / "general.txt"),
         "--texts", str(tmp / "domain.txt"), "--study", "demo")  # fmt: skip
    _cli("benchmark", "--model", base, "--model", tuned, "--tasks", "tiny_cloze",
         "--include-path", str(tmp), "--device", "cpu", "--study", "demo")  # fmt: skip
    _cli("judge", "demo", "--judge", "baseline:longest")
    with (tmp / "ratings.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["prompt_id", "system_a", "system_b", "annotator", "winner"])
        for i in range(1, 31):
            for j, rater in enumerate(("r1", "r2", "r3")):
                winner = "base" if i % 5 == 0 else "tie" if i % 7 == 0 else "fine-tuned"
                winner = "tie" if (i % 3 == 0 and j == 2) else winner  # some disagreement
                w.writerow([f"p{i:02d}", "base", "fine-tuned", rater, winner])
    _cli("import-ratings", "demo", str(tmp / "ratings.csv"))
    html = _cli("card", "demo", "--format", "html")
    return html.replace(str(tmp) + "/", "")  # short model names in the picture


def main(out: Path) -> None:
    from tests.browser_support import chromium

    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        page_file = tmp / "card.html"
        page_file.write_text(build(tmp), encoding="utf-8")
        with chromium(tmp / "profile", width=1250, height=900) as page:
            page.goto(page_file.as_uri())
            page.screenshot(path=str(out), full_page=True)
    print(f"wrote {out}")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "card.png")
