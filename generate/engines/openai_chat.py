"""An OpenAI-compatible server (vLLM, TGI, SGLang, llama.cpp, Ollama, OpenAI itself) through
the official SDK: ``openai:MODEL@URL``. Requests run concurrently (``concurrency`` in flight);
each answer is handed back as it arrives. This is the engine that scales past one machine:
many GPUs behind one URL, tensor parallelism inside the server.

Retries: the SDK's own (``max_retries``, exponential backoff honouring Retry-After), in that
one layer only; a request that still fails becomes a per-prompt error the runner reports.
"""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Callable, Sequence
from typing import Any

from sidebyside.foundation.errors import ConfigError, InputError
from sidebyside.generate.engines.base import Description, Request, Result
from sidebyside.generate.engines.hf import library_versions
from sidebyside.generate.params import DecodingParams
from sidebyside.generate.prompts import Message
from sidebyside.generate.specs import ModelSpec

#: Environment variable of the API key (servers that need none accept any text).
API_KEY_ENV = "OPENAI_API_KEY"
_FINISH = {"stop": "stop", "length": "length"}


def request_body(spec: ModelSpec, params: DecodingParams, messages: Sequence[Message]) -> dict:
    """The Chat Completions arguments of one prompt.

    >>> from sidebyside.generate.specs import parse_model_spec
    >>> spec = parse_model_spec("m=openai:llama@http://h/v1")
    >>> body = request_body(spec, DecodingParams(max_new_tokens=8, stop=("##",)), [])
    >>> body["max_tokens"], body["temperature"], body["stop"], body["seed"]
    (8, 0.0, ['##'], 0)
    """
    body: dict[str, Any] = {
        "model": spec.source,
        "messages": [dict(m) for m in messages],
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
    }
    if params.stop:
        body["stop"] = list(params.stop)
    return body


class OpenAIEngine:
    def __init__(
        self,
        spec: ModelSpec,
        params: DecodingParams,
        *,
        concurrency: int = 8,
        timeout: float = 600.0,
        max_retries: int = 2,
        **_: object,
    ) -> None:
        try:
            import openai  # noqa: F401
        except ImportError:
            raise ConfigError(
                "the openai engine needs the openai SDK: pip install 'sidebyside[api]'"
            ) from None
        if not params.chat_template:
            raise InputError(
                f"model {spec.name!r}: --no-chat-template does not apply to a chat server "
                "(the server applies its own template)"
            )
        if concurrency < 1:
            raise InputError(f"--concurrency must be at least 1, got {concurrency}")
        self.spec, self.params = spec, params
        self.concurrency, self.timeout, self.max_retries = concurrency, timeout, max_retries
        self._unreachable = False

    def describe(self) -> Description:
        # The served model's id is known once it answers (the runner records it then); the
        # server applies its own chat template, which the API does not reveal.
        return Description(
            versions={"openai": library_versions("openai").get("openai", "?")},
            settings={"base_url": self.spec.base_url},
            priced=True,
        )

    def count_tokens(self, messages: Sequence[Message]) -> int:
        """A deliberately high estimate (3 characters a token): the tokenizer is remote."""
        return sum(len(m["content"]) // 3 + 4 for m in messages)

    def close(self) -> None:
        return None

    def generate(self, requests: Sequence[Request], on_result: Callable[[Result], None]) -> None:
        if requests:
            asyncio.run(self._run(requests, on_result))

    async def _run(self, requests: Sequence[Request], on_result: Callable[[Result], None]):
        import openai

        client = openai.AsyncOpenAI(
            base_url=self.spec.base_url,
            api_key=os.environ.get(API_KEY_ENV) or "not-needed",
            timeout=self.timeout,
            max_retries=self.max_retries,
        )
        gate = asyncio.Semaphore(self.concurrency)
        self._unreachable = False

        async def one(request: Request) -> Result:
            async with gate:
                if self._unreachable:  # the SDK already retried: do not wait on every prompt
                    return self._error(request, f"cannot reach the server at {self.spec.base_url}")
                return await self._call(client, request)

        try:
            for done in asyncio.as_completed([one(r) for r in requests]):
                on_result(await done)
        finally:
            await client.close()

    async def _call(self, client: Any, request: Request) -> Result:
        import openai

        started = time.perf_counter()
        try:
            response = await client.chat.completions.create(
                **request_body(self.spec, self.params, request.messages)
            )
        except openai.APIStatusError as exc:
            return self._error(request, f"the server answered HTTP {exc.status_code}: {exc}")
        except openai.APITimeoutError:
            return self._error(request, f"no answer within {self.timeout:g} s")
        except openai.APIConnectionError:
            self._unreachable = True
            return self._error(request, f"cannot reach the server at {self.spec.base_url}")
        except (openai.APIResponseValidationError, ValueError) as exc:
            return self._error(request, f"unreadable answer: {exc}")
        if not response.choices:
            return self._error(request, "the server returned no choices")
        choice = response.choices[0]
        usage = response.usage
        return Result(
            key=request.key,
            prompt_id=request.prompt_id,
            text=(choice.message.content or "").replace("\x00", ""),
            tokens_in=usage.prompt_tokens if usage else None,
            tokens_out=usage.completion_tokens if usage else None,
            latency_s=time.perf_counter() - started,
            finish_reason=_FINISH.get(choice.finish_reason or "", choice.finish_reason),
            model_id=response.model or None,
        )

    def _error(self, request: Request, message: str) -> Result:
        return Result(
            key=request.key,
            prompt_id=request.prompt_id,
            error=f"{self.spec.display}: {message}",
        )
