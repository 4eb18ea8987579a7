"""OpenAI's Batch API through the official SDK: upload a JSONL file of chat completion
requests, create a batch, poll it, download its output and error files.

The request bodies are those of :class:`~judge.providers.openai.OpenAIJudge` (JSON mode,
log-probabilities on the verdict token), so a batch answer is stored exactly like a live one.
An expired or cancelled batch still returns what finished; the rest comes back in its error
file (``batch_expired``, ``batch_cancelled``) and is stored as errors, submitted again by the
next run."""

from __future__ import annotations

import json
from typing import Any

from sidebyside.foundation.errors import ProviderError
from sidebyside.judge.logprobs import completion_verdict_probabilities
from sidebyside.judge.providers.base import Completion, JudgeRequest, http_error
from sidebyside.judge.providers.batching import ENDED, FAILED, RUNNING, BatchItem, BatchState
from sidebyside.judge.providers.openai import OpenAIJudge

ENDPOINT = "/v1/chat/completions"
_RUNNING = {"validating", "in_progress", "finalizing", "cancelling"}
_ENDED = {"completed", "expired", "cancelled"}


def completion_from_body(body: dict[str, Any]) -> Completion:
    """A chat completion body (a dict, as in a batch output file) -> Completion."""
    choices = body.get("choices") or []
    if not choices:
        raise ValueError(f"response has no choices: {str(body)[:200]}")
    choice = choices[0]
    text = (choice.get("message") or {}).get("content") or ""
    usage = body.get("usage") or {}
    content = (choice.get("logprobs") or {}).get("content")
    return Completion(
        text=text,
        input_tokens=usage.get("prompt_tokens"),
        output_tokens=usage.get("completion_tokens"),
        extra={
            "finish_reason": choice.get("finish_reason"),
            "verdict_probs": completion_verdict_probabilities(text, content),
        },
    )


def _item(line: dict[str, Any]) -> BatchItem:
    custom_id = str(line.get("custom_id", ""))
    error = line.get("error")
    response = line.get("response") or {}
    status = response.get("status_code")
    if error:
        return BatchItem(custom_id, error=f"{error.get('code', '')}: {error.get('message', '')}")
    if status != 200:
        body = response.get("body") or {}
        message = (body.get("error") or {}).get("message") if isinstance(body, dict) else body
        return BatchItem(custom_id, error=f"HTTP {status}: {message}")
    try:
        return BatchItem(custom_id, completion=completion_from_body(response.get("body") or {}))
    except (ValueError, AttributeError, TypeError) as exc:
        return BatchItem(custom_id, error=f"malformed result: {exc}")


class OpenAIBatchClient:
    provider = "openai"
    max_requests = 50_000
    max_bytes = 200 * 1024 * 1024

    def __init__(self, judge: OpenAIJudge):
        self.judge = judge
        self.base_url = judge.base_url

    def line(self, request: JudgeRequest, custom_id: str) -> dict[str, Any]:
        body = self.judge.request_kwargs(request, self.judge.wants_logprobs(request))
        return {"custom_id": custom_id, "method": "POST", "url": ENDPOINT, "body": body}

    async def _call(self, coro):
        import openai

        try:
            return await coro
        except openai.APIStatusError as exc:
            raise http_error(exc.status_code, str(exc)[:300], exc.response.headers) from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"connection failed: {exc}", retryable=True) from exc

    async def submit(self, lines: list[dict[str, Any]]) -> str:
        data = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in lines)
        client = self.judge.client
        upload = await self._call(
            client.files.create(file=("judge-batch.jsonl", data.encode()), purpose="batch")
        )
        batch = await self._call(
            client.batches.create(
                input_file_id=upload.id,
                endpoint=ENDPOINT,
                completion_window="24h",
                metadata={"created_by": "sidebyside"},
            )
        )
        return batch.id

    async def poll(self, batch_id: str) -> BatchState:
        batch = await self._call(self.judge.client.batches.retrieve(batch_id))
        counts = getattr(batch, "request_counts", None)
        numbers = {
            "completed": getattr(counts, "completed", 0) or 0,
            "failed": getattr(counts, "failed", 0) or 0,
            "total": getattr(counts, "total", 0) or 0,
        }
        status = batch.status
        kind = RUNNING if status in _RUNNING else ENDED if status in _ENDED else FAILED
        return BatchState(kind, status, numbers)

    async def results(self, batch_id: str) -> list[BatchItem]:
        batch = await self._call(self.judge.client.batches.retrieve(batch_id))
        items = []
        for file_id in (batch.output_file_id, batch.error_file_id):
            if not file_id:
                continue
            content = await self._call(self.judge.client.files.content(file_id))
            for raw in content.text.splitlines():
                if raw.strip():
                    items.append(_item(json.loads(raw)))
        return items

    async def cancel(self, batch_id: str) -> None:
        await self._call(self.judge.client.batches.cancel(batch_id))
