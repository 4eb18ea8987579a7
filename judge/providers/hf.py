"""A local transformers causal LM as judge: loaded once per process, bf16 on CUDA, greedy,
batched. Concurrent ``complete`` calls are gathered into batches while the previous batch
generates, so the runner's concurrency limit is the batch size."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import torch
import transformers

from judge.perplexity import dtype_kwargs, resolve_dtype
from judge.providers.base import Completion, JudgeRequest, ProviderError, ProviderUnavailable
from judge.specs import JudgeSpec

#: (path, device, dtype) -> (model, tokenizer); one load per process however many judges use it.
_LOADED: dict[tuple[str, str], tuple[Any, Any]] = {}
_LOCK = threading.Lock()


def best_device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(
    path: str, device: str | None = None, dtype: str | None = None
) -> tuple[Any, Any]:
    """The model and tokenizer at ``path`` (a directory or a Hub id), cached per process.
    ``dtype`` (float32, bfloat16, float16) defaults to bfloat16 on CUDA, float32 elsewhere:
    the same rule and loading keyword as the perplexity scorer."""
    device = device or best_device()
    try:
        torch_dtype = resolve_dtype(dtype or "auto", device)
    except ValueError as exc:
        raise ProviderUnavailable(f"hf:{path}: {exc}") from None
    looks_local = path.startswith((".", "~", "/")) or path.count("/") > 1
    if looks_local and not Path(path).expanduser().is_dir():
        raise ProviderUnavailable(f"hf:{path}: no such model directory")
    source = str(Path(path).expanduser()) if looks_local else path
    with _LOCK:
        key = (path, device, str(torch_dtype))
        if key not in _LOADED:
            try:
                tokenizer = transformers.AutoTokenizer.from_pretrained(source)
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    source, **dtype_kwargs(torch_dtype)
                )
            except (OSError, ValueError) as exc:
                first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
                raise ProviderUnavailable(f"hf:{path}: cannot load model: {first}") from exc
            model.to(device).eval()
            tokenizer.padding_side = "left"  # decoder-only batches pad on the left
            tokenizer.truncation_side = "left"
            if tokenizer.pad_token is None:
                tokenizer.pad_token = tokenizer.eos_token
            _LOADED[key] = (model, tokenizer)
        return _LOADED[key]


def _prompt_text(tokenizer: Any, messages: tuple[dict[str, str], ...]) -> str:
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            list(messages), add_generation_prompt=True, tokenize=False
        )
    body = "\n\n".join(m["content"] for m in messages)
    return f"{body}\n\nAnswer:\n"


class HFJudge:
    base_url = None

    def __init__(
        self,
        spec: JudgeSpec,
        *,
        batch_size: int = 8,
        max_new_tokens: int | None = None,
        device: str | None = None,
        dtype: str | None = None,
        **_: object,
    ):
        self.spec = spec
        self.batch_size = max(1, batch_size)
        self.max_new_tokens = max_new_tokens
        self.model, self.tokenizer = load_model(spec.model, device, dtype)
        self._pending: list[tuple[JudgeRequest, asyncio.Future[Completion]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def complete(self, request: JudgeRequest) -> Completion:
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # let the other requests launched in this tick join the batch
        while self._pending:
            batch = [item for item in self._pending[: self.batch_size] if not item[1].done()]
            del self._pending[: self.batch_size]
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(self.generate, [r for r, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to each waiting caller
                error = (
                    exc
                    if isinstance(exc, ProviderError)
                    else ProviderError(f"generation failed: {type(exc).__name__}: {exc}")
                )
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def generate(self, requests: list[JudgeRequest]) -> list[Completion]:
        """Greedy generation for a batch of requests (runs in a worker thread)."""
        tok, model = self.tokenizer, self.model
        new_tokens = self.max_new_tokens or max(r.max_tokens for r in requests)
        limit = getattr(model.config, "max_position_embeddings", None) or getattr(
            model.config, "n_positions", None
        )
        max_len = max(8, limit - new_tokens) if limit else None
        texts = [_prompt_text(tok, r.messages) for r in requests]
        enc = tok(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=max_len is not None,
            max_length=max_len,
        ).to(model.device)
        with torch.inference_mode():
            out = model.generate(
                **enc,
                max_new_tokens=new_tokens,
                do_sample=False,
                pad_token_id=tok.pad_token_id,
            )
        prompt_len = enc["input_ids"].shape[1]
        results = []
        for i in range(len(requests)):
            generated = out[i, prompt_len:]
            n_out = int((generated != tok.pad_token_id).sum())
            results.append(
                Completion(
                    text=tok.decode(generated, skip_special_tokens=True),
                    input_tokens=int(enc["attention_mask"][i].sum()),
                    output_tokens=n_out,
                )
            )
        return results

    async def aclose(self) -> None:
        return None
