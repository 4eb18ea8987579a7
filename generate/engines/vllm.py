"""vLLM's offline engine, in process (``--engine vllm``): GPU machines only, the ``gpu``
extra. vLLM is imported when the engine is made, so a machine without it gets a message
naming the extra instead of an ImportError."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sidebyside.foundation.errors import ConfigError, ModelLoadError
from sidebyside.generate.engines.base import Description, Request, Result
from sidebyside.generate.engines.hf import TransformersEngine, library_versions
from sidebyside.generate.params import DecodingParams
from sidebyside.generate.prompts import Message
from sidebyside.generate.specs import ModelSpec


def sampling_kwargs(params: DecodingParams) -> dict[str, Any]:
    """vLLM ``SamplingParams`` arguments of the decoding parameters (temperature 0 is
    greedy in vLLM too).

    >>> sampling_kwargs(DecodingParams(max_new_tokens=9, stop=("##",), seed=3))
    {'max_tokens': 9, 'temperature': 0.0, 'top_p': 1.0, 'seed': 3, 'stop': ['##']}
    """
    kwargs: dict[str, Any] = {
        "max_tokens": params.max_new_tokens,
        "temperature": params.temperature,
        "top_p": params.top_p,
        "seed": params.seed,
    }
    if params.stop:
        kwargs["stop"] = list(params.stop)
    return kwargs


class VLLMEngine:
    """Prompts are rendered with the model's tokenizer (the same chat template and hashes as
    the transformers engine); vLLM schedules the batches itself."""

    def __init__(self, spec: ModelSpec, params: DecodingParams, **options: object) -> None:
        try:
            import vllm  # noqa: F401
        except ImportError:
            raise ConfigError(
                f"model {spec.name!r}: --engine vllm needs vLLM (GPU machines only): "
                "pip install 'sidebyside[gpu]', or use --engine transformers, or serve the "
                "model with `vllm serve` and use openai:MODEL@URL"
            ) from None
        self.spec, self.params = spec, params
        # Tokenizer, template and hashes exactly as the transformers engine computes them.
        self._render = TransformersEngine(spec, params, device="cpu", dtype="float32")
        self._llm: Any = None

    def describe(self) -> Description:
        desc = self._render.describe()
        desc.versions = library_versions("vllm", "transformers", "torch")
        desc.settings = {"dtype": "auto"}
        return desc

    def count_tokens(self, messages: Sequence[Message]) -> int:
        return self._render.count_tokens(messages)

    def close(self) -> None:
        self._llm = None

    def _load(self) -> Any:
        if self._llm is None:
            from vllm import LLM

            adapter = self.spec.adapter
            try:
                self._llm = LLM(model=self._render.source, enable_lora=adapter is not None)
            except (OSError, ValueError, RuntimeError) as exc:
                raise ModelLoadError(
                    f"model {self.spec.name!r}: vLLM cannot load it: {exc}"
                ) from exc
        return self._llm

    def generate(self, requests: Sequence[Request], on_result: Callable[[Result], None]) -> None:
        if not requests:
            return
        from vllm import SamplingParams

        llm = self._load()
        lora = None
        if self.spec.adapter:
            from vllm.lora.request import LoRARequest

            lora = LoRARequest(Path(self.spec.adapter).name, 1, self.spec.adapter)
        prompts = [self._render.render(r.messages) for r in requests]
        started = time.perf_counter()
        outputs = llm.generate(
            prompts, SamplingParams(**sampling_kwargs(self.params)), lora_request=lora
        )
        seconds = time.perf_counter() - started
        for request, out in zip(requests, outputs, strict=True):
            completion = out.outputs[0]
            on_result(
                Result(
                    key=request.key,
                    prompt_id=request.prompt_id,
                    text=completion.text.replace("\x00", ""),
                    tokens_in=len(out.prompt_token_ids or []),
                    tokens_out=len(completion.token_ids),
                    latency_s=seconds,
                    finish_reason=completion.finish_reason,
                )
            )
