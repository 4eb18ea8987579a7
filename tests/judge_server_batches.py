"""The batch endpoints of the loopback judge server, in both wire formats.

OpenAI: ``POST /v1/files`` (multipart upload of the JSONL requests), ``POST /v1/batches``,
``GET /v1/batches/{id}``, ``POST /v1/batches/{id}/cancel``, ``GET /v1/files/{id}/content``.
Anthropic: ``POST /v1/messages/batches``, ``GET /v1/messages/batches/{id}``,
``POST /v1/messages/batches/{id}/cancel``, ``GET /v1/messages/batches/{id}/results``.

A batch stays running while ``hold`` is set; otherwise the first retrieve after creation
answers every request with the scripted judge and ends it. ``outcome(custom_id, index)``
picks each request's fate: ``"ok"``, ``"error"`` (a per-request HTTP 400) or ``"expired"``.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.judge_server import LoopbackServer

Response = tuple[int, bytes]
_OPENAI_BATCH = re.compile(r"^/v1/batches/([\w-]+)(/cancel)?$")
_OPENAI_FILE = re.compile(r"^/v1/files/([\w-]+)/content$")
_ANTHROPIC_BATCH = re.compile(r"^/v1/messages/batches/([\w-]+)(/cancel|/results)?$")


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


def _multipart_file(headers: Any, raw: bytes) -> bytes:
    """The ``file`` part of a multipart/form-data body."""
    boundary = re.search(r"boundary=\"?([^\";]+)", headers.get("content-type", "")).group(1)
    for part in raw.split(b"--" + boundary.encode()):
        head, _, body = part.partition(b"\r\n\r\n")
        if b'name="file"' in head:
            return body.removesuffix(b"\r\n")
    raise ValueError("no file part")


class Batches:
    def __init__(self, server: LoopbackServer, reply, openai_body, anthropic_body):
        self.server = server
        # The single-request wire formats, from the server module (which imports this one).
        self._reply, self._openai_body, self._anthropic_body = reply, openai_body, anthropic_body
        self.hold = False
        self.outcome: Callable[[str, int], str] = lambda custom_id, index: "ok"
        self.files: dict[str, bytes] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        #: Batch create requests received, per wire format.
        self.created = {"openai": 0, "anthropic": 0}
        self._lock = threading.Lock()
        self._n = 0

    def _id(self, prefix: str) -> str:
        with self._lock:
            self._n += 1
            return f"{prefix}_{self._n:06d}"

    def handle(self, method: str, path: str, headers: Any, raw: bytes) -> Response | None:
        """The response to a batch request, or None when ``path`` is not a batch endpoint."""
        if method == "POST" and path == "/v1/files":
            return self._upload(headers, raw)
        if method == "POST" and path == "/v1/batches":
            return self._openai_create(json.loads(raw))
        if method == "POST" and path == "/v1/messages/batches":
            return self._anthropic_create(json.loads(raw))
        if m := _OPENAI_FILE.match(path):
            data = self.files.get(m.group(1))
            return (200, data) if data is not None else (404, b'{"error": {"message": "no file"}}')
        if m := _OPENAI_BATCH.match(path):
            return self._openai_batch(m.group(1), cancel=bool(m.group(2)))
        if m := _ANTHROPIC_BATCH.match(path):
            return self._anthropic_batch(m.group(1), m.group(2) or "")
        return None

    # -- shared --------------------------------------------------------------------------
    def _answer(self, batch: dict[str, Any]) -> None:
        """End a running batch: every request answered, failed or expired (or cancelled)."""
        if batch["state"] == "ended" or (self.hold and batch["state"] == "running"):
            return
        results = []
        for index, (custom_id, body) in enumerate(batch["requests"]):
            fate = "canceled" if batch["state"] == "canceling" else self.outcome(custom_id, index)
            text = self.server.judge(_messages(body), body) if fate == "ok" else ""
            results.append((custom_id, body, fate, text))
        batch["results"], batch["state"], batch["ended_at"] = results, "ended", time.time()

    def _counts(self, batch: dict[str, Any]) -> dict[str, int]:
        fates = [fate for _, _, fate, _ in batch.get("results", [])]
        return {fate: fates.count(fate) for fate in ("ok", "error", "expired", "canceled")}

    # -- OpenAI --------------------------------------------------------------------------
    def _upload(self, headers: Any, raw: bytes) -> Response:
        file_id = self._id("file")
        self.files[file_id] = _multipart_file(headers, raw)
        return 200, json.dumps(self._file(file_id, "batch")).encode()

    def _file(self, file_id: str, purpose: str) -> dict[str, Any]:
        data = self.files[file_id]
        return {
            "id": file_id,
            "object": "file",
            "bytes": len(data),
            "created_at": 0,
            "filename": f"{file_id}.jsonl",
            "purpose": purpose,
            "status": "processed",
        }

    def _openai_create(self, body: dict[str, Any]) -> Response:
        data = self.files.get(body.get("input_file_id", ""))
        if data is None:
            return 400, b'{"error": {"message": "input_file_id not found"}}'
        lines = [json.loads(line) for line in data.decode().splitlines() if line.strip()]
        batch_id = self._id("batch")
        self.batches[batch_id] = {
            "wire": "openai",
            "state": "running",
            "created_at": time.time(),
            "input_file_id": body["input_file_id"],
            "requests": [(line["custom_id"], line["body"]) for line in lines],
        }
        with self._lock:
            self.created["openai"] += 1
        return 200, json.dumps(self._openai_view(batch_id)).encode()

    def _openai_batch(self, batch_id: str, cancel: bool) -> Response:
        batch = self.batches.get(batch_id)
        if batch is None or batch["wire"] != "openai":
            return 404, b'{"error": {"message": "no such batch"}}'
        if cancel and batch["state"] == "running":
            batch["state"] = "canceling"
            return 200, json.dumps(self._openai_view(batch_id)).encode()
        self._answer(batch)
        return 200, json.dumps(self._openai_view(batch_id)).encode()

    def _openai_view(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        if "view" in batch:  # an ended batch's files are written once
            return batch["view"]
        view = {
            "id": batch_id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "completion_window": "24h",
            "input_file_id": batch["input_file_id"],
            "created_at": int(batch["created_at"]),
            "status": {"running": "in_progress", "canceling": "cancelling"}.get(batch["state"]),
            "output_file_id": None,
            "error_file_id": None,
            "request_counts": {"total": len(batch["requests"]), "completed": 0, "failed": 0},
        }
        if batch["state"] != "ended":
            return view
        counts = self._counts(batch)
        view["status"] = (
            "cancelled" if counts["canceled"] else "expired" if counts["expired"] else "completed"
        )
        view["request_counts"].update(completed=counts["ok"], failed=counts["error"])
        out, err = [], []
        for custom_id, body, fate, text in batch["results"]:
            if fate == "ok":
                reply = self._reply(text=text)
                response = json.loads(self._openai_body(body, reply, self.server.confidence))
                out.append(
                    {
                        "id": f"r-{custom_id[:8]}",
                        "custom_id": custom_id,
                        "error": None,
                        "response": {"status_code": 200, "body": response},
                    }
                )
            elif fate == "error":
                body = {"error": {"message": "scripted invalid request", "type": "x"}}
                err.append(
                    {
                        "custom_id": custom_id,
                        "error": None,
                        "response": {"status_code": 400, "body": body},
                    }
                )
            else:
                code = "batch_cancelled" if fate == "canceled" else "batch_expired"
                err.append(
                    {
                        "custom_id": custom_id,
                        "response": None,
                        "error": {"code": code, "message": f"request {fate}"},
                    }
                )
        for key, lines in (("output_file_id", out), ("error_file_id", err)):
            if lines:
                file_id = f"{batch_id}-{key[:3]}"
                self.files[file_id] = "".join(json.dumps(x) + "\n" for x in lines).encode()
                view[key] = file_id
        batch["view"] = view
        return view

    # -- Anthropic -----------------------------------------------------------------------
    def _anthropic_create(self, body: dict[str, Any]) -> Response:
        batch_id = self._id("msgbatch")
        self.batches[batch_id] = {
            "wire": "anthropic",
            "state": "running",
            "created_at": time.time(),
            "requests": [(r["custom_id"], r["params"]) for r in body.get("requests", [])],
        }
        with self._lock:
            self.created["anthropic"] += 1
        return 200, json.dumps(self._anthropic_view(batch_id)).encode()

    def _anthropic_batch(self, batch_id: str, action: str) -> Response:
        batch = self.batches.get(batch_id)
        if batch is None or batch["wire"] != "anthropic":
            return 404, b'{"type": "error", "error": {"type": "not_found_error", "message": "x"}}'
        if action == "/cancel" and batch["state"] == "running":
            batch["state"] = "canceling"
        elif action == "/results":
            lines = []
            for custom_id, body, fate, text in batch.get("results", []):
                if fate == "ok":
                    message = json.loads(self._anthropic_body(body, self._reply(text=text)))
                    result = {"type": "succeeded", "message": message}
                elif fate == "error":
                    error = {"type": "invalid_request_error", "message": "scripted invalid"}
                    result = {"type": "errored", "error": {"type": "error", "error": error}}
                else:
                    result = {"type": fate}
                lines.append(json.dumps({"custom_id": custom_id, "result": result}))
            return 200, ("\n".join(lines) + "\n").encode()
        else:
            self._answer(batch)
        return 200, json.dumps(self._anthropic_view(batch_id)).encode()

    def _anthropic_view(self, batch_id: str) -> dict[str, Any]:
        batch = self.batches[batch_id]
        ended = batch["state"] == "ended"
        counts = self._counts(batch)
        n = len(batch["requests"])
        return {
            "id": batch_id,
            "type": "message_batch",
            "processing_status": {"running": "in_progress", "canceling": "canceling"}.get(
                batch["state"], "ended"
            ),
            "request_counts": {
                "processing": 0 if ended else n,
                "succeeded": counts["ok"],
                "errored": counts["error"],
                "expired": counts["expired"],
                "canceled": counts["canceled"],
            },
            "created_at": _iso(batch["created_at"]),
            "expires_at": _iso(batch["created_at"] + timedelta(days=1).total_seconds()),
            "ended_at": _iso(batch["ended_at"]) if ended else None,
            "archived_at": None,
            "cancel_initiated_at": None,
            "results_url": (
                f"{self.server.anthropic_url}/v1/messages/batches/{batch_id}/results"
                if ended
                else None
            ),
        }


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = list(body.get("messages", []))
    if body.get("system"):
        messages.insert(0, {"role": "system", "content": body["system"]})
    return messages
