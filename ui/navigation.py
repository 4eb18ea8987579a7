"""Sending the browser to another address of this app from a Streamlit script run."""

from __future__ import annotations

import html
import json
from urllib.parse import urlsplit

import streamlit as st

#: Session-state key of a navigation the next run sends the browser on (see
#: ``navigate_after_rerun``).
GO_KEY = "_go_to"


def base_path() -> str:
    """The server's ``baseUrlPath`` as a prefix of our paths (``""`` or ``"/base"``)."""
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}" if base else ""


def current_path() -> str:
    """The path of the page being shown (for "log in, then go back there")."""
    try:
        path = urlsplit(st.context.url or "").path or "/"
    except Exception:  # noqa: BLE001 - AppTest and bare mode have no URL
        return "/"
    base = base_path()
    if base and path.startswith(base):
        path = path[len(base) :] or "/"
    return path


def go_to(url: str) -> None:
    """Send the browser to a URL of this app. Our own constant script; the URL is built by
    the caller from a random token and a checked path, and JSON-quoted here besides."""
    st.html(
        f"<script>window.location.replace({html.escape(json.dumps(url), quote=False)});</script>",
        unsafe_allow_javascript=True,
    )


def navigate_after_rerun(url: str) -> None:
    """Ask the next script run to send the browser to ``url`` (a callback or a run that ends
    in ``st.rerun()`` cannot: the rerun would drop the script before the browser runs it)."""
    st.session_state[GO_KEY] = url


def pending_navigation() -> bool:
    """Called once per run by app.py: carries out ``navigate_after_rerun``. True when this run
    sends the browser away (nothing may rerun the script before it has: a rerun would drop the
    script element unrun)."""
    url = st.session_state.pop(GO_KEY, None)
    if url:
        go_to(url)
    return bool(url)
