"""A loopback HTTP server speaking the OpenAI Chat Completions and Anthropic Messages wire
formats, so the real SDK code paths run in tests and benchmarks without the internet.

It answers as a scripted judge (``judge``: (messages, request body) -> completion text),
adds ``latency`` to every request, and plays queued ``faults`` first (429 with Retry-After,
500, malformed or truncated bodies, non-JSON text, answers slower than the client's
timeout). Chat completions asked for ``logprobs`` carry per-token log-probabilities; the
verdict token's alternatives give the shown winner probability ``confidence`` (a server
attribute) and split the rest between the other verdicts. It counts every request and the
most requests in flight at once. Run it standalone (``python tests/judge_server.py
--latency 0.1``) to serve from another process; ``GET /_stats`` returns the count.
"""

from __future__ import annotations

import argparse
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

try:
    from tests.judge_server_batches import Batches
except ModuleNotFoundError:  # run as a script: python tests/judge_server.py
    from judge_server_batches import Batches

_TAG = re.compile(r"<(response_a|response_b|response)>\n?(.*?)\n?</\1>", re.DOTALL)


def shown_responses(messages: list[dict[str, Any]]) -> dict[str, str]:
    """The response texts inside the judge prompt, by tag (response_a, response_b, response)."""
    text = "\n".join(str(m.get("content", "")) for m in messages)
    return {m.group(1): m.group(2) for m in _TAG.finditer(text)}


def verdict(winner: str, reasoning: str = "scripted") -> str:
    return json.dumps({"reasoning": reasoning, "winner": winner})


