"""The address of the browser behind a script run, for the login throttle: the websocket's
TCP peer, or the address a trusted proxy put in ``X-Forwarded-For``
(``annotate.throttle.client_address``; proxies from ``SIDEBYSIDE_TRUSTED_PROXIES``).

``st.context.ip_address`` is not enough: it is None for a loopback peer, which is every
client of a reverse proxy on the same machine (and of a local browser), so the per-address
throttle never applied. The peer is read from the session's client context instead."""

from __future__ import annotations

import streamlit as st

from sidebyside.annotate.throttle import client_address, trusted_proxies


def _peer() -> str | None:
    try:
        from streamlit import runtime
        from streamlit.runtime.scriptrunner import get_script_run_ctx

        ctx = get_script_run_ctx()
        client = runtime.get_instance().get_client(ctx.session_id) if ctx else None
        context = getattr(client, "client_context", None)
        peer = getattr(context, "remote_ip", None)
    except Exception:  # noqa: BLE001 - AppTest and bare mode have no connection
        peer = None
    return peer if isinstance(peer, str) and peer else st.context.ip_address


def request_client() -> str | None:
    """This browser's address as the throttle counts it (None when unknown)."""
    try:
        forwarded = st.context.headers.get("X-Forwarded-For")
    except Exception:  # noqa: BLE001 - no headers outside a served page
        forwarded = None
    return client_address(_peer(), forwarded, trusted_proxies())
