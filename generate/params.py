"""Decoding parameters and the cache keys built from them.

A generation's key is everything that changes the answer and nothing that does not (the judge
cache's rule): the model source's fingerprint (engine, model and adapter content, chat
template, decoding parameters, seed) and the prompt's messages; not the batch size, the
concurrency or a timeout.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sidebyside.generate.prompts import Message


class DecodingParams(BaseModel):
    """How every model of one ``generate`` run decodes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_new_tokens: int = Field(default=512, ge=1, le=1_000_000)
    """Most tokens generated per answer."""
    temperature: float = Field(default=0.0, ge=0.0, le=10.0)
    """0 is greedy decoding (deterministic); above 0 samples."""
    top_p: float = Field(default=1.0, gt=0.0, le=1.0)
    """Nucleus sampling mass (only when sampling)."""
    seed: int = 0
    """Seed of the sampler (recorded even for greedy decoding)."""
    stop: tuple[str, ...] = ()
    """Strings that end an answer (not kept in it), besides the model's EOS token."""
    chat_template: bool = True
    """Render messages with the tokenizer's chat template; False: plain text (base models)."""

    @model_validator(mode="after")
    def _no_empty_stop(self) -> DecodingParams:
        if any(not s for s in self.stop):
            raise ValueError("a --stop string cannot be empty")
        return self

    @property
    def greedy(self) -> bool:
        return self.temperature == 0.0

    def recorded(self) -> dict[str, Any]:
        """The parameters as stored in provenance (JSON-safe)."""
        return self.model_dump(mode="json")


def sha256_json(value: Any) -> str:
    """sha256 of a value's canonical JSON."""
    text = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def generation_key(fingerprint: str, messages: Sequence[Message]) -> str:
    """The cache key of one answer: the source's fingerprint and the prompt's messages.

    >>> a = generation_key("f", [{"role": "user", "content": "hi"}])
    >>> a == generation_key("f", ({"content": "hi", "role": "user"},)), len(a)
    (True, 64)
    """
    return sha256_json({"source": fingerprint, "messages": [dict(m) for m in messages]})
