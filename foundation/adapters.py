"""PEFT LoRA adapters on a loaded base model, for generation and checkpoint series alike.

An adapter is injected into its base model in place, so the base must be a fresh copy, never
one shared through ``foundation.hf``'s per-process cache. peft is imported inside the function.
"""

from __future__ import annotations

import warnings
from typing import Any

from sidebyside.foundation.errors import ConfigError, ModelLoadError


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def apply_adapter(model: Any, adapter: str, *, label: str) -> Any:
    """``model`` with the PEFT adapter in folder ``adapter``; ``label`` names the model in
    errors (an adapter trained for another base is a shape mismatch, said so)."""
    try:
        from peft import PeftModel
    except ImportError:
        raise ConfigError(
            f"{label}: an adapter needs peft: pip install 'sidebyside[local]'"
        ) from None
    try:
        adapted = PeftModel.from_pretrained(model, adapter)
    except RuntimeError as exc:  # torch's load_state_dict: "size mismatch for ..."
        raise ModelLoadError(
            f"{label}: adapter {adapter} does not fit this base model (trained for another "
            f"one?): {_first_line(exc)}"
        ) from exc
    except (OSError, ValueError, KeyError) as exc:
        raise ModelLoadError(f"{label}: cannot load adapter {adapter}: {_first_line(exc)}") from exc
    if is_identity(adapted):
        warnings.warn(
            f"{label}: every LoRA B matrix of adapter {adapter} is zero, so it changes nothing: "
            "its answers will equal the base model's (an untrained or unsaved adapter?)",
            UserWarning,
            stacklevel=2,
        )
    return adapted


def is_identity(model: Any) -> bool:
    """True when a PEFT model's LoRA B matrices are all zero (a freshly initialised LoRA):
    the adapter then changes no output, the classic "tuned equals base" bug."""
    found = False
    for name, param in model.named_parameters():
        if "lora_B" in name:
            found = True
            if bool(param.detach().abs().max() > 0):
                return False
    return found


def load_fresh(
    source: str,
    *,
    adapter: str | None,
    device: str,
    torch_dtype: Any,
    label: str,
    merge: bool = False,
) -> tuple[Any, Any]:
    """(model, tokenizer) loaded uncached, the adapter applied, in eval mode on ``device``;
    ``merge``: the adapter merged into the weights (a plain model of the base's class, for
    code that reaches into the architecture, e.g. the perplexity scorer's LM head)."""
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.utils import logging as hf_logging

    from sidebyside.foundation.hf import dtype_kwargs

    hf_logging.disable_progress_bar()  # the command's own progress is the one to read
    try:
        model = AutoModelForCausalLM.from_pretrained(source, **dtype_kwargs(torch_dtype))
        tokenizer = AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{label}: cannot load the model: {_first_line(exc)}") from exc
    if adapter:
        model = apply_adapter(model, adapter, label=label)
        if merge:
            model = model.merge_and_unload()
    return model.to(device).eval(), tokenizer
