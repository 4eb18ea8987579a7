"""Security headers on every HTTP response of the served app.

A page that rates pairs with one key press must not be framed by another site (a clickjacking
page could make an annotator vote, or type a password, through an invisible frame), so every
response says so twice: ``X-Frame-Options: DENY`` for older browsers and the CSP
``frame-ancestors 'none'`` for current ones. Nothing of ours frames our own pages (no custom
components; ``st.html`` and the charts render in the page itself), so not even the app's own
origin needs to. ``nosniff`` stops a browser from guessing a
download's type. Streamlit's Prometheus endpoint ``/_stcore/metrics`` answers 404: it is
not needed by the app and would tell anyone without a login how busy it is. A pure ASGI
middleware, so Streamlit's own pages, its static files and our
cookie routes all get the headers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
)


#: Streamlit endpoints switched off (matched at the end of the path, under any base path).
BLOCKED_PATHS = ("/_stcore/metrics",)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to each HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the websocket carries no page to frame
            await self.app(scope, receive, send)
            return
        if scope.get("path", "").rstrip("/").endswith(BLOCKED_PATHS):
            await send(
                {
                    "type": "http.response.start",
                    "status": 404,
                    "headers": [(b"content-type", b"text/plain"), *SECURITY_HEADERS],
                }
            )
            await send({"type": "http.response.body", "body": b"Not found"})
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
