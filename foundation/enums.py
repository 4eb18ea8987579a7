"""Domain values as enums. Each is a ``StrEnum``: stored in the database as its plain value
("tie", "admin", ...), equal to that string, and JSON-serialised as it.

>>> Preference("tie") == "tie"
True
>>> key = JudgmentKey("baseline:longest", JudgeMode.PAIRWISE, pair_id=3, order=Order.AB)
>>> key.output_id, key == ("baseline:longest", "pairwise", 3, "ab", 0, 0)
(0, True)
"""

from __future__ import annotations

from enum import StrEnum
from typing import NamedTuple


class Role(StrEnum):
    """What an account may do."""

    #: Annotates like an annotator and settles disputed pairs on the Review page (issue 19).
    #: First, so the pages' role pickers (reversed: "annotator first") keep their default.
    REVIEWER = "reviewer"
    ADMIN = "admin"
    ANNOTATOR = "annotator"


class AssignmentStatus(StrEnum):
    """Where a pair handed to an annotator stands."""

    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"
    EXPIRED = "expired"


class Preference(StrEnum):
    """An overall preference in canonical terms: relative to the pair's output_a / output_b."""

    A = "a"
    B = "b"
    TIE = "tie"


class Allocation(StrEnum):
    """In which order a study's claims take its pairs (``annotate.allocation``): each
    annotator's seeded shuffle as it comes, or the system pairs whose next vote narrows the
    Bradley–Terry intervals most first."""

    UNIFORM = "uniform"
    ADAPTIVE = "adaptive"


class RatingSource(StrEnum):
    """Where a human rating came from."""

    APP = "app"
    IMPORT = "import"


class VerdictSource(StrEnum):
    """Who gave a verdict in the analysis' verdict frame: a human rating or a judge."""

    HUMAN = "human"
    JUDGE = "judge"


class JudgeMode(StrEnum):
    """How a judge was asked: compare the two responses, score each alone, or imported."""

    PAIRWISE = "pairwise"
    SINGLE = "single"
    IMPORTED = "imported"
    #: A stress probe's judgment of a perturbed pair (judge/probe_run.py); never a verdict.
    PROBE = "probe"


#: The modes a judge can be run in (``imported`` is only for verdicts made elsewhere).
RUN_MODES: tuple[JudgeMode, ...] = (JudgeMode.PAIRWISE, JudgeMode.SINGLE)


class Order(StrEnum):
    """Which output a judge call showed first (pairwise ``ab``/``ba``) or scored (single
    ``a``/``b``); empty for an imported verdict."""

    AB = "ab"
    BA = "ba"
    A = "a"
    B = "b"
    NONE = ""


class JudgmentStatus(StrEnum):
    """The outcome of one judge call."""

    OK = "ok"
    UNPARSED = "unparsed"
    ERROR = "error"


class JudgmentKey(NamedTuple):
    """What identifies one judge call of a study: the unique key of the ``judgment`` table."""

    judge: str
    mode: JudgeMode
    pair_id: int
    order: Order
    #: The scored output in single mode; 0 otherwise.
    output_id: int = 0
    #: Which of a sampled judge's K answers (``--samples``); 0 for a judge asked once.
    sample: int = 0
