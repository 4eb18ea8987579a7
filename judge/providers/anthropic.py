"""Anthropic Messages API through the official SDK (max_retries=0: the runner retries).

Pairwise verdicts ask for structured output (``output_config.format``, a JSON schema); a model
or compatible server that refuses it with HTTP 400 is asked again without it, once, and from
then on by the prompt alone.

The SDK is imported in the functions, not at the top: listing providers imports this module
for its ``INFO`` and must not import the SDK."""

from __future__ import annotations

import inspect
import json
from functools import cache
from typing import TYPE_CHECKING

from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import ProviderError
from sidebyside.judge.providers import api_key, resolve_base_url
from sidebyside.judge.providers.base import Completion, JudgeRequest, http_error
from sidebyside.judge.providers.registry import ProviderInfo

if TYPE_CHECKING:
    import anthropic

    from sidebyside.judge.specs import JudgeSpec

INFO = ProviderInfo(
    name="anthropic",
    target="sidebyside.judge.providers.anthropic:AnthropicJudge",
    requires=("anthropic",),
    extra="api",
    api_key_env="ANTHROPIC_API_KEY",
    base_url="https://api.anthropic.com",
    base_url_env="ANTHROPIC_BASE_URL",
    is_api=True,
    takes_url=True,
    rank=20,
    help="Anthropic Messages (official SDK); MODEL@URL for a compatible server",
    forms=("anthropic:MODEL", "anthropic:MODEL@URL"),
    example="anthropic:claude-3-5-haiku-latest",
    batch_client="sidebyside.judge.providers.anthropic_batch:AnthropicBatchClient",
)


@cache
def _takes_temperature() -> bool:
    """Newer SDKs dropped the named argument; the API still takes it for models that do."""
    import anthropic

    create = anthropic.resources.messages.AsyncMessages.create
    return "temperature" in inspect.signature(create).parameters


#: Structured output for pairwise verdicts: the API then guarantees this JSON shape.
PAIRWISE_SCHEMA = {
    "type": "object",
    "properties": {
        "reasoning": {"type": "string"},
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
    },
    "required": ["reasoning", "winner"],
    "additionalProperties": False,
}
_STRUCTURED_WORDS = ("output_config", "output_format", "json_schema", "structured output")


class AnthropicJudge:
    def __init__(self, spec: JudgeSpec, *, timeout: float = 120.0, **_: object):
        self.spec = spec
        self.base_url = resolve_base_url(spec)
        self._key, self._timeout = api_key(spec), timeout
        self._client: anthropic.AsyncAnthropic | None = None
        #: Ask for structured output until the server says this model (or a compatible
        #: server) cannot; then ask with the prompt's JSON instructions only.
        self.structured = True

    def request_kwargs(self, request: JudgeRequest, structured: bool) -> dict[str, object]:
        """The Messages API parameters for ``request`` (a live call or a batch line)."""
        system = "\n\n".join(m["content"] for m in request.messages if m["role"] == "system")
        messages = [m for m in request.messages if m["role"] != "system"]
        kwargs: dict[str, object] = {
            "model": self.spec.model,
            "messages": messages,
            "max_tokens": request.max_tokens,
        }
        extra: dict[str, object] = {}
        if _takes_temperature():
            kwargs["temperature"] = request.temperature
        else:
            extra["temperature"] = request.temperature
        if structured:  # sent as raw JSON so that SDKs older than the parameter work too
            extra["output_config"] = {"format": {"type": "json_schema", "schema": PAIRWISE_SCHEMA}}
        if extra:
            kwargs["extra_body"] = extra
        if system:
            kwargs["system"] = system
        return kwargs

    async def _create(self, kwargs: dict[str, object]):
        import anthropic

        try:
            return await self.client.messages.create(**kwargs)
        except anthropic.APIStatusError as exc:
            raise http_error(exc.status_code, _message(exc), exc.response.headers) from exc
        except anthropic.APITimeoutError as exc:
            raise ProviderError("request timed out", retryable=True) from exc
        except anthropic.APIConnectionError as exc:
            raise ProviderError(f"connection failed: {exc}", retryable=True) from exc
        except (anthropic.APIResponseValidationError, json.JSONDecodeError, ValueError) as exc:
            raise ProviderError(f"malformed response body: {exc}", retryable=True) from exc

    async def complete(self, request: JudgeRequest) -> Completion:
        structured = self.structured and request.json_mode and request.mode == JudgeMode.PAIRWISE
        try:
            response = await self._create(self.request_kwargs(request, structured))
        except ProviderError as exc:
            refused = exc.status == 400 and any(w in str(exc).lower() for w in _STRUCTURED_WORDS)
            if not (structured and refused):
                raise
            self.structured = False  # this model cannot: the prompt alone asks for JSON
            response = await self._create(self.request_kwargs(request, False))
        content = getattr(response, "content", None)
        if not isinstance(content, list):
            raise ProviderError(f"response has no content: {str(response)[:200]}", retryable=True)
        text = "".join(getattr(block, "text", "") or "" for block in content)
        usage = getattr(response, "usage", None)
        return Completion(
            text=text,
            input_tokens=getattr(usage, "input_tokens", None),
            output_tokens=getattr(usage, "output_tokens", None),
            extra={"stop_reason": getattr(response, "stop_reason", None)},
        )

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        """The SDK client, made (and the SDK imported) on first use."""
        if self._client is None:
            import anthropic

            self._client = anthropic.AsyncAnthropic(
                api_key=self._key, base_url=self.base_url, max_retries=0, timeout=self._timeout
            )
        return self._client

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.close()


def _message(exc: anthropic.APIStatusError) -> str:
    return str(getattr(exc, "api_message", None) or exc)[:300]
