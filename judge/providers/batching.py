"""What a provider's batch API speaks: request lines in, a batch id out, then its state and its
results. A provider with a batch API names its client in ``ProviderInfo.batch_client``; the
policy (cache, budget, resume) is :mod:`judge.batch`'s.

This module declares no ``INFO``: the registry's scan skips it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from sidebyside.judge.providers.base import Completion, JudgeRequest

RUNNING, ENDED, FAILED = "running", "ended", "failed"


@dataclass(frozen=True)
class BatchState:
    """A batch as the provider reports it: ``status`` is RUNNING, ENDED or FAILED."""

    status: str
    provider_status: str
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BatchItem:
    """One result: a completion, or the error that took its place (failed, expired...)."""

    custom_id: str
    completion: Completion | None = None
    error: str | None = None


class BatchClient(Protocol):
    """What :class:`~judge.batch.BatchRunner` needs from a provider's batch API."""

    provider: str
    #: The provider's limits per batch (requests, bytes of the request lines).
    max_requests: int
    max_bytes: int

    def line(self, request: JudgeRequest, custom_id: str) -> dict[str, Any]:
        """The request line that asks ``request``; its result comes back as ``custom_id``."""
        ...

    async def submit(self, lines: list[dict[str, Any]]) -> str: ...

    async def poll(self, batch_id: str) -> BatchState: ...

    async def results(self, batch_id: str) -> list[BatchItem]: ...

    async def cancel(self, batch_id: str) -> None: ...
