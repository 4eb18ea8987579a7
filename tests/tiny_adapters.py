"""Tiny PEFT LoRA adapters, merged copies and chat-template copies of the tiny GPT-2
(``tests/tiny_lm.py``), built locally: nothing is downloaded."""

from __future__ import annotations

import shutil
from pathlib import Path

#: A minimal ChatML-like template (the tiny tokenizer has none of its own).
CHAT_TEMPLATE = (
    "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}<assistant>{% endif %}"
)


def build_lora_adapter(base: Path, path: Path, *, seed: int = 1, r: int = 4) -> Path:
    """A LoRA adapter on ``base`` with random, non-zero A and B (a freshly initialised LoRA
    has B = 0 and changes nothing), scaled so it changes greedy answers."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = AutoModelForCausalLM.from_pretrained(base)
    config = LoraConfig(
        r=r,
        lora_alpha=4 * r,
        target_modules=["c_attn", "c_fc"],
        fan_in_fan_out=True,  # GPT-2 stores these layers as Conv1D
        init_lora_weights=False,
    )
    peft_model = get_peft_model(model, config)
    peft_model.save_pretrained(path)
    return path


def build_merged(base: Path, adapter: Path, path: Path) -> Path:
    """``base`` with ``adapter`` merged into its weights, saved as a plain model."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(base), adapter)
    model.merge_and_unload().save_pretrained(path)
    AutoTokenizer.from_pretrained(base).save_pretrained(path)
    return path


def build_other_base_adapter(base: Path, path: Path) -> Path:
    """An adapter trained for a model of another width (same module names): loading it on
    ``base`` is a shape mismatch."""
    from transformers import AutoConfig, GPT2LMHeadModel

    config = AutoConfig.from_pretrained(base)
    config.n_embd = 16
    other = path.parent / f"{path.name}-base"
    GPT2LMHeadModel(config).save_pretrained(other)
    return build_lora_adapter(other, path)


def with_chat_template(base: Path, path: Path) -> Path:
    """A copy of ``base`` whose tokenizer has ``CHAT_TEMPLATE``."""
    from transformers import AutoTokenizer

    shutil.copytree(base, path)
    tok = AutoTokenizer.from_pretrained(base)
    tok.chat_template = CHAT_TEMPLATE
    tok.save_pretrained(path)
    return path
