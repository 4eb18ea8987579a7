"""Issue 9 finding 10: the server's API key goes only to the provider's official host or to a
base URL the operator configured, never to a URL typed into a spec or on the Judges page."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("openai")

from sidebyside.foundation.settings import get_settings  # noqa: E402
from sidebyside.judge.providers import api_key, key_withheld, load_judge  # noqa: E402
from sidebyside.judge.specs import parse_spec  # noqa: E402

KEY = "sk-server-secret-123"


def _call(spec) -> None:
    """One real request through the SDK client the judge built (GET /models)."""

    async def go() -> None:
        judge = load_judge(spec)
        try:
            await judge.client.models.list()
        finally:
            await judge.aclose()

    asyncio.run(go())


@pytest.fixture
def server() -> Iterator[tuple[str, list[str]]]:
    """A loopback OpenAI-compatible server that records the Authorization header it gets."""
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

        def do_GET(self) -> None:  # noqa: N802
            seen.append(self.headers.get("Authorization", ""))
            body = b'{"object": "list", "data": []}'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(autouse=True)
def _env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    for var in ("OPENAI_BASE_URL", "SIDEBYSIDE_API_KEY_BASE_URLS"):
        monkeypatch.delenv(var, raising=False)
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_a_spec_typed_url_gets_no_key_and_says_so(server):
    url, seen = server
    spec = parse_spec(f"openai:any-model@{url}")
    assert "not sent" in (key_withheld(spec) or "") and url in key_withheld(spec)
    _call(spec)
    assert seen and KEY not in seen[-1]


def test_operator_configured_urls_and_the_official_host_get_the_key(server, monkeypatch):
    url, seen = server
    monkeypatch.setenv("SIDEBYSIDE_API_KEY_BASE_URLS", f"https://other.example/v1, {url}/")
    get_settings.cache_clear()
    spec = parse_spec(f"openai:any-model@{url}")
    assert key_withheld(spec) is None
    _call(spec)
    assert seen[-1] == f"Bearer {KEY}"
    assert api_key(parse_spec("openai:gpt-4o-mini")) == KEY  # the official host


def test_the_sdk_base_url_variable_counts_as_configured(server, monkeypatch):
    url, seen = server
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    _call(parse_spec("openai:any-model"))
    assert seen[-1] == f"Bearer {KEY}"
    # the same host on another port is another server
    port = int(url.split(":")[2].split("/")[0])
    other = url.replace(f":{port}/", f":{port % 60000 + 1}/")
    assert key_withheld(parse_spec(f"openai:m@{other}")) is not None