def longest_judge(messages: list[dict[str, Any]], body: dict[str, Any] | None = None) -> str:
    """Prefers the longer response (pairwise); scores by length (single)."""
    shown = shown_responses(messages)
    if "response" in shown:
        n = len(shown["response"])
        overall = max(1, min(10, n // 10))
        crit = re.findall(r'"([^"]+)": <\d+-\d+>', messages[0]["content"])
        return json.dumps(
            {"reasoning": f"{n} chars", "scores": dict.fromkeys(crit, 3), "overall": overall}
        )
    a, b = len(shown.get("response_a", "")), len(shown.get("response_b", ""))
    return verdict("A" if a > b else "B" if b > a else "tie", f"A={a} B={b}")


def always_a_judge(messages: list[dict[str, Any]], body: dict[str, Any] | None = None) -> str:
    return verdict("A", "A is shown first")


class _Server(ThreadingHTTPServer):
    request_queue_size = 1024  # the default backlog of 5 drops bursts of connects for 1 s
    daemon_threads = True


@dataclass
class Reply:
    """One scripted reply. ``text``: the judge's answer; ``body``: raw bytes sent instead of a
    well-formed body; ``delay``: extra seconds before answering (beyond the client timeout =
    a timeout)."""

    status: int = 200
    text: str | None = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def rate_limited(retry_after: float) -> Reply:
    return Reply(status=429, headers={"Retry-After": f"{retry_after:g}"})


def server_error() -> Reply:
    return Reply(status=500)


def malformed() -> Reply:
    return Reply(body=b'{"id": "x", "choices": [{"message": {"content": "tru')


def timeout(seconds: float) -> Reply:
    return Reply(delay=seconds)


class LoopbackServer:
    """Start with ``with LoopbackServer(...) as server``; ``openai_url`` and ``anthropic_url``
    are the base URLs to give the SDKs."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        judge: Callable[[list[dict[str, Any]], dict[str, Any]], str] = longest_judge,
        port: int = 0,
    ):
        self.latency = latency
        self.judge = judge
        #: Answer a Messages request carrying ``output_config`` with HTTP 400, as the API does
        #: for a model without structured output.
        self.refuse_structured = False
        #: P(the verdict the judge wrote), in the log-probabilities of chat completions.
        self.confidence = 0.8
        #: Answer chat completions asking for logprobs with HTTP 400 (a server without them).
        self.refuse_logprobs = False
        #: The batch endpoints of both wire formats (tests/judge_server_batches.py).
        self.batches = Batches(self, Reply, _openai_body, _anthropic_body)
        self.faults: deque[Reply] = deque()
        self.requests: list[dict[str, Any]] = []
        self.times: list[float] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._httpd = _Server(("127.0.0.1", port), self._handler())
        self._httpd.daemon_threads = True
        self.port = self._httpd.server_address[1]
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    @property
    def openai_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        with self._lock:
            return len(self.requests)

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.times.clear()
            self.faults.clear()
            self.max_in_flight = 0

    def __enter__(self) -> LoopbackServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def _reply_for(self, path: str, body: dict[str, Any]) -> Reply:
        with self._lock:
            self.requests.append({"path": path, "body": body})
            self.times.append(time.monotonic())
            fault = self.faults.popleft() if self.faults else None
        if fault is not None and fault.text is None and fault.body is None and fault.status == 200:
            fault.text = self.judge(_messages(body), body)  # a pure delay (timeout) still answers
        return fault or Reply(text=self.judge(_messages(body), body))

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # else delayed ACKs add ~40 ms to every reply

            def log_message(self, *args: object) -> None:  # keep test output clean
                return None

            def _batch(self, method: str, raw: bytes = b"") -> bool:
                path = self.path.split("?", 1)[0]
                try:
                    answer = server.batches.handle(method, path, self.headers, raw)
                except (ValueError, KeyError, AttributeError) as exc:
                    answer = (400, json.dumps({"error": {"message": str(exc)}}).encode())
                if answer is not None:
                    self._send(*answer)
                return answer is not None

            def do_GET(self) -> None:  # noqa: N802
                if self._batch("GET"):
                    return
                if self.path == "/_stats":
                    stats = {
                        "requests": server.count,
                        "max_in_flight": server.max_in_flight,
                        "batches_created": server.batches.created,
                    }
                    self._send(200, json.dumps(stats).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("content-length", 0))
                raw = self.rfile.read(length)
                if self._batch("POST", raw):
                    return
                if self.path == "/_reset":
                    server.reset()
                    self._send(200, b"{}")
                    return
                if self.path == "/_hold":  # {"hold": bool}: keep batches running, or not
                    server.batches.hold = bool(json.loads(raw or b"{}").get("hold"))
                    self._send(200, b"{}")
                    return
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, b'{"error": {"message": "bad json"}}')
                    return
                if server.refuse_logprobs and body.get("logprobs"):
                    with server._lock:
                        server.requests.append({"path": self.path, "body": body})
                    message = "logprobs are not supported by this model"
                    self._send(400, json.dumps({"error": {"message": message}}).encode())
                    return
                if server.refuse_structured and "output_config" in body:
                    with server._lock:
                        server.requests.append({"path": self.path, "body": body})
                    message = "output_config.format: structured outputs are not supported"
                    error = {"type": "invalid_request_error", "message": message}
                    self._send(400, json.dumps({"type": "error", "error": error}).encode())
                    return
                reply = server._reply_for(self.path, body)
                with server._lock:
                    server.in_flight += 1
                    server.max_in_flight = max(server.max_in_flight, server.in_flight)
                try:
                    time.sleep(server.latency + reply.delay)
                finally:
                    with server._lock:
                        server.in_flight -= 1
                if self.path.endswith("/chat/completions"):
                    payload = _openai_body(body, reply, server.confidence)
                elif self.path.endswith("/messages"):
                    payload = _anthropic_body(body, reply)
                else:
                    self._send(404, b'{"error": {"message": "unknown path"}}')
                    return
                try:
                    self._send(reply.status, payload, reply.headers)
                except (BrokenPipeError, ConnectionResetError):  # client gave up (timeout)
                    return

            def _send(self, status: int, payload: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                for key, value in (headers or {}).items():
                    self.send_header(key, value)
                self.end_headers()
                self.wfile.write(payload)

        return Handler


def _messages(body: dict[str, Any]) -> list[dict[str, Any]]:
    messages = list(body.get("messages", []))
    if body.get("system"):  # Anthropic puts the system prompt beside the messages
        messages.insert(0, {"role": "system", "content": body["system"]})
    return messages


def _tokens(body: dict[str, Any]) -> int:
    return sum(len(str(m.get("content", ""))) for m in _messages(body)) // 4


_TOKENS = re.compile(r"\w+|\s+|[^\w\s]")
_VERDICT_AT = re.compile(r'"winner"\s*:\s*"')


def _logprobs(text: str, confidence: float) -> dict[str, Any]:
    """Per-token log-probabilities of ``text`` (words, spaces and punctuation are tokens, so
    the verdict value after ``"winner": "`` is one token); its alternatives share the rest."""
    import math

    verdict = list(_VERDICT_AT.finditer(text))
    at = verdict[-1].end() if verdict else -1
    content, offset = [], 0
    for token in _TOKENS.findall(text):
        tops = [{"token": token, "logprob": 0.0}]
        if offset == at:
            rest = 1.0 - confidence
            others = [t for t in ("A", "B", "tie") if t != token]
            tops = [
                {"token": token, "logprob": math.log(confidence)},
                {"token": others[0], "logprob": math.log(rest * 0.75) if rest else -9999.0},
                {"token": others[1], "logprob": math.log(rest * 0.25) if rest else -9999.0},
                {"token": "The", "logprob": -12.0},
            ]
        content.append({"token": token, "logprob": tops[0]["logprob"], "top_logprobs": tops})
        offset += len(token)
    return {"content": content}


def _openai_body(body: dict[str, Any], reply: Reply, confidence: float = 0.8) -> bytes:
    if reply.body is not None:
        return reply.body
    if reply.status != 200:
        return json.dumps({"error": {"message": f"scripted {reply.status}", "type": "x"}}).encode()
    text = reply.text or ""
    return json.dumps(
        {
            "id": "chatcmpl-loopback",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body.get("model", ""),
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": "stop",
                    "logprobs": _logprobs(text, confidence) if body.get("logprobs") else None,
                }
            ],
            "usage": {
                "prompt_tokens": _tokens(body),
                "completion_tokens": len(text) // 4,
                "total_tokens": _tokens(body) + len(text) // 4,
            },
        }
    ).encode()


def _anthropic_body(body: dict[str, Any], reply: Reply) -> bytes:
    if reply.body is not None:
        return reply.body
    if reply.status != 200:
        kind = "rate_limit_error" if reply.status == 429 else "api_error"
        return json.dumps(
            {"type": "error", "error": {"type": kind, "message": f"scripted {reply.status}"}}
        ).encode()
    text = reply.text or ""
    return json.dumps(
        {
            "id": "msg_loopback",
            "type": "message",
            "role": "assistant",
            "model": body.get("model", ""),
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": _tokens(body), "output_tokens": len(text) // 4},
        }
    ).encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = LoopbackServer(latency=args.latency, port=args.port)
    print(server.port, flush=True)
    server._httpd.serve_forever()


if __name__ == "__main__":
    main()
