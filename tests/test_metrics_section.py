"""ui.metrics_section smoke tests with streamlit's AppTest: tables from stored rows, a
perplexity run launched from the form, and no torch at render time."""

from __future__ import annotations

import numpy as np
import pytest
from streamlit.testing.v1 import AppTest

from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.metrics.ppl_stats import TextScores, texts_sha256
from sidebyside.metrics.store import save_perplexity

try:
    from tests.tiny_lm import build_tiny_gpt2
except ImportError:  # pragma: no cover
    from tests.tiny_lm import build_tiny_gpt2


def _script(study_id: int) -> None:
    from sidebyside.ui.metrics_section import render_metrics_section

    render_metrics_section(study_id)


def _study(db_url: str) -> int:
    from sidebyside.annotate.importing import import_sources
    from sidebyside.annotate.studies import create_study

    rows = ["prompt_id,prompt,system,output,reference"]
    for i in range(5):
        rows += [f"p{i},Q{i}?,base,answer {i},answer {i}", f"p{i},Q{i}?,tuned,other {i},answer {i}"]
    with unit_of_work(init_db(get_engine(db_url))) as session:
        study = create_study(session, name="s", k=1, seed=0)
        import_sources(session, study=study, sources=[("o.csv", "\n".join(rows).encode())])
        return study.id


def _fake_scores(model: str, per_token: float) -> TextScores:
    n = np.array([10, 20, 30, 40])
    return TextScores(
        model=model, texts="domain.txt", nll=n * per_token, n_tokens=n, n_bytes=n * 4, seconds=1.0
    )


def test_tables_from_stored_rows(db_url):
    study_id = _study(db_url)
    with unit_of_work(get_engine(db_url)) as session:
        for model, loss in (("base", 2.0), ("tuned", 1.9)):
            save_perplexity(
                session,
                study_id=study_id,
                scores=_fake_scores(model, loss),
                texts_hash=texts_sha256(["a", "b", "c", "d"]),
                n_boot=100,
            )
    at = AppTest.from_function(_script, args=(study_id,), default_timeout=30).run()
    assert not at.exception
    ppl = at.dataframe[0].value
    assert list(ppl["model"]) == ["base", "tuned"]
    assert ppl["vs first model"].iloc[1].startswith("-9.5%")  # exp(-0.1) - 1
    assert ppl["vs first model"].iloc[0] == ""

    at.button[-1].click().run()  # "Compute metrics"
    assert not at.exception
    metrics = at.dataframe[1].value
    assert list(metrics["system"]) == ["base", "tuned"]
    assert list(metrics["exact_match"]) == [100.0, 0.0]


def test_empty_study_shows_hints_and_no_torch(db_url):
    import subprocess
    import sys

    study_id = _study(db_url)
    at = AppTest.from_function(_script, args=(study_id,), default_timeout=30).run()
    assert not at.exception
    assert any("No perplexity run yet" in i.value for i in at.info)
    # rendering the section in a fresh interpreter does not import torch
    code = (
        "import sys, ui.metrics_section, metrics.store, metrics.ppl_stats;"
        "print('torch' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_launch_a_run_from_the_form(db_url, tmp_path):
    pytest.importorskip("transformers")
    study_id = _study(db_url)
    model = build_tiny_gpt2(tmp_path / "lm")
    texts = tmp_path / "general.txt"
    texts.write_text("The cat sat on the mat.\nSide by side.\n")
    at = AppTest.from_function(_script, args=(study_id,), default_timeout=60).run()
    at.text_input[0].input(str(model))
    at.text_input[1].input(str(texts))
    at.selectbox[0].select("cpu")
    at.button[0].click().run()
    assert not at.exception
    assert any("perplexity" in s.value for s in at.success), [e.value for e in at.error]
    assert list(at.dataframe[0].value["text set"]) == ["general.txt"]

    at.text_input[1].input(str(tmp_path / "missing.txt"))
    at.button[0].click().run()
    assert any("no such file" in e.value for e in at.error)
