"""Generated outputs and their provenance in the database: a source row per model and
settings, a ``Generation`` row per answer, each committed in its own short transaction as it
arrives (a crash loses at most the answers in flight)."""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Sequence

from sqlalchemy import insert
from sqlalchemy.engine import Engine as DbEngine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from sidebyside.foundation.models import Generation, GenerationSource, Study, utcnow
from sidebyside.generate.engines.base import Description, Result
from sidebyside.generate.params import DecodingParams, sha256_json
from sidebyside.generate.specs import ModelSpec

_CHUNK = 500  # keep IN (...) lists well under SQLite's variable limit


def fingerprint(spec: ModelSpec, description: Description, params: DecodingParams) -> str:
    """Everything about a source that changes its answers: the model's and adapter's content
    (their paths when a hash is unknown), the server, the chat template, the decoding
    parameters and the engine settings (dtype)."""
    return sha256_json(
        {
            "engine": spec.engine,
            "model": description.model_hash or spec.source,
            "server": [spec.source, spec.base_url] if spec.base_url else None,
            "adapter": description.adapter_hash or spec.adapter,
            "template": description.template_hash,
            "params": params.recorded(),
            "settings": description.settings,
        }
    )


def source_row(
    session: Session,
    *,
    study: Study,
    spec: ModelSpec,
    description: Description,
    params: DecodingParams,
    system_prompt_sha256: str | None = None,
) -> GenerationSource:
    """The study's provenance row of this source (created once per fingerprint); no commit."""
    fp = fingerprint(spec, description, params)
    found = session.exec(
        select(GenerationSource).where(
            GenerationSource.study_id == study.id,
            GenerationSource.system == spec.name,
            GenerationSource.fingerprint == fp,
        )
    ).first()
    if found is not None:
        return found
    recorded = params.recorded() | dict(description.settings)
    recorded["system_prompt_sha256"] = system_prompt_sha256
    row = GenerationSource(
        study_id=study.id,
        system=spec.name,
        source=spec.source if spec.engine != "openai" else spec.display,
        adapter=spec.adapter,
        engine=spec.engine,
        model_hash=description.model_hash,
        adapter_hash=description.adapter_hash,
        template_hash=description.template_hash,
        versions=dict(description.versions),
        params=recorded,
        seed=params.seed,
        fingerprint=fp,
    )
    session.add(row)
    session.flush()
    return row


def stored_keys(session: Session, *, study_id: int, keys: Sequence[str]) -> set[str]:
    """The keys among ``keys`` that already have an answer in the study."""
    found: set[str] = set()
    for i in range(0, len(keys), _CHUNK):
        found |= set(
            session.exec(
                select(Generation.cache_key).where(
                    Generation.study_id == study_id,
                    col(Generation.cache_key).in_(keys[i : i + _CHUNK]),
                )
            ).all()
        )
    return found


def stored_answers(
    session: Session, *, study_id: int, keys: Iterable[str]
) -> dict[str, Generation]:
    """cache key -> stored answer, for the keys that have one."""
    keys = list(keys)
    found: dict[str, Generation] = {}
    for i in range(0, len(keys), _CHUNK):
        for row in session.exec(
            select(Generation).where(
                Generation.study_id == study_id,
                col(Generation.cache_key).in_(keys[i : i + _CHUNK]),
            )
        ).all():
            found[row.cache_key] = row
    return found


def set_server_model(db: DbEngine, *, source_id: int, model_id: str) -> None:
    """Record the model id an OpenAI-compatible server reported (once known)."""
    with Session(db) as session:
        row = session.get(GenerationSource, source_id)
        if row is not None and row.model_hash != model_id:
            row.model_hash = model_id[:300]
            session.add(row)
            session.commit()


class GenerationWriter:
    """Commits answers as they arrive, on its own thread: what is queued while a commit runs
    goes in the next one (a group commit), so a fast concurrent engine never waits for the
    database and a crash loses only the answers of the last few milliseconds.
    ``close()`` waits for every queued answer to be committed and returns how many were new
    (an answer stored meanwhile by a concurrent run is skipped)."""

    def __init__(self, db: DbEngine, *, study_id: int, source_id: int) -> None:
        self.db, self.study_id, self.source_id = db, study_id, source_id
        self._queue: queue.Queue[Result | None] = queue.Queue()
        self.stored = 0
        self.tokens_out = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._drain, name="generation-writer", daemon=True)
        self._thread.start()

    def write(self, result: Result) -> None:
        if self._error is not None:
            raise self._error
        self._queue.put(result)

    def close(self) -> int:
        self._queue.put(None)
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self.stored

    def _row(self, result: Result) -> dict:
        return {
            "study_id": self.study_id,
            "source_id": self.source_id,
            "prompt_external_id": result.prompt_id,
            "cache_key": result.key,
            "text": result.text,
            "tokens_in": result.tokens_in,
            "tokens_out": result.tokens_out,
            "latency_s": result.latency_s,
            "finish_reason": result.finish_reason,
            "created_at": utcnow(),
        }

    def _drain(self) -> None:
        done = False
        while not done:
            batch = [self._queue.get()]
            while True:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            done = batch[-1] is None or None in batch
            results = [r for r in batch if r is not None]
            if results:
                try:
                    self._commit(results)
                except BaseException as exc:  # noqa: BLE001 - raised in the caller's thread
                    self._error = exc
                    return

    def _commit(self, results: list[Result]) -> None:
        rows = [self._row(r) for r in results]
        try:
            with self.db.begin() as conn:
                conn.execute(insert(Generation), rows)
            self.stored += len(rows)
            self.tokens_out += sum(r.tokens_out or 0 for r in results)
            return
        except IntegrityError:  # one of them stored meanwhile by a concurrent run
            pass
        for row, result in zip(rows, results, strict=True):
            try:
                with self.db.begin() as conn:
                    conn.execute(insert(Generation), [row])
            except IntegrityError:
                continue
            self.stored += 1
            self.tokens_out += result.tokens_out or 0
