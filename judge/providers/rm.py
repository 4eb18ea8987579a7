"""A local reward model as judge (``rm:PATH``): an ``AutoModelForSequenceClassification``
with a single-score head (RewardBench's sequence-classification models) scores prompt +
response through its own chat template; the verdict goes to the higher reward and
P(A wins) = logistic(r_A - r_B) is stored as the order's probabilities, so the verdict's
continuous preference (both orders averaged) is 1 + logistic(r_b - r_a) exactly
(Bradley-Terry, the loss reward models are trained with). Loaded once per process, bf16 on a
GPU, batched: concurrent calls are gathered into one forward pass.

``rmpair:PATH`` (judge/providers/rmpair.py) is the pairwise-ranker variant (PairRM-style):
the model reads the prompt and both responses and its one logit is log-odds(A better).

torch is imported in the functions: listing providers imports this module for its ``INFO``.
"""

from __future__ import annotations

import asyncio
import json
import math
from typing import TYPE_CHECKING, Any

from sidebyside.foundation.enums import JudgeMode
from sidebyside.foundation.errors import InputError, ModelLoadError, ProviderError
from sidebyside.foundation.hf import load_sequence_classifier
from sidebyside.judge.logprobs import VerdictProbs
from sidebyside.judge.providers.base import Completion, JudgeRequest
from sidebyside.judge.providers.registry import ProviderInfo

if TYPE_CHECKING:
    from sidebyside.judge.specs import JudgeSpec

INFO = ProviderInfo(
    name="rm",
    target="sidebyside.judge.providers.rm:RewardModelJudge",
    requires=("torch", "transformers"),
    extra="local",
    rank=32,
    help="a local reward model (AutoModelForSequenceClassification, one score) scoring "
    "prompt + response through its chat template; preference = logistic of the reward "
    "difference; bf16 on the GPU, batched, loaded once",
    forms=("rm:PATH_OR_ID",),
)


def logistic(x: float) -> float:
    """1 / (1 + e^-x), without overflow.

    >>> logistic(0.0), round(logistic(2.0), 6), logistic(-1000.0)
    (0.5, 0.880797, 0.0)
    """
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def reward_text(tokenizer: Any, prompt: str, response: str) -> str:
    """The conversation a reward model scores: its chat template when it has one, else a
    plain User / Assistant transcript."""
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template(
            [{"role": "user", "content": prompt}, {"role": "assistant", "content": response}],
            tokenize=False,
        )
    return f"User: {prompt}\n\nAssistant: {response}"


def pair_text(tokenizer: Any, prompt: str, first: str, second: str) -> str:
    """What a pairwise ranker reads: the prompt and both responses, as shown."""
    body = f"{prompt}\n\n[Response A]\n{first}\n\n[Response B]\n{second}"
    if getattr(tokenizer, "chat_template", None):
        return tokenizer.apply_chat_template([{"role": "user", "content": body}], tokenize=False)
    return body


def check_single_score(model: Any, name: str) -> None:
    """A reward model's head gives one number; anything else is refused by name."""
    labels = getattr(model.config, "num_labels", None)
    if labels != 1:
        raise ModelLoadError(
            f"{name}: the model's head gives {labels} scores (num_labels={labels}); a reward "
            "model judge needs a single score per input (num_labels=1), e.g. a RewardBench "
            "sequence-classification reward model"
        )


def verdict_completion(p_a: float, detail: str) -> Completion:
    """The completion of one order: the JSON verdict the parser reads, and P(A) as shown."""
    winner = "A" if p_a > 0.5 else "B" if p_a < 0.5 else "tie"
    text = json.dumps({"reasoning": detail, "winner": winner})
    return Completion(text=text, extra={"verdict_probs": VerdictProbs(p_a, 1.0 - p_a, 0.0)})


class RewardModelJudge:
    """Scores each shown response; one forward pass per gathered batch."""

    base_url = None
    #: The pairwise-ranker subclass reads both responses at once.
    pairwise_input = False

    def __init__(
        self,
        spec: JudgeSpec,
        *,
        batch_size: int = 16,
        device: str | None = None,
        dtype: str | None = None,
        **_: object,
    ):
        self.spec = spec
        self.batch_size = max(1, batch_size)
        try:
            self.model, self.tokenizer = load_sequence_classifier(
                spec.model, device or "auto", dtype or "auto"
            )
        except ModelLoadError as exc:
            raise ModelLoadError(f"{spec.provider}:{exc}") from None
        except InputError as exc:
            raise InputError(f"{spec.provider}:{spec.model}: {exc}") from None
        check_single_score(self.model, f"{spec.provider}:{spec.model}")
        self._pending: list[tuple[JudgeRequest, asyncio.Future[Completion]]] = []
        self._worker: asyncio.Task[None] | None = None

    async def complete(self, request: JudgeRequest) -> Completion:
        if request.mode != JudgeMode.PAIRWISE or len(request.responses) != 2:
            raise ProviderError(
                f"{self.spec.provider}: judges pairs only; use --mode pairwise", fatal=True
            )
        future: asyncio.Future[Completion] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        await asyncio.sleep(0)  # the requests launched in this tick join the batch
        while self._pending:
            batch = [item for item in self._pending[: self.batch_size] if not item[1].done()]
            del self._pending[: self.batch_size]
            if not batch:
                continue
            try:
                results = await asyncio.to_thread(self.judge_batch, [r for r, _ in batch])
            except Exception as exc:  # noqa: BLE001 - handed to each waiting caller
                error = ProviderError(f"reward model failed: {type(exc).__name__}: {exc}")
                for _, future in batch:
                    if not future.done():
                        future.set_exception(error)
                continue
            for (_, future), result in zip(batch, results, strict=True):
                if not future.done():
                    future.set_result(result)

    def texts(self, request: JudgeRequest) -> list[str]:
        first, second = request.responses
        return [reward_text(self.tokenizer, request.prompt, r) for r in (first, second)]

    def judge_batch(self, requests: list[JudgeRequest]) -> list[Completion]:
        """Every request's completion from one forward pass (runs in a worker thread)."""
        scores = self.scores([t for r in requests for t in self.texts(r)])
        out = []
        for i in range(len(requests)):
            r_a, r_b = scores[2 * i], scores[2 * i + 1]
            out.append(verdict_completion(logistic(r_a - r_b), f"reward A={r_a:.4f} B={r_b:.4f}"))
        return out

    def scores(self, texts: list[str]) -> list[float]:
        """The head's single score of each text, in float32 (bf16 logits are rounded)."""
        import torch

        limit = getattr(self.model.config, "max_position_embeddings", None) or getattr(
            self.model.config, "n_positions", None
        )
        enc = self.tokenizer(
            texts,
            return_tensors="pt",
            padding=True,
            truncation=limit is not None,
            max_length=limit,
        ).to(self.model.device)
        with torch.inference_mode():
            logits = self.model(**enc).logits
        return [float(x) for x in logits[:, 0].float().cpu()]

    async def aclose(self) -> None:
        return None
