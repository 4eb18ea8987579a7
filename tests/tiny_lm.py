"""A tiny GPT-2 built locally for tests: seeded random weights, a byte-level BPE tokenizer
trained on a few sentences. Nothing is downloaded; users' ``from_pretrained(path)`` loads it."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

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


class ReferenceLM:
    """Independent float64 reference, one target token at a time: per-text NLL and count.

    Target p (index into BOS + text tokens) is predicted from the tokens of its window before
    it: the window ends at the first multiple-of-step boundary at or after p + 1 (the first
    window ends at max_length) and is max_length tokens long. Each target's log-probabilities
    come from a forward pass over exactly its own context (no padding, no shared windows, so
    nothing of the scorer under test is reused); they are memoized by context, so settings
    that share contexts (every target before max_length) do not recompute them, and contexts
    of one length are stacked into one forward pass.
    """

    def __init__(self, model_path: Path | str) -> None:
        from transformers import AutoModelForCausalLM, AutoTokenizer

        self.model = AutoModelForCausalLM.from_pretrained(model_path).double().eval()
        self.tokenizer = AutoTokenizer.from_pretrained(model_path)
        self._logprobs: dict[tuple[int, ...], Any] = {}  # context -> float64 log-softmax row

    def nll(
        self, texts: list[str], *, max_length: int, stride: int
    ) -> tuple[list[float], list[int]]:
        step = min(stride, max_length - 1)
        bos = self.tokenizer.bos_token_id
        targets: list[list[tuple[tuple[int, ...], int]]] = []
        for text in texts:
            ids = self.tokenizer(text, add_special_tokens=False)["input_ids"]
            seq = ([bos] if bos is not None else []) + ids
            per_text = []
            for p in range(1, len(seq)):
                end = (
                    max_length
                    if p < max_length
                    else (max_length + step * math.ceil((p + 1 - max_length) / step))
                )
                start = max(0, min(end, len(seq)) - max_length)
                per_text.append((tuple(seq[start:p]), seq[p]))
            targets.append(per_text)
        self._compute({context for per_text in targets for context, _ in per_text})
        nlls = [-sum(self._logprobs[c][t].item() for c, t in per_text) for per_text in targets]
        return nlls, [len(per_text) for per_text in targets]

    def _compute(self, contexts: set[tuple[int, ...]]) -> None:
        import torch

        by_length: dict[int, list[tuple[int, ...]]] = {}
        for context in contexts - self._logprobs.keys():
            by_length.setdefault(len(context), []).append(context)
        for group in by_length.values():
            with torch.no_grad():
                logits = self.model(input_ids=torch.tensor(group)).logits[:, -1]
            for context, row in zip(group, torch.log_softmax(logits, dim=-1), strict=True):
                self._logprobs[context] = row


def reference_nll(
    model_path: Path | str, texts: list[str], *, max_length: int, stride: int
) -> tuple[list[float], list[int]]:
    """``ReferenceLM(model_path).nll(...)`` without keeping the model or its memo."""
    return ReferenceLM(model_path).nll(texts, max_length=max_length, stride=stride)
