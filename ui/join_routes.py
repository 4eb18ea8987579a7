"""``/join/TOKEN``: a crowd participant's way in (annotate/crowd.py). The route finds or
creates the participant of the id the recruiting site put in the query, then signs the
browser in through the login cookie's own ticket (ui/routes.py) and lands on Annotate. A
refusal (a closed or unknown link, no id, a browser already taking part as someone else) is
a plain page saying why. An edge: it owns its unit of work."""

from __future__ import annotations

from html import escape
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from sidebyside.annotate.crowd import JoinRefused, join
from sidebyside.foundation.db import get_engine, init_db, unit_of_work
from sidebyside.ui.navigation import base_path
from sidebyside.ui.tokens import COOKIE, START_PATH, issue_ticket, resolve

JOIN_PATH = "/join/{token}"
LANDING = "/rate"
_PAGE = (
    "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'><title>sidebyside</title>"
    "</head><body style='font-family: sans-serif; max-width: 40rem; margin: 4rem auto'>"
    "<h1>Cannot join</h1><p id='refusal'>{message}</p></body></html>"
)


def _join(request: Request) -> Response:
    token = request.path_params.get("token", "")
    with unit_of_work(init_db(get_engine())) as session:
        signed_in = resolve(session, request.cookies.get(COOKIE))
        current = signed_in[0].id if signed_in else None
        try:
            participant = join(
                session, token=token, params=dict(request.query_params), current_user_id=current
            )
        except JoinRefused as exc:
            refusal = str(exc)
        else:
            refusal = None
            ticket = None
            if participant.user_id != current:
                ticket = issue_ticket(session, user_id=participant.user_id, next_path=LANDING)
    if refusal is not None:
        response: Response = HTMLResponse(_PAGE.format(message=escape(refusal)), status_code=403)
    elif ticket is None:  # already this participant's browser: straight back to the pairs
        response = RedirectResponse(f"{base_path()}{LANDING}", status_code=303)
    else:
        target = f"{base_path()}{START_PATH}?ticket={ticket}&next={quote(LANDING)}"
        response = RedirectResponse(target, status_code=303)
    response.headers["Cache-Control"] = "no-store"
    return response


def join_routes() -> list[Route]:
    return [Route(JOIN_PATH, _join, methods=["GET"])]
