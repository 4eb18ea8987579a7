"""What every generation engine implements, and what it hands back."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from sidebyside.generate.prompts import Message


@dataclass(frozen=True)
class Request:
    """One answer to generate: its cache key, the prompt's id and its chat messages."""

    key: str
    prompt_id: str
    messages: tuple[Message, ...]


@dataclass(frozen=True)
class Result:
    """One answer, or ``error`` (a message naming what failed) and no text."""

    key: str
    prompt_id: str
    text: str = ""
    tokens_in: int | None = None
    tokens_out: int | None = None
    latency_s: float | None = None
    finish_reason: str | None = None
    error: str | None = None
    #: The model id a server reported answering (OpenAI-compatible engines).
    model_id: str | None = None


@dataclass
class Description:
    """What an engine knows about its model before generating: content hashes, the chat
    template's hash, library versions and the settings that shape the answers."""

    model_hash: str | None = None
    adapter_hash: str | None = None
    template_hash: str | None = None
    versions: dict[str, str] = field(default_factory=dict)
    #: Engine settings that change answers (dtype...), recorded with the decoding parameters.
    settings: dict[str, object] = field(default_factory=dict)
    #: Price per million input/output tokens when the engine is a priced API, else None.
    priced: bool = False


class Engine(Protocol):
    """A model that answers chat message lists. ``describe`` reads hashes and the tokenizer
    but loads no weights (a dry run calls only it); ``generate`` calls ``on_result`` once per
    request as each answer (or its error) arrives, in any order."""

    def describe(self) -> Description: ...

    def count_tokens(self, messages: Sequence[Message]) -> int: ...

    def generate(
        self, requests: Sequence[Request], on_result: Callable[[Result], None]
    ) -> None: ...

    def close(self) -> None: ...
