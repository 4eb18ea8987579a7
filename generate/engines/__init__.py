"""Generation engines, one module each, loaded lazily: importing this package never imports
torch, transformers, openai or vllm."""

from __future__ import annotations

from importlib import import_module

from sidebyside.generate.engines.base import Engine
from sidebyside.generate.params import DecodingParams
from sidebyside.generate.specs import ModelSpec

#: engine name -> "module:Class"
ENGINES = {
    "transformers": "sidebyside.generate.engines.hf:TransformersEngine",
    "openai": "sidebyside.generate.engines.openai_chat:OpenAIEngine",
    "vllm": "sidebyside.generate.engines.vllm:VLLMEngine",
}


def make_engine(spec: ModelSpec, params: DecodingParams, **options: object) -> Engine:
    """The engine for ``spec`` (its options: device, dtype, batch_size, concurrency...)."""
    module, _, cls = ENGINES[spec.engine].partition(":")
    return getattr(import_module(module), cls)(spec, params, **options)
