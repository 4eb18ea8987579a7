"""What every provider speaks: one request in, one completion out, errors classified.

Providers only talk; the runner owns policy (concurrency, retries, timeouts' consequences,
cache, cost). A provider turns its SDK's exceptions into ``foundation.errors.ProviderError``
saying whether a retry may help and how long the server asked us to wait; a provider that
cannot be used here at all (SDK not installed, key not set) raises ``ConfigError``.
"""

from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import ProviderError

if TYPE_CHECKING:  # judge.specs imports the registry, so this package must not import it back
    from sidebyside.judge.specs import JudgeSpec


@dataclass(frozen=True)
class JudgeRequest:
    """One judge call. ``messages`` are a system and a user message; ``responses`` are the
    response texts exactly as shown (A then B for pairwise, one for single), for judges that
    look at the texts rather than the prompt (baselines)."""

    messages: tuple[dict[str, str], ...]
    mode: JudgeMode = JudgeMode.PAIRWISE
    responses: tuple[str, ...] = ()
    temperature: float = 0.0
    max_tokens: int = 512
    json_mode: bool = True
    #: The cache key; seeds the random baseline so reruns reproduce.
    key: str = ""
    #: The study's prompt as written (not the judge prompt): reward models score prompt +
    #: response through their own chat template (judge/providers/rm.py). Its text is in
    #: ``messages`` already, so it is not part of the cache key.
    prompt: str = ""

    def sampling(self) -> dict[str, object]:
        """Everything besides the messages that changes the answer (part of the cache key)."""
        return {
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "json_mode": self.json_mode,
        }


@dataclass(frozen=True)
class Completion:
    text: str
    input_tokens: int | None = None
    output_tokens: int | None = None
    extra: dict[str, object] = field(default_factory=dict)


@runtime_checkable
class Judge(Protocol):
    """A judge provider. ``base_url`` is the server actually used (None for local judges);
    it is part of the cache key."""

    spec: JudgeSpec
    base_url: str | None

    async def complete(self, request: JudgeRequest) -> Completion: ...

    async def aclose(self) -> None: ...


def retry_after_seconds(
    headers: Mapping[str, str] | None, now: float | None = None
) -> float | None:
    """Seconds asked for by ``retry-after-ms`` or ``Retry-After`` (seconds or an HTTP date).

    >>> retry_after_seconds({"retry-after": "2"})
    2.0
    >>> retry_after_seconds({"retry-after-ms": "150"})
    0.15
    >>> retry_after_seconds({}) is None
    True
    """
    if not headers:
        return None
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        if "retry-after-ms" in lower:
            return max(0.0, float(lower["retry-after-ms"]) / 1000)
        value = lower.get("retry-after")
        if value is None:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            parsed = email.utils.parsedate_to_datetime(value)
            return max(0.0, parsed.timestamp() - (now if now is not None else time.time()))
    except (TypeError, ValueError):
        return None


def http_error(status: int, message: str, headers: Mapping[str, str] | None) -> ProviderError:
    """Classify an HTTP error status the same way for every provider."""
    if status == 429:
        return ProviderError(
            f"HTTP 429 rate limited: {message}",
            retryable=True,
            retry_after=retry_after_seconds(headers),
            status=status,
        )
    if status in (408, 409) or status >= 500:
        return ProviderError(
            f"HTTP {status}: {message}",
            retryable=True,
            retry_after=retry_after_seconds(headers),
            status=status,
        )
    return ProviderError(
        f"HTTP {status}: {message}", status=status, fatal=status in (401, 403, 404)
    )
