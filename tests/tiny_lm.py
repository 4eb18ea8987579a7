"""A tiny GPT-2 built locally for tests: seeded random weights, a byte-level BPE tokenizer
trained on a few sentences. Nothing is downloaded; users' ``from_pretrained(path)`` loads it."""

from __future__ import annotations

from pathlib import Path

SENTENCES = [
    "The cat sat on the mat and looked at the moon.",
    "A fine-tuned model should be better on the target domain.",
    "Perplexity is the exponential of the average negative log-likelihood.",
    "Researchers compare systems side by side with blind ratings.",
    "Über naïve café: unicode text also needs bytes, 日本語 too.",
    "Numbers like 3.14159 and 2718 appear in text now and then.",
]


def build_tiny_gpt2(
    path: Path, *, bos: bool = True, n_positions: int = 32, n_layer: int = 2, seed: int = 0
) -> Path:
    """Save a tiny GPT-2 and its tokenizer under ``path``; ``bos`` says whether the tokenizer
    defines a BOS token."""
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import GPT2Config, GPT2LMHeadModel, PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=300,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(SENTENCES * 3, trainer=trainer)
    special = {"bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>"} if bos else {}
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, **special)
    fast.save_pretrained(path)

    torch.manual_seed(seed)
    eot = tok.token_to_id("<|endoftext|>")
    config = GPT2Config(
        vocab_size=tok.get_vocab_size(),
        n_positions=n_positions,
        n_embd=32,
        n_layer=n_layer,
        n_head=2,
        initializer_range=0.2,
        bos_token_id=eot,
        eos_token_id=eot,
    )
    GPT2LMHeadModel(config).eval().save_pretrained(path)
    return path


def reference_nll(
    model_path: Path, texts: list[str], *, max_length: int, stride: int
) -> tuple[list[float], list[int]]:
    """Independent float64 reference, one target token at a time: per-text NLL and count.

    Target p (index into BOS + text tokens) is predicted from the tokens of its window before
    it: the window ends at the first multiple-of-step boundary at or after p + 1 (the first
    window ends at max_length) and is max_length tokens long."""
    import math

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(model_path).double().eval()
    tokenizer = AutoTokenizer.from_pretrained(model_path)
    step = min(stride, max_length - 1)
    nlls, counts = [], []
    for text in texts:
        ids = tokenizer(text, add_special_tokens=False)["input_ids"]
        seq = ([tokenizer.bos_token_id] if tokenizer.bos_token_id is not None else []) + ids
        total, count = 0.0, 0
        for p in range(1, len(seq)):
            end = (
                max_length
                if p < max_length
                else (max_length + step * math.ceil((p + 1 - max_length) / step))
            )
            start = max(0, min(end, len(seq)) - max_length)
            context = torch.tensor([seq[start:p]])
            with torch.no_grad():
                logits = model(input_ids=context).logits[0, -1]
            total -= torch.log_softmax(logits, dim=-1)[seq[p]].item()
            count += 1
        nlls.append(total)
        counts.append(count)
    return nlls, counts
