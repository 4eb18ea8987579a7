"""The two HTTP routes of the login cookie, mounted by ``ui/server.py`` beside Streamlit's
own: ``/_session/start`` burns a ticket and sets the session cookie, ``/_session/end`` drops
it (see ``ui/session.py`` for the whole flow). They are edges: each owns its unit of work."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse
from starlette.routing import Route

from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.ui.join_routes import join_routes
from sidebyside.ui.navigation import base_path
from sidebyside.ui.tokens import (
    COOKIE,
    END_PATH,
    SESSION_HOURS,
    START_PATH,
    redeem_ticket,
    safe_next,
)


def _start(request: Request) -> RedirectResponse:
    token = request.query_params.get("ticket", "")
    with unit_of_work(init_db(get_engine())) as session:
        found = redeem_ticket(session, token) if token else None
    base = base_path()
    if found is None:  # back to the login form; nothing set
        return RedirectResponse(f"{base}/", status_code=303)
    cookie, next_path = found
    response = RedirectResponse(f"{base}{safe_next(next_path)}", status_code=303)
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )
    response.headers["Cache-Control"] = "no-store"
    return response


def _end(request: Request) -> RedirectResponse:
    response = RedirectResponse(f"{base_path()}/", status_code=303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="lax")
    response.headers["Cache-Control"] = "no-store"
    return response


def routes() -> list[Route]:
    """The routes ``ui/server.py`` mounts."""
    return [
        Route(START_PATH, _start, methods=["GET"]),
        Route(END_PATH, _end, methods=["GET"]),
        *join_routes(),  # crowd participants' /join/TOKEN (ui/join_routes.py)
    ]
