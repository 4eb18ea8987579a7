"""Training/evaluation overlap by hashed word n-grams (the GPT-3 paper's contamination check).

Texts are lower-cased and split into word tokens (``\\w+``, so punctuation and spacing do not
matter); every run of ``n`` consecutive words is hashed to 64 bits, and an evaluation item is
contaminated when at least ``threshold`` of its n-grams (default: any single one) occur in the
training data. Hashing is vectorised with numpy (a polynomial rolling hash over per-word
hashes), so 100k training examples take seconds; a 64-bit collision is ~n²/2⁶⁴ unlikely.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

WORD = re.compile(r"\w+")
_MULT = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplication mod 2**64 is a bijection


@dataclass(frozen=True)
class ContaminationItem:
    index: int  # 0-based position in the evaluation set
    n_ngrams: int
    n_matched: int

    @property
    def share(self) -> float:
        return self.n_matched / self.n_ngrams if self.n_ngrams else 0.0


@dataclass
class ContaminationReport:
    n: int
    n_train: int
    n_eval: int
    contaminated: list[ContaminationItem] = field(default_factory=list)
    #: Eval items with fewer than n words: not checkable at this n.
    too_short: list[int] = field(default_factory=list)

    @property
    def share(self) -> float:
        """Contaminated items over all evaluation items."""
        return len(self.contaminated) / self.n_eval if self.n_eval else 0.0


def _word_hashes(texts: Iterable[str]) -> tuple[np.ndarray, np.ndarray]:
    """Per-word 64-bit hashes of all texts concatenated, and each text's word count."""
    arrays, lengths = [], []
    for text in texts:
        words = WORD.findall(text.lower())
        # hash() of str is salted per process: fine, train and eval are hashed in one process
        arrays.append(np.fromiter(map(hash, words), dtype=np.int64, count=len(words)))
        lengths.append(len(words))
    flat = np.concatenate(arrays) if arrays else np.empty(0, dtype=np.int64)
    return flat.view(np.uint64), np.asarray(lengths, dtype=np.int64)


def ngram_hashes(texts: Iterable[str], n: int) -> tuple[np.ndarray, np.ndarray]:
    """(hashes, owner): one uint64 per word n-gram that stays inside one text, and the index
    of the text it came from. Shapes (m,) and (m,)."""
    if n < 1:
        raise ValueError(f"n must be at least 1, got {n}")
    words, lengths = _word_hashes(texts)
    count = len(words) - n + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64), np.empty(0, dtype=np.int64)
    hashes = np.zeros(count, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):  # h = ((w0 * M + w1) * M + w2) ... mod 2**64
            hashes = hashes * _MULT + words[j : j + count]
        hashes ^= hashes >> np.uint64(31)  # finaliser: spread the high bits down
    owner = np.repeat(np.arange(len(lengths)), lengths)[:count]
    ends = np.repeat(np.cumsum(lengths), lengths)[:count]
    inside = np.arange(count) + n <= ends
    return hashes[inside], owner[inside]


def contamination(
    train: Sequence[str],
    evaluation: Sequence[str],
    *,
    n: int = 8,
    threshold: float | None = None,
) -> ContaminationReport:
    """Which evaluation items share word n-grams with the training texts.

    >>> r = contamination(["the quick brown fox jumps"], ["A quick brown fox!", "no"], n=3)
    >>> [(i.index, i.n_matched, i.n_ngrams) for i in r.contaminated], r.too_short
    ([(0, 1, 2)], [1])
    """
    if threshold is not None and not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    train_hashes, _ = ngram_hashes(train, n)
    train_set = np.sort(train_hashes)  # duplicates are harmless to searchsorted; np.unique is slow
    eval_hashes, owner = ngram_hashes(evaluation, n)
    if len(train_set):
        pos = np.minimum(np.searchsorted(train_set, eval_hashes), len(train_set) - 1)
        found = train_set[pos] == eval_hashes
    else:
        found = np.zeros(len(eval_hashes), dtype=bool)
    totals = np.bincount(owner, minlength=len(evaluation))
    matched = np.bincount(owner, weights=found, minlength=len(evaluation)).astype(np.int64)
    report = ContaminationReport(n=n, n_train=len(train), n_eval=len(evaluation))
    for i in range(len(evaluation)):
        if totals[i] == 0:
            report.too_short.append(i)
            continue
        item = ContaminationItem(i, int(totals[i]), int(matched[i]))
        if item.n_matched and (threshold is None or item.share >= threshold):
            report.contaminated.append(item)
    return report
