"""A local pairwise ranker as judge (``rmpair:PATH``, PairRM-style): one sequence-
classification model reads the prompt and both responses as shown and its single logit is
the log-odds that Response A is better, so P(A) = logistic(logit). Asked in both orders like
every judge, its position habit cancels in the verdict. Same loading and batching as
``rm:`` (judge/providers/rm.py)."""

from __future__ import annotations

from sidebyside.judge.providers.base import Completion, JudgeRequest
from sidebyside.judge.providers.registry import ProviderInfo
from sidebyside.judge.providers.rm import (
    RewardModelJudge,
    logistic,
    pair_text,
    verdict_completion,
)

INFO = ProviderInfo(
    name="rmpair",
    target="sidebyside.judge.providers.rmpair:PairRankerJudge",
    requires=("torch", "transformers"),
    extra="local",
    rank=34,
    help="a local pairwise ranker (sequence classification, one logit = log-odds that A is "
    "better) reading the prompt and both responses; bf16 on the GPU, batched, loaded once",
    forms=("rmpair:PATH_OR_ID",),
)


class PairRankerJudge(RewardModelJudge):
    pairwise_input = True

    def judge_batch(self, requests: list[JudgeRequest]) -> list[Completion]:
        texts = [pair_text(self.tokenizer, r.prompt, *r.responses) for r in requests]
        out = []
        for logit in self.scores(texts):
            p_a = logistic(logit)
            out.append(verdict_completion(p_a, f"log-odds A better = {logit:.4f}"))
        return out
