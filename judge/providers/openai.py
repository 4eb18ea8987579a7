"""OpenAI Chat Completions through the official SDK; with a base URL, any OpenAI-compatible
server (vLLM, Ollama, llama.cpp server, LM Studio). The SDK never retries (max_retries=0):
retries belong to the runner.

The SDK is imported in the methods, not at the top: listing providers imports this module for
its ``INFO``, and must not import the SDK (provider_class has imported it by the time a judge
is built, so the imports below are dictionary look-ups)."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

from judge.providers import api_key, is_official, resolve_base_url
from judge.providers.base import Completion, JudgeRequest, ProviderError, http_error
from judge.providers.registry import ProviderInfo

if TYPE_CHECKING:
    import openai

    from judge.specs import JudgeSpec

INFO = ProviderInfo(
    name="openai",
    target="judge.providers.openai:OpenAIJudge",
    requires=("openai",),
    extra="api",
    api_key_env="OPENAI_API_KEY",
    base_url="https://api.openai.com/v1",
    base_url_env="OPENAI_BASE_URL",
    is_api=True,
    takes_url=True,
    rank=10,
)

#: Reasoning models accept only the default temperature.
_FIXED_TEMPERATURE = re.compile(r"^(o\d|gpt-5)")


class OpenAIJudge:
    def __init__(self, spec: JudgeSpec, *, timeout: float = 120.0, **_: object):
        import openai

        self.spec = spec
        self.base_url = resolve_base_url(spec)
        self._official = is_official(spec)
        self.client = openai.AsyncOpenAI(
            api_key=api_key(spec), base_url=self.base_url, max_retries=0, timeout=timeout
        )

    def _kwargs(self, request: JudgeRequest) -> dict[str, object]:
        kwargs: dict[str, object] = {"model": self.spec.model, "messages": list(request.messages)}
        if not _FIXED_TEMPERATURE.match(self.spec.model):
            kwargs["temperature"] = request.temperature
        # The official API renamed max_tokens; compatible servers mostly know the old name.
        kwargs["max_completion_tokens" if self._official else "max_tokens"] = request.max_tokens
        if request.json_mode:
            kwargs["response_format"] = {"type": "json_object"}
        return kwargs

    async def complete(self, request: JudgeRequest) -> Completion:
        import openai

        try:
            response = await self.client.chat.completions.create(**self._kwargs(request))
        except openai.APIStatusError as exc:
            raise http_error(exc.status_code, _message(exc), exc.response.headers) from exc
        except openai.APITimeoutError as exc:
            raise ProviderError("request timed out", retryable=True) from exc
        except openai.APIConnectionError as exc:
            raise ProviderError(f"connection failed: {exc}", retryable=True) from exc
        except (openai.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise ProviderError(f"malformed response body: {exc}", retryable=True) from exc
        choices = getattr(response, "choices", None)
        if not choices:
            raise ProviderError(f"response has no choices: {str(response)[:200]}", retryable=True)
        usage = getattr(response, "usage", None)
        return Completion(
            text=choices[0].message.content or "",
            input_tokens=getattr(usage, "prompt_tokens", None),
            output_tokens=getattr(usage, "completion_tokens", None),
            extra={"finish_reason": choices[0].finish_reason},
        )

    async def aclose(self) -> None:
        await self.client.close()


def _message(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        err = body.get("error", body)
        if isinstance(err, dict) and err.get("message"):
            return str(err["message"])[:300]
    return str(exc)[:300]
