"""Batched, masked, sliding-window negative log-likelihood of texts under a causal LM.

Scoring convention (docs/perplexity.md): if the tokenizer has a BOS token it is prepended and
every text token is scored; otherwise the first token of a text is context only. Every other
token is scored exactly once; padding never is. A text longer than the context is cut into
windows of at most ``max_length`` tokens whose targets tile the text; each window conditions on
the tokens before its first target that it overlaps (``max_length - stride`` of them, at least
one), so nothing is silently truncated.

torch and transformers are imported inside functions: importing this module is cheap.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from sidebyside.foundation.errors import InputError
from sidebyside.foundation.hf import clear_loaded, load_causal_lm
from sidebyside.metrics.ppl_stats import EmptyTextWarning, TextScores

#: Default window when the model's context is huge (long-context models on a CPU).
MAX_DEFAULT_CONTEXT = 8192
#: Tokens per batch for ``batch_size="auto"``: CPU (fixed) and the CUDA starting point.
CPU_TOKEN_BUDGET = 4096
CUDA_START_TOKEN_BUDGET = 65536
#: Elements of one float32 logits chunk (rows x vocab), 256 MiB: ~1300 rows of a 50k vocabulary,
#: enough for an efficient LM-head matmul (on a CPU, 1024-row chunks ran 1.6x faster than 64).
LOGITS_CHUNK_ELEMENTS = 1 << 26

Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- model loading


def load_model(name: str, device: str = "auto", dtype: str = "auto") -> tuple[Any, Any]:
    """(model, tokenizer) from the one loader (foundation.hf), loaded once per process."""
    return load_causal_lm(name, device, dtype)


load_model.cache_clear = clear_loaded  # type: ignore[attr-defined]


# --------------------------------------------------------------------------- windows


def context_length(model: Any, tokenizer: Any | None = None) -> int:
    cfg = model.config
    for key in ("max_position_embeddings", "n_positions", "max_sequence_length", "seq_length"):
        value = getattr(cfg, key, None)
        if isinstance(value, int) and value > 0:
            return min(value, MAX_DEFAULT_CONTEXT)
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < 1_000_000:
        return min(limit, MAX_DEFAULT_CONTEXT)
    return 1024


def windows(length: int, max_length: int, stride: int) -> list[tuple[int, int, int]]:
    """(start, first_target, end) of the windows of a sequence of ``length`` token ids.

    The model sees ids[start:end] and is scored on targets first_target..end-1; targets tile
    1..length-1 exactly once. Each window after the first adds at most ``stride`` targets
    (clamped to max_length - 1 so every window keeps at least one token of context) and starts
    as far left as the window size allows.

    >>> windows(10, 4, 4)
    [(0, 1, 4), (3, 4, 7), (6, 7, 10)]
    >>> windows(10, 4, 2)
    [(0, 1, 4), (2, 4, 6), (4, 6, 8), (6, 8, 10)]
    >>> windows(3, 8, 8)
    [(0, 1, 3)]
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2, got {max_length}")
    if stride < 1:
        raise ValueError(f"stride must be at least 1, got {stride}")
    step = min(stride, max_length - 1)
    out: list[tuple[int, int, int]] = []
    first, end = 1, min(max_length, length)
    while first < length:
        out.append((max(0, end - max_length), first, end))
        first, end = end, min(end + step, length)
    return out


@dataclass
class _Unit:
    text: int
    ids: list[int]
    first: int  # index in ids of the first scored target


# --------------------------------------------------------------------------- scoring


