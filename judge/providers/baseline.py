"""Honest reference judges that read only the two responses: longest wins, shortest wins, or a
coin flip seeded by the request (reruns reproduce). They cost nothing and send nothing.

AlpacaEval reports "longest answer wins" at 62% agreement with humans: a real judge that does
not beat it is measuring length.
"""

from __future__ import annotations

import hashlib
import json
import random
from typing import TYPE_CHECKING

from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import ProviderError
from sidebyside.judge.providers.base import Completion, JudgeRequest
from sidebyside.judge.providers.registry import ProviderInfo

if TYPE_CHECKING:
    from sidebyside.judge.specs import JudgeSpec

INFO = ProviderInfo(
    name="baseline",
    target="sidebyside.judge.providers.baseline:BaselineJudge",
    models=("longest", "shortest", "random"),
    rank=40,
    help="free reference judges that read only the two responses: every real judge should "
    "beat them",
    baseline=True,
)


class BaselineJudge:
    base_url = None

    def __init__(self, spec: JudgeSpec, **_: object):
        self.spec = spec

    async def complete(self, request: JudgeRequest) -> Completion:
        if request.mode != JudgeMode.PAIRWISE or len(request.responses) != 2:
            raise ProviderError(f"{self.spec.name} judges pairs only (pairwise mode)")
        a, b = (len(text.strip()) for text in request.responses)
        kind = self.spec.model
        if kind == "random":
            seed = int(hashlib.sha256(request.key.encode()).hexdigest()[:16], 16)
            winner = random.Random(seed).choice(["A", "B"])
            reason = "coin flip"
        else:
            if a == b:
                winner = "tie"
            elif (a > b) == (kind == "longest"):
                winner = "A"
            else:
                winner = "B"
            reason = f"{kind} response wins (A: {a} characters, B: {b} characters)"
        return Completion(text=json.dumps({"reasoning": reason, "winner": winner}))

    async def aclose(self) -> None:
        return None
