"""Security headers on every HTTP response of the served app.

A page that rates pairs with one key press must not be framed by another site (a clickjacking
page could make an annotator vote, or type a password, through an invisible frame), so every
response says so twice: ``X-Frame-Options: SAMEORIGIN`` for older browsers and the CSP
``frame-ancestors 'self'`` for current ones (the app's own origin stays allowed, for anything
Streamlit itself shows in a frame). ``nosniff`` stops a browser from guessing a
download's type. A pure ASGI middleware, so Streamlit's own pages, its static files and our
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
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"content-security-policy", b"frame-ancestors 'self'"),
    (b"x-content-type-options", b"nosniff"),
)


class SecurityHeaders:
    """Adds ``SECURITY_HEADERS`` to each HTTP response that does not set them itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # the websocket carries no page to frame
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in SECURITY_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
