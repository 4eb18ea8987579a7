"""OpenAI Chat Completions through the official SDK; with a base URL, any OpenAI-compatible
server (vLLM, Ollama, llama.cpp server, LM Studio). The SDK never retries (max_retries=0):
retries belong to the runner.

The SDK is imported in the methods, not at the top, and the client is made on first use:
listing providers imports this module for its ``INFO``, and a cached rerun that sends nothing
must not pay the SDK's ~1 s import (provider_class only checks that it is installed)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import ProviderError
from sidebyside.judge.logprobs import completion_verdict_probabilities
from sidebyside.judge.providers import api_key, is_official, resolve_base_url
from sidebyside.judge.providers.base import Completion, JudgeRequest, http_error
from sidebyside.judge.providers.registry import ProviderInfo

if TYPE_CHECKING:
    import openai

    from sidebyside.judge.specs import JudgeSpec

INFO = ProviderInfo(
    name="openai",
    target="sidebyside.judge.providers.openai:OpenAIJudge",
    requires=("openai",),
    extra="api",
    api_key_env="OPENAI_API_KEY",
    base_url="https://api.openai.com/v1",
    base_url_env="OPENAI_BASE_URL",
    is_api=True,
    takes_url=True,
    rank=10,
    help="OpenAI Chat Completions (official SDK); @URL or --base-url: any OpenAI-compatible "
    "server (vLLM, Ollama, llama.cpp server, LM Studio)",
    forms=("openai:MODEL", "openai:MODEL@URL"),
    example="openai:gpt-4o-mini",
    batch_client="sidebyside.judge.providers.openai_batch:OpenAIBatchClient",
    shared_base_url=True,
)

#: Reasoning models accept only the default temperature, and give no log-probabilities.
_FIXED_TEMPERATURE = re.compile(r"^(o\d|gpt-5)")
#: Alternatives asked for the verdict token (the API allows up to 20; A, B and tie need 3).
TOP_LOGPROBS = 5


class OpenAIJudge:
    def __init__(self, spec: JudgeSpec, *, timeout: float = 120.0, **_: object):
        self.spec = spec
        self.base_url = resolve_base_url(spec)
        self._official = is_official(spec)
        self._key, self._timeout = api_key(spec), timeout
        self._client: openai.AsyncOpenAI | None = None
        #: Ask for log-probabilities (judge confidence) until the server refuses them once.
        self.logprobs = not _FIXED_TEMPERATURE.match(spec.model)

    def request_kwargs(self, request: JudgeRequest, logprobs: bool = False) -> dict[str, object]:
        """The Chat Completions parameters for ``request`` (a live call or a batch line)."""
        kwargs: dict[str, object] = {"model": self.spec.model, "messages": list(request.messages)}
        if not _FIXED_TEMPERATURE.match(self.spec.model):
            kwargs["temperature"] = request.temperature
        # The official API renamed max_tokens; compatible servers mostly know the old name.
        kwargs["max_completion_tokens" if self._official else "max_tokens"] = request.max_tokens
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        if logprobs:  # not in the cache key: it changes what comes back, not the answer
            kwargs["logprobs"] = True
            kwargs["top_logprobs"] = TOP_LOGPROBS
        return kwargs

    def wants_logprobs(self, request: JudgeRequest) -> bool:
        """Whether to ask for the verdict token's log-probabilities (judge confidence)."""
        return self.logprobs and request.mode == JudgeMode.PAIRWISE

    async def complete(self, request: JudgeRequest) -> Completion:
        logprobs = self.wants_logprobs(request)
        try:
            response = await self._create(self.request_kwargs(request, logprobs))
        except ProviderError as exc:
            if not (logprobs and exc.status == 400 and "logprob" in str(exc).lower()):
                raise
            self.logprobs = False  # this server or model has none: ask without from now on
            response = await self._create(self.request_kwargs(request, False))
        choices = getattr(response, "choices", None)
        if not choices:
            raise ProviderError(f"response has no choices: {str(response)[:200]}", retryable=True)
        usage = getattr(response, "usage", None)
        text = choices[0].message.content or ""
        content = getattr(getattr(choices[0], "logprobs", None), "content", None)
        return Completion(
            text=text,
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            extra={
                "finish_reason": choices[0].finish_reason,
                "verdict_probs": completion_verdict_probabilities(text, content),
            },
        )

    async def _create(self, kwargs: dict[str, object]):
        import openai

        try:
            return await self.client.chat.completions.create(**kwargs)
        except openai.APIStatusError as exc:
            raise http_error(exc.status_code, _message(exc), exc.response.headers) from exc
        except openai.APITimeoutError as exc:
            raise ProviderError("request timed out", retryable=True) from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"connection failed: {exc}", retryable=True) from exc
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise ProviderError(f"malformed response body: {exc}", retryable=True) from exc

    @property
    def client(self) -> openai.AsyncOpenAI:
        """The SDK client, made (and the SDK imported) on first use."""
        if self._client is None:
            import openai

            self._client = openai.AsyncOpenAI(
                api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self._timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(exc)[:300]
