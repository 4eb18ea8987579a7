"""Every SQLModel table: studies and the human side, judge calls and verdicts, metric runs.
All timestamps are timezone-aware UTC (``utcnow``).

Pairs store their two outputs in a canonical order (``output_a`` / ``output_b``); what an
annotator saw on the left is recorded on the assignment (``swapped``), and every preference is
stored in canonical terms, so unblinding is a lookup, never a guess.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, Column, Text, UniqueConstraint, false
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Meta(SQLModel, table=True):
    """Key/value facts about the database itself (schema version)."""

    key: str = Field(primary_key=True, max_length=64)
    value: str = Field(max_length=255)


class Study(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(index=True, unique=True, min_length=1, max_length=200)
    description: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: Rubric as JSON (see foundation.rubric.Rubric); editable until the first rating.
    rubric: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    #: Distinct annotators each pair needs.
    k: int = Field(default=3, ge=1, le=100)
    #: Seed of every per-annotator shuffle and side assignment.
    seed: int = Field(default=0)
    #: "uniform" | "adaptive" (``enums.Allocation``): the order claims take the pairs in
    #: (``annotate.allocation``); editable until the first rating. Added in revision 0002.
    allocation: str = Field(
        default="uniform", max_length=10, sa_column_kwargs={"server_default": "uniform"}
    )
    #: The system every other is compared with on the evaluation card; None: the first one
    #: (revision 0007).
    base_system: str | None = Field(default=None, max_length=200)
    #: A closed study hands out no more pairs and takes no invites (revision 0007).
    closed: bool = Field(default=False, sa_column_kwargs={"server_default": false()})
    #: 3 (A / tie / B) or 5 (A much better .. B much better): the grades of the overall
    #: preference the annotate screen offers (``annotate.grading``). Added in revision 0005.
    preference_levels: int = Field(default=3, sa_column_kwargs={"server_default": "3"})
    created_at: datetime = Field(default_factory=utcnow)


class System(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("study_id", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    name: str = Field(min_length=1, max_length=200)


class Prompt(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("study_id", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: The ``prompt_id`` of the imported file.
    external_id: str = Field(max_length=200)
    text: str = Field(sa_column=Column(Text, nullable=False))
    reference: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    #: Optional task category of the prompt (coding, writing, ...): results are broken down
    #: by it. Added in schema version 2.
    category: str | None = Field(default=None, max_length=100)
    #: A turn of a conversation (revision 0004): the conversation's id in the imported file
    #: (MT-Bench's ``question_id``), this turn's number (1-based) and the conversation's
    #: system message. ``text`` is then the user's message at this turn; the earlier user turns
    #: are the rows of the same conversation with a lower turn, and each system's earlier
    #: answers are its outputs on them. All None for a single-turn prompt.
    conversation: str | None = Field(default=None, max_length=200)
    turn: int | None = Field(default=None, ge=1)
    system_message: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class Output(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("prompt_id", "system_id"),)
    id: int | None = Field(default=None, primary_key=True)
    prompt_id: int = Field(foreign_key="prompt.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    text: str = Field(sa_column=Column(Text, nullable=False))


class Pair(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("study_id", "output_a_id", "output_b_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    prompt_id: int = Field(foreign_key="prompt.id", index=True)
    output_a_id: int = Field(foreign_key="output.id")
    output_b_id: int = Field(foreign_key="output.id")


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, min_length=1, max_length=100)
    #: argon2 hash; None for accounts that cannot log in (imported annotators).
    password_hash: str | None = Field(default=None, max_length=255)
    role: str = Field(default="annotator", max_length=20)  # "admin" | "annotator"
    active: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)
    #: The study this user last chose on Annotate, so a reload or a new login comes back to
    #: it (revision 0007). No foreign key: a plain remembered id, checked on every use.
    last_study_id: int | None = Field(default=None)


class StudyMember(SQLModel, table=True):
    """An annotator's membership of a study: annotators see and rate only their studies
    (admins see all). Added in revision 0007."""

    __table_args__ = (UniqueConstraint("study_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    #: Who added them ("cli", an admin's username, "invite").
    added_by: str = Field(default="", max_length=100)
    added_at: datetime = Field(default_factory=utcnow)


class LoginCounter(SQLModel, table=True):
    """Failed logins per user name or client address ("user:NAME" / "client:ADDR"), updated
    under a row lock, so the throttle's decision and the attempt's record are one atomic
    step across threads and processes (revision 0007)."""

    key: str = Field(primary_key=True, max_length=140)
    failures: int = Field(default=0)
    #: When the latest failure counted here happened (None: none since the last success).
    last_failure_at: datetime | None = None
    #: Until when a further attempt is refused without checking the password.
    blocked_until: datetime | None = None


class Invite(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    #: sha256 of the one-time token; the token itself is shown once and never stored.
    token_hash: str = Field(index=True, unique=True, max_length=64)
    role: str = Field(default="annotator", max_length=20)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    used_by: int | None = Field(default=None, foreign_key="user.id")
    used_at: datetime | None = None
    #: The study the invited annotator joins (revision 0007); None: no study.
    study_id: int | None = Field(default=None)


class AuditEvent(SQLModel, table=True):
    """Security log of accounts: logins (ok, failed, throttled), role changes, password
    changes and resets. Failed logins here also drive the login throttle, so it holds
    across several app processes. Added in schema version 3."""

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = Field(default_factory=utcnow, index=True)
    #: login | login_failed | login_throttled | role_changed | password_changed | ...
    action: str = Field(max_length=30, index=True)
    #: The account concerned (as typed, for a failed login).
    username: str = Field(default="", max_length=100, index=True)
    #: Who did it, when not the account itself (an admin, "cli").
    actor: str | None = Field(default=None, max_length=100)
    #: The client's address, where the web server knows it.
    client: str | None = Field(default=None, max_length=100, index=True)
    detail: str = Field(default="", max_length=500)


class Assignment(SQLModel, table=True):
    """A pair handed to one annotator. ``slot`` (0..k-1) is unique per pair while the
    assignment holds a place, so no race can push a pair past k; an abandoned assignment
    gives its slot up (slot = NULL, status "expired")."""

    __table_args__ = (
        UniqueConstraint("pair_id", "user_id"),
        UniqueConstraint("pair_id", "slot"),
    )
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    slot: int | None = Field(default=None)
    #: True when output_b was shown on the left as "Response A".
    swapped: bool
    #: "open" | "done" | "skipped" | "expired"
    status: str = Field(default="open", max_length=10, index=True)
    #: Why it was skipped or flagged (e.g. "both unusable").
    reason: str | None = Field(default=None, max_length=1000)
    flagged: bool = Field(default=False)
    opened_at: datetime = Field(default_factory=utcnow)
    finished_at: datetime | None = None


class Rating(SQLModel, table=True):
    """One submitted vote, in canonical terms. Unique per (pair, user): a double submit
    cannot create a second rating."""

    __table_args__ = (UniqueConstraint("pair_id", "user_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    assignment_id: int | None = Field(default=None, foreign_key="assignment.id", unique=True)
    #: "a" | "b" | "tie", relative to the pair's output_a / output_b.
    preference: str = Field(max_length=3)
    #: The grade of a decisive preference: 2 = "much better", 1 = "better"; None for a tie
    #: or a vote given on three levels (``annotate.grading``). Added in revision 0005.
    strength: int | None = Field(default=None, ge=1, le=2)
    #: {criterion: {"a": score, "b": score}}, canonical sides.
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: Whether output_b was shown on the left (copied from the assignment; None if imported).
    swapped: bool | None = None
    time_spent_s: float | None = None
    #: "app" or "import"
    source: str = Field(default="app", max_length=10)
    created_at: datetime = Field(default_factory=utcnow)


class RatingRevision(SQLModel, table=True):
    """A rating as it stood before its annotator changed it on *My ratings*. The rating row
    always holds the latest version (what analyses read); these rows are its history, each
    stamped with when it was replaced, for the export."""

    id: int | None = Field(default=None, primary_key=True)
    rating_id: int = Field(foreign_key="rating.id", index=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: The replaced version, canonical sides (as on Rating).
    preference: str = Field(max_length=3)
    scores: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    comment: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    #: When the replaced version was made, and when it was replaced.
    made_at: datetime
    replaced_at: datetime = Field(default_factory=utcnow)


class LoginSession(SQLModel, table=True):
    """A browser's login (ui/session.py). Only the sha256 of a token is stored: a one-time
    ``ticket`` (a minute, exchanged for the cookie) or a ``session`` (the HttpOnly cookie).
    Logging out sets ``revoked_at``; an expired, revoked or deactivated one opens nothing."""

    id: int | None = Field(default=None, primary_key=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    user_id: int = Field(foreign_key="user.id", index=True)
    #: "ticket" | "session"
    kind: str = Field(max_length=10)
    #: Where a ticket sends the browser once the cookie is set (a path of this app).
    next_path: str = Field(default="/", max_length=500)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime
    revoked_at: datetime | None = None


# --- the machine side: judge calls (one row per order) and reconciled verdicts


class Judgment(SQLModel, table=True):
    """One judge call (or one imported verdict). Raw text is always kept."""

    __table_args__ = (
        UniqueConstraint(
            "judge", "mode", "pair_id", "order", "output_id", "sample", name="uq_judgment_slot"
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    #: Judge spec, e.g. "openai:gpt-4o-mini" or a name from an imported file.
    judge: str = Field(index=True, max_length=300)
    #: "pairwise" | "single" | "imported"
    mode: str = Field(default="pairwise", max_length=10)
    #: "ab" | "ba" for pairwise; "a" | "b" for single (which output was scored); "" if imported.
    order: str = Field(default="", max_length=2)
    #: For single mode: the scored output (else 0, so the unique constraint holds on all DBs).
    output_id: int = Field(default=0)
    #: Which of the K answers of a sampled judge (``--samples K``, judge/sampling.py); 0 for
    #: a judge asked once. Added in revision 0006.
    sample: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    template_version: str = Field(default="", max_length=50)
    cache_key: str = Field(default="", index=True, max_length=64)
    #: "ok" | "unparsed" | "error"
    status: str = Field(default="ok", max_length=10)
    shown_winner: str | None = Field(default=None, max_length=3)
    #: Canonical: "a" | "b" | "tie" | None (unparsed / error / single mode).
    winner: str | None = Field(default=None, max_length=3)
    #: A graded verdict's strength (2 = ">>", 1 = ">"); None for a tie or an ungraded
    #: verdict. Added in revision 0005.
    strength: int | None = Field(default=None, ge=1, le=2)
    #: Single mode: {"criteria": {name: 1..5}, "overall": 1..10}.
    scores: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    #: Continuous preference in canonical terms, AlpacaEval-style: 1.0 = output_a better,
    #: 2.0 = output_b better, 1.5 = no preference; i.e. 1 + P(output_b wins), e.g. from the
    #: judge's token log-probabilities. None when the judge gave only a discrete verdict.
    preference: float | None = Field(default=None, ge=1.0, le=2.0)
    #: P(Response A), P(Response B), P(tie) *as shown* in this order, renormalised over the
    #: verdict tokens' log-probabilities (judge/logprobs.py); None when the judge gave none.
    p_a: float | None = Field(default=None, ge=0.0, le=1.0)
    p_b: float | None = Field(default=None, ge=0.0, le=1.0)
    p_tie: float | None = Field(default=None, ge=0.0, le=1.0)
    reasoning: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    raw: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    input_tokens: int | None = None
    output_tokens: int | None = None
    #: USD; None when the model's price is unknown (never 0 for "unknown").
    cost_usd: float | None = None
    latency_s: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class JudgeVerdict(SQLModel, table=True):
    """The reconciled verdict of one judge on one pair (both orders agree, else an
    inconsistent tie). Imported verdicts land here directly."""

    __table_args__ = (UniqueConstraint("judge", "mode", "pair_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    judge: str = Field(index=True, max_length=300)
    mode: str = Field(default="pairwise", max_length=10)
    #: Canonical "a" | "b" | "tie".
    winner: str = Field(max_length=3)
    #: A graded verdict's strength (2 = ">>", 1 = ">"), the weaker of the two orders when
    #: both are graded; None for a tie or an ungraded verdict. Added in revision 0005.
    strength: int | None = Field(default=None, ge=1, le=2)
    #: True when the two orders disagreed (the verdict is then a tie).
    inconsistent: bool = Field(default=False)
    #: Winner of order "ab" and "ba" in canonical terms (None if unparsed/failed/imported).
    winner_ab: str | None = Field(default=None, max_length=3)
    winner_ba: str | None = Field(default=None, max_length=3)
    #: Continuous preference, AlpacaEval-style (see ``Judgment.preference``): 1.0 = output_a
    #: better, 2.0 = output_b better; None when only the discrete ``winner`` is known. Win
    #: rates use it for the mean-preference win rate; ``winner`` stays the discrete verdict.
    preference: float | None = Field(default=None, ge=1.0, le=2.0)
    #: A sampled judge (``--samples K``): the canonical vote fractions over both orders' K
    #: answers each, and the preference they give (1 + P(b) + P(tie) / 2); ``preference``
    #: keeps the log-probabilities' when the judge gave them. None for a judge asked once.
    #: Added in revision 0006.
    vote_a: float | None = Field(default=None, ge=0.0, le=1.0)
    vote_b: float | None = Field(default=None, ge=0.0, le=1.0)
    vote_tie: float | None = Field(default=None, ge=0.0, le=1.0)
    vote_preference: float | None = Field(default=None, ge=1.0, le=2.0)
    reasoning: str = Field(default="", sa_column=Column(Text, nullable=False, default=""))
    created_at: datetime = Field(default_factory=utcnow)


class JudgeBatch(SQLModel, table=True):
    """One batch of judge calls submitted to a provider's batch API, recorded the moment the
    provider returns its id: a rerun resumes polling it and never submits its calls again."""

    __table_args__ = (UniqueConstraint("provider", "batch_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    judge: str = Field(index=True, max_length=300)
    mode: str = Field(default="pairwise", max_length=10)
    provider: str = Field(max_length=50)
    #: The provider's id of the batch (``batch_...`` / ``msgbatch_...``).
    batch_id: str = Field(max_length=200)
    #: "running" | "ended" | "failed"; ``provider_status`` is the provider's own word.
    status: str = Field(default="running", max_length=20, index=True)
    provider_status: str = Field(default="", max_length=50)
    #: The cache keys asked (each request's custom_id), to match results and not resubmit.
    keys: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    n_requests: int = Field(default=0, ge=0)
    #: Result counts: succeeded, errored, expired, canceled (as the provider reports them).
    counts: dict[str, int] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: True once its results are written as Judgment rows.
    ingested: bool = Field(default=False)
    #: USD at the batch price; None when unknown.
    cost_usd: float | None = None
    created_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class ModelFamily(SQLModel, table=True):
    """The model family of a study's system or judge (e.g. "gpt", "claude", "llama"), declared
    by the researcher, for the self-preference figures: does a judge favour its own family?"""

    __table_args__ = (UniqueConstraint("study_id", "kind", "name"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: "system" | "judge"
    kind: str = Field(max_length=10)
    #: The system's name or the judge's spec (as stored on its verdicts).
    name: str = Field(max_length=300)
    family: str = Field(min_length=1, max_length=100)


# --- the automatic metrics: perplexity runs and per-system metric results


class PerplexityRun(SQLModel, table=True):
    """One model scored on one text set. Per-text figures are kept so any two runs on the same
    texts can be compared with a paired bootstrap later."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: Path or hub id the model was loaded from.
    model: str = Field(max_length=500)
    #: Name of the text set (the file name unless given).
    texts: str = Field(max_length=500)
    #: sha256 of the texts (JSON list): runs are paired only when this matches.
    texts_sha256: str = Field(max_length=64, index=True)
    n_texts: int = Field(ge=0)
    n_skipped: int = Field(default=0, ge=0)
    n_tokens: int = Field(ge=0)
    nll_sum: float
    perplexity: float | None = None
    bits_per_byte: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    tokens_per_second: float | None = None
    seconds: float | None = None
    #: max_length, stride, batch_size, dtype, device, bos.
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: {"nll": [...], "n_tokens": [...], "n_bytes": [...]}, aligned with the texts.
    per_text: dict[str, list] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class MetricResult(SQLModel, table=True):
    """One automatic metric of one system of a study against the prompts' references.
    Re-running the metrics replaces a system's rows."""

    __table_args__ = (UniqueConstraint("study_id", "system_id", "metric"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    system_id: int = Field(foreign_key="system.id", index=True)
    #: bleu | chrf | rouge1 | rouge2 | rougeL | exact_match | token_f1 | meteor (0-100), or
    #: accuracy | macro_f1 | weighted_f1 (0-1) for label tasks.
    metric: str = Field(max_length=50)
    #: "text" or "label"
    kind: str = Field(default="text", max_length=10)
    value: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    #: Prompts with a reference that the system answered.
    n: int = Field(ge=0)
    #: Label tasks: scikit-learn's per-class report.
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class BenchmarkResult(SQLModel, table=True):
    """One model's score on one lm-evaluation-harness task and metric (acc, acc_norm), with
    the harness's standard error and the per-item scores, so any two models run on the same
    items can be compared paired later. A re-run adds rows; readers take the newest."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: Path or hub id the model was loaded from.
    model: str = Field(max_length=500)
    task: str = Field(max_length=200)
    metric: str = Field(max_length=50)
    value: float | None = None
    #: The harness's standard error of ``value``.
    stderr: float | None = None
    n: int = Field(ge=0)
    #: num_fewshot, limit, batch_size, device, lm_eval version.
    settings: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: {doc_id: score} of every item (the harness's logged samples).
    per_item: dict[str, float] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# --- generation: outputs made by sidebyside itself (``sidebyside generate``), with provenance


class PromptSetVersion(SQLModel, table=True):
    """The content of a study's prompt set when it was generated or imported: a later set whose
    texts differ is refused (``generate.versions``). ``texts`` maps each prompt id to the
    sha256 of its text (and system prompt), so a refusal can list the ids that differ."""

    __table_args__ = (UniqueConstraint("study_id", "sha256"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: 1 for a study's first set; a ``--new-version`` study carries on its parent's numbering.
    version: int = Field(default=1, ge=1)
    #: sha256 of the sorted (prompt id, text sha256) list.
    sha256: str = Field(max_length=64)
    n_prompts: int = Field(ge=0)
    #: The study this version was started from (``--new-version``), if any.
    parent_study_id: int | None = Field(default=None, foreign_key="study.id")
    texts: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class GenerationSource(SQLModel, table=True):
    """What produced one system's generated outputs: the model, its adapter, the prompt
    format, the engine and its libraries, every decoding parameter and the seed."""

    __table_args__ = (UniqueConstraint("study_id", "system", "fingerprint"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: The system's name in the study (``--model NAME=...``).
    system: str = Field(max_length=200)
    #: The model as given: a path, a hub id or ``openai:MODEL@URL`` (without the adapter).
    source: str = Field(max_length=1000)
    adapter: str | None = Field(default=None, max_length=1000)
    #: transformers | openai | vllm
    engine: str = Field(max_length=20)
    #: sha256 of the config and weights files, or the model id the server reported.
    model_hash: str | None = Field(default=None, max_length=300)
    adapter_hash: str | None = Field(default=None, max_length=64)
    #: sha256 of the chat template applied; None for plain text prompts.
    template_hash: str | None = Field(default=None, max_length=64)
    #: {"transformers": "4.x", "torch": "2.x", "peft": ...}
    versions: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    #: max_new_tokens, temperature, top_p, stop, chat_template, system prompt hash, dtype...
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    seed: int = Field(default=0)
    #: sha256 of everything above that changes an answer: part of each generation's key.
    fingerprint: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow)


class Generation(SQLModel, table=True):
    """One generated output, committed as it arrives; ``cache_key`` (source fingerprint and
    the prompt's messages) makes a rerun or a resume after a crash regenerate nothing."""

    __table_args__ = (UniqueConstraint("study_id", "cache_key"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    source_id: int = Field(foreign_key="generationsource.id", index=True)
    #: The prompt's ``prompt_id`` in the prompt file.
    prompt_external_id: str = Field(max_length=200)
    cache_key: str = Field(max_length=64)
    text: str = Field(sa_column=Column(Text, nullable=False))
    tokens_in: int | None = None
    tokens_out: int | None = None
    #: Seconds from the request (or the batch's start) to the answer.
    latency_s: float | None = None
    #: Why generation stopped: "eos" | "stop" | "length" (as the engine reports it).
    finish_reason: str | None = Field(default=None, max_length=20)
    created_at: datetime = Field(default_factory=utcnow)


class JudgeAlignment(SQLModel, table=True):
    """One round of ``judge-align`` (judge/align.py): the template version it wrote from the
    human-judge disagreements, and the judge's agreement with the human majority before and
    after on cross-fitted folds. The Judges page lists them as the template's history.
    Added in revision 0006."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: The judge as asked before this round (its spec name, e.g. "openai:gpt-4o#v2").
    judge: str = Field(index=True, max_length=300)
    #: The judge asked with the new version (its verdicts are stored under this name).
    aligned_judge: str = Field(max_length=300)
    #: The template file read, and the next version written beside it.
    base_template: str = Field(max_length=1000)
    template: str = Field(max_length=1000)
    #: Number of the version in its series (2 for the first rewrite of a template).
    version: int = Field(default=2, ge=1)
    folds: int = Field(ge=2)
    #: Per fold: {"fold": i, "examples": [{"pair_id", "category", "human", "judge"}]}.
    shots: list[Any] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    #: Pairs with a human majority and a verdict before and after.
    n: int = Field(ge=0)
    agreement_before: float | None = None
    agreement_after: float | None = None
    #: Paired bootstrap interval of after - before, and McNemar's exact p-value.
    diff_low: float | None = None
    diff_high: float | None = None
    mcnemar_p: float | None = None
    created_at: datetime = Field(default_factory=utcnow)


class CheckpointSeries(SQLModel, table=True):
    """One ``sidebyside series --study`` run: held-out and training perplexity per checkpoint
    (``metrics.series``), the best checkpoint and the step overfitting starts, if any."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    #: sha256 of the held-out texts and of the training sample (``ppl_stats.texts_sha256``).
    held_out_sha256: str = Field(max_length=64)
    train_sha256: str = Field(max_length=64)
    best: str | None = Field(default=None, max_length=200)
    overfit_from: str | None = Field(default=None, max_length=200)
    #: [{step, source, adapter, held_out: {...}, train: {...}, held_out_change, train_change}]
    points: list[dict[str, Any]] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    notes: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


# --- known answers (issue 19): gold pairs and a study's gold settings. Added in revision 0005.


class GoldPair(SQLModel, table=True):
    """A pair of the study with a known answer (``annotate.gold``): served to every rater
    blind at the study's gold rate, scored against ``accepted``, never counted in a result."""

    __table_args__ = (UniqueConstraint("study_id", "pair_id"),)
    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    #: The expected preference in canonical terms ("a" | "b" | "tie") and its grade (2 =
    #: much better, 1 = better, None = any grade).
    expected: str = Field(max_length=3)
    expected_strength: int | None = Field(default=None, ge=1, le=2)
    #: Canonical preferences that count as right (the expected one, plus a tolerance such as
    #: "not B", which accepts a and tie).
    accepted: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    note: str = Field(default="", max_length=1000)
    created_at: datetime = Field(default_factory=utcnow)


class GoldSettings(SQLModel, table=True):
    """How a study serves its gold pairs: ``rate`` of the pairs a rater is shown are gold;
    with ``qualify_n`` > 0 a rater's first ``qualify_n`` pairs are gold and a rater whose
    accuracy on them is below ``qualify_min`` gets no further pairs."""

    study_id: int = Field(foreign_key="study.id", primary_key=True)
    rate: float = Field(default=0.1, ge=0.0, le=1.0)
    qualify_n: int = Field(default=0, ge=0)
    qualify_min: float = Field(default=0.8, ge=0.0, le=1.0)


class Adjudication(SQLModel, table=True):
    """A reviewer's verdict on a disputed pair (``annotate.adjudication``), in canonical
    terms, with the reason. Every verdict is kept: the newest is the pair's adjudicated label,
    the older ones its history. Added in revision 0005."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    pair_id: int = Field(foreign_key="pair.id", index=True)
    user_id: int = Field(foreign_key="user.id", index=True)
    #: "a" | "b" | "tie", relative to output_a / output_b; ``strength`` as on Rating.
    preference: str = Field(max_length=3)
    strength: int | None = Field(default=None, ge=1, le=2)
    reason: str = Field(sa_column=Column(Text, nullable=False))
    #: Whether the reviewer saw the outputs blinded (as Response A / B, sides seeded).
    blinded: bool = Field(default=True)
    created_at: datetime = Field(default_factory=utcnow)


class ReviewSettings(SQLModel, table=True):
    """How a study's Review page shows a disputed pair: blinded (no system names, sides
    seeded) or not, and which judge's disagreement with the humans it lists."""

    study_id: int = Field(foreign_key="study.id", primary_key=True)
    blinded: bool = Field(default=True)
    judge: str | None = Field(default=None, max_length=300)
    #: A pair whose most frequent human answer has less than this share is "split"; None:
    #: split only when no answer has a strict majority.
    min_agreement: float | None = Field(default=None, ge=0.0, le=1.0)


# --- crowd participants (issue 19): a study's join link and who came through it. Revision 0005.


class ParticipantLink(SQLModel, table=True):
    """A link (``/join/TOKEN?PROLIFIC_PID=...``) through which crowd participants take part
    in a study without a password (``annotate.crowd``). Only the token's sha256 is stored."""

    id: int | None = Field(default=None, primary_key=True)
    study_id: int = Field(foreign_key="study.id", index=True)
    token_hash: str = Field(index=True, unique=True, max_length=64)
    #: Pairs each participant rates (gold pairs included).
    quota: int = Field(ge=1)
    #: Shown on the completion page; and/or the address it sends the participant back to.
    completion_code: str = Field(default="", max_length=200)
    redirect_url: str = Field(default="", max_length=1000)
    #: The query parameter carrying the participant's id (Prolific's PROLIFIC_PID, MTurk's
    #: workerId) and the others kept with it (STUDY_ID, SESSION_ID / assignmentId, hitId).
    id_param: str = Field(default="PROLIFIC_PID", max_length=100)
    extra_params: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    closed_at: datetime | None = None
    created_at: datetime = Field(default_factory=utcnow)


class Participant(SQLModel, table=True):
    """One crowd participant: the passwordless account bound to their id on a link."""

    __table_args__ = (UniqueConstraint("link_id", "external_id"),)
    id: int | None = Field(default=None, primary_key=True)
    link_id: int = Field(foreign_key="participantlink.id", index=True)
    user_id: int = Field(foreign_key="user.id", unique=True)
    external_id: str = Field(max_length=200)
    #: The link's other parameters as the participant arrived with them.
    extra: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)
    completed_at: datetime | None = None
