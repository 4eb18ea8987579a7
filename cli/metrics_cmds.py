"""Commands of the automatic metrics: perplexity, metrics, contamination.

torch / transformers / sacrebleu are imported inside the commands, never at start-up.
"""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Any

import typer

from sidebyside.cli import benchmark_cmd
from sidebyside.cli.common import open_session
from sidebyside.cli.options import echo_err, json_safe, parse_batch_size, resolve_study_id
from sidebyside.cli.tracking import metric_name, mlflow_option
from sidebyside.foundation.errors import InputError, ModelLoadError


def _text_set_names(paths: list[Path]) -> list[str]:
    names = [p.name for p in paths]
    return [str(p) if names.count(p.name) > 1 else p.name for p in paths]


# --------------------------------------------------------------------------- perplexity


def perplexity(
    model: list[str] = typer.Option(..., "--model", help="Model path or hub id (repeatable)."),
    texts: list[Path] = typer.Option(
        ..., "--texts", help=".txt (one text a line) or .jsonl with 'text' (repeatable)."
    ),
    paragraphs: bool = typer.Option(
        False, "--paragraphs", help=".txt files: texts are blank-line separated paragraphs."
    ),
    field: str = typer.Option("text", help="Field of the .jsonl records holding the text."),
    batch_size: str = typer.Option(
        "auto", "--batch-size", help="Windows per batch, or 'auto' (token budget, OOM backoff)."
    ),
    max_length: int | None = typer.Option(
        None, "--max-length", help="Window length in tokens (default: the model's context)."
    ),
    stride: int | None = typer.Option(
        None, help="New tokens per sliding window (default: --max-length)."
    ),
    device: str = typer.Option("auto", help="auto, cpu or cuda."),
    dtype: str = typer.Option("auto", help="auto (bf16 on CUDA, else float32), float32, ..."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON results on stdout only."),
    study: str | None = typer.Option(None, help="Store the results in this study."),
    bootstrap: int = typer.Option(1000, help="Bootstrap resamples for the CIs."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    mlflow: bool = mlflow_option(),
) -> None:
    """Corpus perplexity of texts under one or more models (see docs/perplexity.md)."""
    from sidebyside.metrics.ppl_stats import comparison_rows, format_rows, read_texts, texts_sha256

    size = parse_batch_size(batch_size)
    if device not in ("auto", "cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"--device must be auto, cpu or cuda, got {device!r}")
    if dtype not in ("auto", "float32", "bfloat16", "float16"):
        raise InputError(f"--dtype must be auto, float32, bfloat16 or float16, got {dtype!r}")
    # every input is checked before a model is loaded
    text_sets = [read_texts(path, paragraphs=paragraphs, field_name=field) for path in texts]
    names = _text_set_names(texts)
    study_id = resolve_study_id(study) if study else None

    results = []
    for model_name in model:
        scored = _score_model(
            model_name,
            text_sets,
            names,
            device=device,
            dtype=dtype,
            batch_size=size,
            max_length=max_length,
            stride=stride,
        )
        results.extend(scored)
    if study_id is not None:
        _store(study_id, results, [texts_sha256(t) for t in text_sets] * len(model), bootstrap)

    rows = comparison_rows(results, n_boot=bootstrap, seed=seed)
    if as_json:
        keys = (
            "model",
            "texts",
            "perplexity",
            "nll_sum",
            "n_tokens",
            "bits_per_byte",
            "ci_low",
            "ci_high",
            "tokens_per_second",
        )
        payload = {"results": [{k: json_safe(r[k]) for k in keys} for r in rows]}
        typer.echo(json.dumps(payload))
        if len(rows) > 1:
            echo_err(format_rows(rows))
    else:
        typer.echo(format_rows(rows))
    if mlflow:
        from sidebyside.cli.tracking import track

        figures = {
            metric_name(f"perplexity.{r['texts']}.{r['model']}"): r["perplexity"] for r in rows
        }
        params = {"models": model, "texts": names, "max_length": max_length, "stride": stride}
        track("perplexity", study=study, params=params, metrics=figures, seed=seed)


def _score_model(model_name, text_sets, names, *, device, dtype, batch_size, max_length, stride):
    from sidebyside.metrics.perplexity import load_model, score_texts

    results = []
    try:
        load_model(model_name, device, dtype)
    except ModelLoadError as exc:  # adds which --model it was
        raise ModelLoadError(f"could not load model {model_name!r}: {exc}") from exc
    for texts, name in zip(text_sets, names, strict=True):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                result = score_texts(
                    model_name,
                    texts,
                    texts_name=name,
                    device=device,
                    dtype=dtype,
                    batch_size=batch_size,
                    max_length=max_length,
                    stride=stride,
                    progress=_progress_printer(f"{model_name} on {name}"),
                )
            except InputError as exc:  # adds which model and text set it was
                raise InputError(f"{model_name} on {name}: {exc}") from exc
        for w in caught:
            echo_err(f"warning: {w.message}")
        if result.total_tokens == 0:
            echo_err(f"warning: {model_name} on {name}: no token was scored")
        echo_err(
            f"{model_name} on {name}: {result.total_tokens} tokens in {result.seconds:.1f} s "
            f"({result.tokens_per_second:.0f} tokens/s)"
        )
        results.append(result)
    _release(model_name, device, dtype)
    return results


def _release(model_name: str, device: str, dtype: str) -> None:
    """The CLI is done with a model once all text sets are scored: free its memory."""
    import gc

    from sidebyside.metrics.perplexity import load_model

    load_model.cache_clear()
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is not None and torch.cuda.is_available():
        torch.cuda.empty_cache()


def _progress_printer(label: str):
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        sys.stderr.write(f"\r{label}: {done}/{total} tokens{end}")
        sys.stderr.flush()

    return show


def _store(study_id: int, results, hashes: list[str], n_boot: int) -> None:
    from sidebyside.metrics.store import save_perplexity

    with open_session() as session:
        for result, digest in zip(results, hashes, strict=True):
            save_perplexity(
                session, study_id=study_id, scores=result, texts_hash=digest, n_boot=n_boot
            )
    echo_err(f"stored {len(results)} perplexity result(s) in study {study_id}")


# --------------------------------------------------------------------------- metrics


def metrics(
    study: str | None = typer.Argument(None, help="Study name or id (or use the files)."),
    predictions: Path | None = typer.Option(
        None, help=".txt (one a line) or .jsonl ('prediction', 'output' or 'text'; 'id')."
    ),
    references: Path | None = typer.Option(
        None, help=".txt or .jsonl ('reference', 'references' list, or 'text'; 'id')."
    ),
    labels: bool = typer.Option(False, "--labels", help="A label task: accuracy and F1."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
    bootstrap: int = typer.Option(1000, help="Bootstrap resamples for the CIs."),
    seed: int = typer.Option(0, help="Bootstrap seed."),
    mlflow: bool = mlflow_option(),
) -> None:
    """BLEU, chrF, ROUGE, exact match, token F1, METEOR (or label accuracy / F1) against
    references."""
    from sidebyside.metrics.inputs import read_pairs

    if (study is None) == (predictions is None and references is None):
        raise InputError("give either a STUDY or --predictions FILE --references FILE")
    if study is None and (predictions is None or references is None):
        raise InputError("--predictions and --references go together")
    results: dict[str, dict[str, Any]] = {}
    per_class: dict[str, Any] = {}
    if study is not None:
        results, per_class = _study_metrics(study, labels, bootstrap, seed)
    else:
        preds, refs = read_pairs(predictions, references)
        results["predictions"], report = _file_metrics(preds, refs, labels, bootstrap, seed)
        per_class = {"predictions": report} if report else {}
    if mlflow:
        from sidebyside.cli.tracking import track

        figures = {
            metric_name(f"{'label' if labels else 'text'}.{k}.{system}"): v.value
            for system, values in results.items()
            for k, v in values.items()
        }
        track("metrics", study=study, params={"labels": labels}, metrics=figures, seed=seed)
    if as_json:
        payload: dict[str, Any] = {
            "results": {
                system: {
                    k: {f: json_safe(x) for f, x in v.as_dict().items() if f != "name"}
                    for k, v in values.items()
                }
                for system, values in results.items()
            }
        }
        if per_class:
            payload["per_class"] = per_class
        typer.echo(json.dumps(payload))
        return
    for system, values in results.items():
        n = next(iter(values.values())).n
        typer.echo(f"{system} ({n} prompts with a reference)")
        for name, v in values.items():
            typer.echo(f"  {name:<12} {v.value:8.3f}   95% CI {v.ci_low:8.3f} .. {v.ci_high:8.3f}")
        for label, row in per_class.get(system, {}).items():
            typer.echo(
                f"  class {label!r}: precision {row['precision']:.3f} recall {row['recall']:.3f}"
                f" f1 {row['f1-score']:.3f} support {row['support']:.0f}"
            )


def _file_metrics(preds, refs, labels: bool, n_boot: int, seed: int):
    from sidebyside.metrics.textmetrics import label_metrics, text_metrics

    if labels:
        if any(not isinstance(r, str) for r in refs):
            raise InputError("--labels needs exactly one reference label per prediction")
        report = label_metrics(preds, refs, n_boot=n_boot, seed=seed)
        return dict(report.metrics), report.per_class
    return text_metrics(preds, refs, n_boot=n_boot, seed=seed), {}


def _study_metrics(ref: str, labels: bool, n_boot: int, seed: int):
    from sidebyside.foundation.lookup import get_study
    from sidebyside.metrics.store import compute_study_metrics

    with open_session() as session:
        target = get_study(session, ref)
        return compute_study_metrics(session, study=target, labels=labels, n_boot=n_boot, seed=seed)


# --------------------------------------------------------------------------- contamination


def contamination(
    train: Path = typer.Option(..., help="Training texts: .txt (one a line) or .jsonl."),
    eval_file: Path = typer.Option(..., "--eval", help="Evaluation texts: .txt or .jsonl."),
    n: int = typer.Option(8, "--n", help="Words per n-gram."),
    field: str = typer.Option("text", help="Field of the .jsonl records holding the text."),
    threshold: float | None = typer.Option(
        None, help="Share of an item's n-grams that must match (default: any one)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON on stdout."),
) -> None:
    """Word n-gram overlap between training data and an evaluation set."""
    from sidebyside.metrics.contamination import contamination as check
    from sidebyside.metrics.ppl_stats import read_texts

    if n < 1:
        raise InputError(f"--n must be at least 1, got {n}")
    if threshold is not None and not 0 < threshold <= 1:
        raise InputError(f"--threshold must be in (0, 1], got {threshold}")
    train_texts = read_texts(train, field_name=field)
    eval_texts = read_texts(eval_file, field_name=field)
    report = check(train_texts, eval_texts, n=n, threshold=threshold)
    items = [
        {
            "item": it.index + 1,
            "share": it.share,
            "matched": it.n_matched,
            "ngrams": it.n_ngrams,
            "text": eval_texts[it.index][:200],
        }
        for it in report.contaminated
    ]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "n": n,
                    "n_train": report.n_train,
                    "n_eval": report.n_eval,
                    "contaminated": items,
                    "share": report.share,
                    "too_short": [i + 1 for i in report.too_short],
                }
            )
        )
        return
    for it in items:
        snippet = " ".join(it["text"].split())[:80]
        typer.echo(
            f"item {it['item']:>6}  {100 * it['share']:5.1f}% of {it['ngrams']} "
            f"{n}-grams  {snippet}"
        )
    typer.echo(
        f"{len(items)} of {report.n_eval} evaluation items ({100 * report.share:.2f}%) share "
        f"word {n}-grams with the {report.n_train} training texts"
    )
    if report.too_short:
        typer.echo(f"{len(report.too_short)} item(s) have fewer than {n} words: not checked")


def register(app: typer.Typer) -> None:
    app.command("perplexity")(perplexity)
    app.command("metrics")(metrics)
    app.command("contamination")(contamination)
    app.command("benchmark")(benchmark_cmd.benchmark)
