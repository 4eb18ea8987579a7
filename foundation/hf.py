"""The one Hugging Face model loader: device and dtype rules, SDPA attention, and a per-process
cache, for the hf judge and perplexity alike.

torch and transformers are imported inside functions: importing this module is cheap, and the
app's start-up never imports torch.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Literal

from sidebyside.foundation.errors import InputError, ModelLoadError

PaddingSide = Literal["left", "right"]

#: (source, device, dtype, padding side) -> (model, tokenizer)
_LOADED: dict[tuple[str, str, str, str], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def resolve_device(device: str = "auto") -> str:
    """``auto`` is CUDA when torch sees a GPU, else the CPU; anything else is checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise InputError("--device cuda was asked for but torch sees no CUDA device")
    if device != "cpu" and not device.startswith("cuda"):
        raise InputError(f"unknown device {device!r}: use auto, cpu or cuda")
    return device


def resolve_dtype(dtype: str, device: str) -> Any:
    """``auto`` is bfloat16 on a CUDA device that supports it, float32 elsewhere."""
    import torch

    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype == "auto":
        if device.startswith("cuda") and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype not in names:
        raise InputError(f"unknown dtype {dtype!r}: use auto, float32, bfloat16 or float16")
    return names[dtype]


def dtype_kwargs(torch_dtype: Any) -> dict[str, Any]:
    """``from_pretrained`` keyword for a dtype: transformers renamed ``torch_dtype`` to
    ``dtype`` in 4.56, and the project supports older releases too."""
    import transformers

    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype" if (major, minor) >= (4, 56) else "torch_dtype": torch_dtype}


def optimize_for_inference(model: Any) -> Any:
    """Swap the Python tanh-GELU (GPT-2's ``gelu_new``: five elementwise passes) for the
    fused kernel of the same formula, which transformers documents as equivalent up to
    rounding. Done in place; returns the model."""
    try:
        from transformers.activations import GELUTanh, NewGELUActivation
    except ImportError:  # older transformers: keep the model as it is
        return model
    for module in list(model.modules()):
        for child_name, child in list(module.named_children()):
            if type(child) is NewGELUActivation:
                setattr(module, child_name, GELUTanh())
    return model


def model_source(name: str) -> str:
    """A local directory (expanded) or a hub id; a path that looks local but is missing is an
    error here rather than a confusing hub lookup."""
    looks_local = name.startswith((".", "~", "/")) or name.count("/") > 1
    if looks_local:
        path = Path(name).expanduser()
        if not path.is_dir():
            raise ModelLoadError(f"{name}: no such model directory")
        return str(path)
    return name


def load_causal_lm(
    name: str,
    device: str = "auto",
    dtype: str = "auto",
    *,
    padding_side: PaddingSide = "right",
) -> tuple[Any, Any]:
    """(model, tokenizer) in eval mode on ``device``, loaded once per process per (name,
    device, dtype, padding side). SDPA attention where the architecture has it. The
    tokenizer gets a pad token (EOS) when it has none. Raises :class:`ModelLoadError` (or
    ``InputError`` for a bad device or dtype) with a one-line reason."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    source = model_source(name)
    key = (source, dev, str(torch_dtype), padding_side)
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        kwargs = dtype_kwargs(torch_dtype)
        try:
            try:
                model = AutoModelForCausalLM.from_pretrained(
                    source, attn_implementation="sdpa", **kwargs
                )
            except ValueError:  # an architecture without SDPA support: its default attention
                model = AutoModelForCausalLM.from_pretrained(source, **kwargs)
            tokenizer = AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as exc:
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise ModelLoadError(f"{name}: cannot load model: {first}") from exc
        tokenizer.padding_side = padding_side
        tokenizer.truncation_side = padding_side
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        loaded = (optimize_for_inference(model.to(dev).eval()), tokenizer)
        _LOADED[key] = loaded
        return loaded


def clear_loaded() -> None:
    """Forget every loaded model (frees memory between runs of a long process)."""
    with _LOCK:
        _LOADED.clear()


def load_sequence_classifier(
    name: str, device: str = "auto", dtype: str = "auto"
) -> tuple[Any, Any]:
    """(model, tokenizer) of a sequence-classification model (a reward model's scoring
    head), eval mode on ``device``, loaded once per process like :func:`load_causal_lm`.
    Right padding and left truncation (the response, at the end, is what is scored); the
    model's pad token is the tokenizer's, so the last real token is the one scored."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    dev = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, dev)
    source = model_source(name)
    key = (source, dev, str(torch_dtype), "sequence-classification")
    with _LOCK:
        if key in _LOADED:
            return _LOADED[key]
        try:
            model = AutoModelForSequenceClassification.from_pretrained(
                source, **dtype_kwargs(torch_dtype)
            )
            tokenizer = AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as exc:
            text = str(exc).strip()
            first = text.splitlines()[0] if text else type(exc).__name__
            raise ModelLoadError(f"{name}: cannot load model: {first}") from exc
        tokenizer.padding_side = "right"
        tokenizer.truncation_side = "left"
        if tokenizer.pad_token is None:
            tokenizer.pad_token = tokenizer.eos_token
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        loaded = (model.to(dev).eval(), tokenizer)
        _LOADED[key] = loaded
        return loaded
