"""The evaluation card's per-prompt rescoring of text metrics.

``analysis.card`` pairs two systems' text metrics over the prompts both answered, which needs
each prompt's BLEU/chrF statistics and the metric recomputed from resampled sums. Those come
from this layer (sacrebleu, rouge-score, METEOR), and analysis may not import it: the edges
(the CLI's report and card commands, the Results page) hand ``TEXT_SCORER`` to the report
builder, which passes it on to the card (``analysis.card.PromptScorer``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sidebyside.metrics.meteor import wordnet_available
from sidebyside.metrics.textmetrics import (
    LABEL_METRICS,
    confusion_scores,
    text_scores,
    text_statistics,
)


class TextMetricScorer:
    """``analysis.card.PromptScorer`` over this package's text metrics."""

    label_metrics: tuple[str, ...] = LABEL_METRICS

    def statistics(
        self, predictions: Sequence[str], references: Sequence[str], *, meteor: bool
    ) -> dict[str, np.ndarray]:
        """Per-prompt statistics of every text metric (METEOR only when WordNet is here)."""
        return text_statistics(predictions, references, meteor=meteor and wordnet_available())

    def score(self, metric: str, summed: np.ndarray, n: int) -> np.ndarray:
        """The metric from statistics summed over ``n`` prompts, one value per row."""
        return text_scores(metric, summed, n)

    def label_scores(self, counts: np.ndarray, k: int) -> tuple[float, float, float]:
        """Accuracy, macro F1 and weighted F1 from flattened confusion counts."""
        return confusion_scores(counts, k)


TEXT_SCORER = TextMetricScorer()
