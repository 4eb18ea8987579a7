"""A local transformers causal LM as judge: loaded once per process, bf16 on CUDA, greedy,
batched. Concurrent ``complete`` calls are gathered into batches while the previous batch
generates, so the runner's concurrency limit is the batch size.

torch is imported in the functions, not at the top: listing providers imports this module for
its ``INFO`` and must not import torch."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from sidebyside.foundation.errors import InputError, ModelLoadError, ProviderError
from sidebyside.foundation.hf import load_causal_lm
from sidebyside.judge.providers.base import Completion, JudgeRequest
from sidebyside.judge.providers.registry import ProviderInfo

if TYPE_CHECKING:
    from sidebyside.judge.specs import JudgeSpec

INFO = ProviderInfo(
    name="hf",
    target="sidebyside.judge.providers.hf:HFJudge",
    requires=("torch", "transformers"),
    extra="local",
    rank=30,
    help="a local transformers causal LM (a directory or a Hub id), bf16 on the GPU when "
    "there is one, batched, loaded once",
    forms=("hf:PATH_OR_ID",),
)


def best_device() -> str:
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"


def load_model(path: str, device: str | None = None, dtype: str | None = None) -> tuple[Any, Any]:
    """The model and tokenizer at ``path`` (a directory or a Hub id) from the one loader
    (foundation.hf): bfloat16 on CUDA, float32 elsewhere, left padding for batched
    generation, cached per process."""
    try:
        return load_causal_lm(path, device or "auto", dtype or "auto", padding_side="left")
    except ModelLoadError as exc:
        raise ModelLoadError(f"hf:{exc}") from None
    except InputError as exc:  # a bad device or dtype
        raise InputError(f"hf:{path}: {exc}") from None


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
        import torch

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
