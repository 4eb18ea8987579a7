"""Token prices (judge/prices.json, overridable) and cost arithmetic.

Unknown model -> cost ``None`` (unknown), never 0. Judges of a provider that is not an API
(baselines, local ``hf:`` models: see :mod:`judge.providers.registry`) cost 0.

>>> Prices({"openai:m": Price(1.0, 2.0)}).cost("openai", "m-2024-01-02", None, 1_000_000, 500_000)
2.0
>>> Prices({}).cost("openai", "mystery", None, 10, 10) is None
True
>>> Prices({"openai:m": Price(1.0, 2.0)}, {"openai": 0.5}).batch("openai", "m", None)
Price(input=0.5, output=1.0)
>>> format_usd(0.01234), format_usd(None)
('$0.0123', 'unknown')
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sidebyside.foundation.errors import InputError
from sidebyside.judge.providers import registry

DEFAULT_PRICES = Path(__file__).resolve().parent / "prices.json"
#: Environment variable naming a JSON file whose entries override/extend the default table.
PRICES_ENV = "SIDEBYSIDE_JUDGE_PRICES"
_DATED = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)$")


def _free(provider: str) -> bool:
    """A provider that sends nothing to a paid API (an unknown one is not assumed free)."""
    info = registry.find(provider)
    return info is not None and not info.is_api


def format_usd(value: float | None) -> str:
    """A cost for people: four decimals (judge calls cost fractions of a cent), or "unknown"
    when the price is unknown (never shown as $0)."""
    return "unknown" if value is None else f"${value:.4f}"


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float


#: Key of the table's batch discounts: ``{"provider": factor}`` (0.5 = half the standard price).
BATCH_KEY = "_batch_discount"


def _discounts(path: Path, data: dict) -> dict[str, float]:
    raw = data.get(BATCH_KEY, {})
    try:
        return {str(k): float(v) for k, v in raw.items()}
    except (AttributeError, TypeError, ValueError) as exc:
        raise InputError(f'{path}: {BATCH_KEY} must be {{"PROVIDER": FACTOR}}') from exc


def _read(path: Path) -> tuple[dict[str, Price], dict[str, float]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot read price table: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"{path}: price table must be a JSON object of PROVIDER:MODEL entries")
    table: dict[str, Price] = {}
    for key, value in data.items():
        if key.startswith("_"):
            continue
        try:
            table[key] = Price(float(value["input"]), float(value["output"]))
        except (TypeError, KeyError, ValueError) as exc:
            raise InputError(
                f'{path}: entry {key!r} must be {{"input": USD_PER_MTOK, "output": USD_PER_MTOK}}'
            ) from exc
    return table, _discounts(path, data)


class Prices:
    """A price table keyed by ``provider:model`` (optionally ``provider:model@url``)."""

    def __init__(self, table: dict[str, Price], batch_discount: dict[str, float] | None = None):
        self.table = table
        #: Provider -> factor on the standard price for its batch API (0.5: half price).
        self.batch_discount = batch_discount or {}

    @classmethod
    def load(cls, override: str | Path | None = None) -> Prices:
        """Default table, then the file named by ``SIDEBYSIDE_JUDGE_PRICES``, then ``override``."""
        table, discounts = _read(DEFAULT_PRICES)
        for extra in (os.environ.get(PRICES_ENV), override):
            if extra:
                more, more_discounts = _read(Path(extra))
                table.update(more)
                discounts.update(more_discounts)
        return cls(table, discounts)

    def lookup(self, provider: str, model: str, base_url: str | None) -> Price | None:
        if _free(provider):
            return Price(0.0, 0.0)
        keys = []
        if base_url:
            keys.append(f"{provider}:{model}@{base_url}")
        keys += [f"{provider}:{model}", f"{provider}:{_DATED.sub('', model)}"]
        return next((self.table[k] for k in keys if k in self.table), None)

    def batch(self, provider: str, model: str, base_url: str | None) -> Price | None:
        """The price through the provider's batch API: the standard price times its batch
        discount; None (unknown) when either is unknown."""
        price = self.lookup(provider, model, base_url)
        factor = self.batch_discount.get(provider)
        if price is None or factor is None:
            return None
        return Price(price.input * factor, price.output * factor)

    def cost(
        self,
        provider: str,
        model: str,
        base_url: str | None,
        input_tokens: int | None,
        output_tokens: int | None,
        *,
        batch: bool = False,
    ) -> float | None:
        if batch:
            price = self.batch(provider, model, base_url)
        else:
            price = self.lookup(provider, model, base_url)
        if price is None:
            return None
        if _free(provider):
            return 0.0
        if input_tokens is None or output_tokens is None:
            return None
        return (input_tokens * price.input + output_tokens * price.output) / 1e6


def estimate_tokens(text: str) -> int:
    """A deliberately high token estimate (3 characters per token) for budgets and dry runs."""
    return len(text) // 3 + 1