class PerplexityScorer:
    """Scores texts with one loaded model. Results do not depend on batch size, text order
    or padding side (up to float rounding)."""

    def __init__(
        self,
        model: Any,
        tokenizer: Any,
        *,
        name: str = "model",
        max_length: int | None = None,
        stride: int | None = None,
        batch_size: int | str = "auto",
        padding_side: str = "right",
        token_budget: int | None = None,
    ) -> None:
        if padding_side not in ("right", "left"):
            raise ValueError(f"padding_side must be 'right' or 'left', got {padding_side!r}")
        if batch_size != "auto" and (not isinstance(batch_size, int) or batch_size < 1):
            raise InputError(f"batch size must be a positive integer or 'auto', got {batch_size!r}")
        self.model, self.tokenizer, self.name = model, tokenizer, name
        self.max_length = max_length or context_length(model, tokenizer)
        self.stride = stride or self.max_length
        if self.max_length < 2:
            raise InputError(f"--max-length must be at least 2, got {self.max_length}")
        if self.stride < 1:
            raise InputError(f"--stride must be at least 1, got {self.stride}")
        self.batch_size, self.padding_side = batch_size, padding_side
        self.device = next(model.parameters()).device
        self.token_budget = token_budget or (
            CUDA_START_TOKEN_BUDGET if self.device.type == "cuda" else CPU_TOKEN_BUDGET
        )
        self.bos_id = getattr(tokenizer, "bos_token_id", None)
        self.pad_id = self.bos_id if self.bos_id is not None else 0
        self._head = _split_head(model)

    # -- planning -------------------------------------------------------------------------
    def _units(self, texts: Sequence[str]) -> tuple[list[_Unit], list[int], np.ndarray]:
        keep = [i for i, t in enumerate(texts) if t.strip()]
        skipped = [i for i, t in enumerate(texts) if not t.strip()]
        n_bytes = np.zeros(len(texts), dtype=np.int64)
        encoded = (
            self.tokenizer([texts[i] for i in keep], add_special_tokens=False)["input_ids"]
            if keep
            else []
        )
        units: list[_Unit] = []
        for i, ids in zip(keep, encoded, strict=True):
            n_bytes[i] = len(texts[i].encode("utf-8"))
            seq = ([self.bos_id] if self.bos_id is not None else []) + list(ids)
            for start, first, end in windows(len(seq), self.max_length, self.stride):
                units.append(_Unit(i, seq[start:end], first - start))
        return units, skipped, n_bytes

    def _next_batch(self, units: list[_Unit], pos: int, budget: int) -> list[_Unit]:
        """The batch starting at ``units[pos]`` (units sorted longest first, so the first one
        sets the padded width): ``batch_size`` windows, or as many as fit the token budget."""
        if self.batch_size != "auto":
            return units[pos : pos + self.batch_size]
        per_row = len(units[pos].ids)
        return units[pos : pos + max(1, budget // per_row)]

    # -- running --------------------------------------------------------------------------
    def score(
        self,
        texts: Sequence[str],
        *,
        texts_name: str = "texts",
        progress: Progress | None = None,
    ) -> TextScores:
        import torch

        started = time.perf_counter()
        texts = list(texts)
        units, skipped, n_bytes = self._units(texts)
        if skipped:
            shown = ", ".join(str(i + 1) for i in skipped[:10])
            shown += " ..." if len(skipped) > 10 else ""
            warnings.warn(
                f"{texts_name}: skipped {len(skipped)} empty or whitespace-only text(s) "
                f"(item {shown})",
                EmptyTextWarning,
                stacklevel=2,
            )
        units.sort(key=lambda u: len(u.ids), reverse=True)
        nll = np.zeros(len(texts), dtype=np.float64)
        n_tok = np.zeros(len(texts), dtype=np.int64)
        total = sum(len(u.ids) - u.first for u in units)
        done = processed = 0
        budget, pos = self.token_budget, 0
        oom_error = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)
        with torch.inference_mode():
            while pos < len(units):
                batch = self._next_batch(units, pos, budget)
                try:
                    token_nll = self._forward(batch)
                except oom_error:
                    if self.batch_size != "auto":
                        raise InputError(
                            f"out of memory with --batch-size {self.batch_size}: use a smaller "
                            "batch size or 'auto'"
                        ) from None
                    if len(batch) == 1:
                        raise InputError(
                            f"out of memory on a single window of {len(batch[0].ids)} tokens: "
                            "use a smaller --max-length"
                        ) from None
                    token_nll = None
                if token_nll is None:  # outside the except block, so the failed batch is freed
                    if self.device.type == "cuda":
                        torch.cuda.empty_cache()
                    budget = max(len(batch[0].ids), budget // 2)
                    continue
                for unit, values in zip(batch, token_nll, strict=True):
                    nll[unit.text] += float(np.sum(values, dtype=np.float64))
                    n_tok[unit.text] += len(values)
                    done += len(values)
                    processed += len(unit.ids)
                pos += len(batch)
                if progress is not None:
                    progress(done, total)
        if self.device.type == "cuda":
            torch.cuda.synchronize()
        skipped_set = set(skipped)
        idle = [i for i in range(len(texts)) if n_tok[i] == 0 and i not in skipped_set]
        if idle:
            warnings.warn(
                f"{texts_name}: {len(idle)} text(s) are a single token and the tokenizer has no "
                f"BOS, so nothing in them is scored (item {idle[0] + 1} ...)",
                EmptyTextWarning,
                stacklevel=2,
            )
        return TextScores(
            model=self.name,
            texts=texts_name,
            nll=nll,
            n_tokens=n_tok,
            n_bytes=n_bytes,
            skipped=skipped,
            seconds=time.perf_counter() - started,
            processed_tokens=processed,
            settings={
                "max_length": self.max_length,
                "stride": self.stride,
                "batch_size": str(self.batch_size),
                "bos": self.bos_id is not None,
                "dtype": str(next(self.model.parameters()).dtype).replace("torch.", ""),
                "device": self.device.type,
            },
        )

    def _forward(self, batch: list[_Unit]) -> list[np.ndarray]:
        """Per-token NLL (float64 arrays, one per unit) of one padded batch."""
        import torch

        width = len(batch[0].ids)
        ids = np.full((len(batch), width), self.pad_id, dtype=np.int64)
        mask = np.zeros((len(batch), width), dtype=np.int64)
        tgt_pos = []
        for row, unit in enumerate(batch):
            n = len(unit.ids)
            off = width - n if self.padding_side == "left" else 0
            ids[row, off : off + n] = unit.ids
            mask[row, off : off + n] = 1
            tgt_pos.append(np.arange(row * width + off + unit.first, row * width + off + n))
        tgt = np.concatenate(tgt_pos)
        position_ids = np.clip(mask.cumsum(-1) - 1, 0, None)
        ids, mask, position_ids = (
            torch.from_numpy(t).to(self.device) for t in (ids, mask, position_ids)
        )
        # the hidden state at position p predicts the token at p + 1
        hid_idx = torch.from_numpy(tgt - 1).to(self.device)
        targets = ids.view(-1)[torch.from_numpy(tgt).to(self.device)]
        if self._head is not None:
            base, head, softcap = self._head
            hidden = base(
                input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False
            )[0]
            hidden = hidden.reshape(-1, hidden.shape[-1])[hid_idx]
            token_nll = _chunked_nll(hidden, targets, head, softcap)
        else:  # no separable head: full logits in model dtype, log-softmax still chunked
            logits = self.model(
                input_ids=ids, attention_mask=mask, position_ids=position_ids, use_cache=False
            ).logits
            rows = logits.reshape(-1, logits.shape[-1])[hid_idx]
            token_nll = _chunked_nll(rows, targets, None, None)
        values = token_nll.double().cpu().numpy()
        bounds = np.cumsum([0] + [len(u.ids) - u.first for u in batch])
        return [values[bounds[i] : bounds[i + 1]] for i in range(len(batch))]


def _split_head(model: Any) -> tuple[Any, Any, float | None] | None:
    """(base model, output projection, logit soft-cap) when the LM head is separable, so only
    the scored positions go through it."""
    base = getattr(model, "base_model", None)
    head = model.get_output_embeddings() if hasattr(model, "get_output_embeddings") else None
    if base is None or base is model or head is None:
        return None
    if getattr(model.config, "logit_scale", None) not in (None, 1, 1.0):
        return None  # heads that rescale logits: let the model's own forward do it
    return base, head, getattr(model.config, "final_logit_softcapping", None)


def _chunked_nll(rows: Any, targets: Any, head: Any | None, softcap: float | None) -> Any:
    """-log softmax(logits)[target] in float32, a bounded number of rows at a time."""
    import torch

    out = torch.empty(len(targets), dtype=torch.float32, device=targets.device)
    if len(targets) == 0:
        return out
    vocab = head.weight.shape[0] if head is not None else rows.shape[-1]
    step = max(1, LOGITS_CHUNK_ELEMENTS // vocab)
    for start in range(0, len(targets), step):
        chunk = rows[start : start + step]
        logits = (head(chunk) if head is not None else chunk).float()
        if softcap:
            logits = torch.tanh(logits / softcap) * softcap
        # fused log-softmax + gather: one pass over each row, no extra (rows, vocab) buffers
        out[start : start + step] = torch.nn.functional.cross_entropy(
            logits, targets[start : start + step], reduction="none"
        )
    return out


def score_texts(
    model_name: str,
    texts: Sequence[str],
    *,
    texts_name: str = "texts",
    device: str = "auto",
    dtype: str = "auto",
    batch_size: int | str = "auto",
    max_length: int | None = None,
    stride: int | None = None,
    progress: Progress | None = None,
) -> TextScores:
    """Load (once per process) and score: the entry point of the CLI and the Results page."""
    model, tokenizer = load_model(model_name, device, dtype)
    scorer = PerplexityScorer(
        model,
        tokenizer,
        name=model_name,
        max_length=max_length,
        stride=stride,
        batch_size=batch_size,
    )
    return scorer.score(texts, texts_name=texts_name, progress=progress)
