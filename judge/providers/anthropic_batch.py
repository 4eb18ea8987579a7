"""Anthropic's Message Batches API through the official SDK: create a batch of Messages
requests, poll it, stream its results.

Batch requests ask for JSON by the prompt alone, not by structured output: a model that
refuses ``output_config`` would fail every request of a batch a day later, where a live call
learns it at once and asks again. The tolerant parser reads the answers either way."""

from __future__ import annotations

from typing import Any

from sidebyside.foundation.errors import ProviderError
from sidebyside.judge.providers.anthropic import AnthropicJudge
from sidebyside.judge.providers.base import Completion, JudgeRequest, http_error
from sidebyside.judge.providers.batching import ENDED, RUNNING, BatchItem, BatchState


def _completion(message: Any) -> Completion:
    text = "".join(getattr(block, "text", "") or "" for block in message.content or [])
    usage = getattr(message, "usage", None)
    return Completion(
        text=text,
        input_tokens=getattr(usage, "input_tokens", None),
        output_tokens=getattr(usage, "output_tokens", None),
        extra={"stop_reason": getattr(message, "stop_reason", None)},
    )


class AnthropicBatchClient:
    provider = "anthropic"
    max_requests = 100_000
    max_bytes = 256 * 1024 * 1024

    def __init__(self, judge: AnthropicJudge):
        self.judge = judge
        self.base_url = judge.base_url

    def line(self, request: JudgeRequest, custom_id: str) -> dict[str, Any]:
        params = self.judge.request_kwargs(request, structured=False)
        params.update(params.pop("extra_body", None) or {})  # a batch takes plain params
        return {"custom_id": custom_id, "params": params}

    async def _call(self, coro):
        import anthropic

        try:
            return await coro
        except anthropic.APIStatusError as exc:
            raise http_error(exc.status_code, str(exc)[:300], exc.response.headers) from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderError(f"connection failed: {exc}", retryable=True) from exc

    async def submit(self, lines: list[dict[str, Any]]) -> str:
        batch = await self._call(self.judge.client.messages.batches.create(requests=lines))
        return batch.id

    async def poll(self, batch_id: str) -> BatchState:
        batch = await self._call(self.judge.client.messages.batches.retrieve(batch_id))
        c = batch.request_counts
        counts = {
            "processing": c.processing,
            "succeeded": c.succeeded,
            "errored": c.errored,
            "expired": c.expired,
            "canceled": c.canceled,
        }
        kind = ENDED if batch.processing_status == "ended" else RUNNING
        return BatchState(kind, batch.processing_status, counts)

    async def results(self, batch_id: str) -> list[BatchItem]:
        stream = await self._call(self.judge.client.messages.batches.results(batch_id))
        items = []
        async for entry in stream:
            result = entry.result
            if result.type == "succeeded":
                items.append(BatchItem(entry.custom_id, completion=_completion(result.message)))
            elif result.type == "errored":
                error = getattr(result.error, "error", result.error)
                message = getattr(error, "message", None) or str(error)
                items.append(BatchItem(entry.custom_id, error=f"errored: {message}"[:500]))
            else:  # expired or canceled before it ran
                items.append(BatchItem(entry.custom_id, error=result.type))
        return items

    async def cancel(self, batch_id: str) -> None:
        await self._call(self.judge.client.messages.batches.cancel(batch_id))
