"""ui/headers.py: every HTTP response of the served app refuses framing by other sites."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient

from sidebyside.ui.headers import SECURITY_HEADERS, SecurityHeaders


async def _page(request):
    return PlainTextResponse("page")


async def _own(request):
    return PlainTextResponse("own", headers={"X-Frame-Options": "SAMEORIGIN"})


async def _socket(websocket):
    await websocket.accept()
    await websocket.send_text("hello")
    await websocket.close()


APP = Starlette(
    routes=[
        Route("/", _page),
        Route("/own", _own),
        Route("/_stcore/metrics", _page),
        Route("/base/_stcore/metrics", _page),
        WebSocketRoute("/ws", _socket),
    ],
    middleware=[Middleware(SecurityHeaders)],
)


def test_every_response_refuses_other_sites_frames():
    response = TestClient(APP).get("/")
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert len(SECURITY_HEADERS) == 3


def test_a_response_that_sets_its_own_header_keeps_it_once():
    response = TestClient(APP).get("/own")
    assert response.headers.get_list("x-frame-options") == ["SAMEORIGIN"]
    assert response.headers["content-security-policy"] == "frame-ancestors 'none'"


def test_websockets_pass_through():
    with TestClient(APP).websocket_connect("/ws") as ws:
        assert ws.receive_text() == "hello"


def test_streamlits_metrics_endpoint_is_off():
    """Issue 22: /_stcore/metrics answered anyone without a login."""
    for path in ("/_stcore/metrics", "/base/_stcore/metrics/"):
        response = TestClient(APP).get(path)
        assert response.status_code == 404 and response.text == "Not found", path
        assert response.headers["x-frame-options"] == "DENY"
    assert TestClient(APP).get("/").status_code == 200
