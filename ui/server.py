"""The served app: Streamlit's own ASGI app (``st.App``) running ``app.py``, plus the two HTTP
routes that set and clear the HttpOnly session cookie (``ui/routes.py``). ``sidebyside
serve`` and the browser tests run ``streamlit run ui/server.py``."""

import os
import sys
from pathlib import Path

import streamlit as st
from starlette.middleware import Middleware
from streamlit.runtime.pages_manager import PagesManager

from sidebyside.annotate.throttle import trusted_proxies
from sidebyside.ui.headers import SecurityHeaders
from sidebyside.ui.routes import routes

# `streamlit run` put this file's folder first on sys.path, which would make ui's own modules
# (common, errors, session) importable under bare names in the served process. Everything
# here is imported as ``sidebyside.…``, so take the folder out again.
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if not p or Path(p).resolve() != _HERE]

# app.py declares its pages with st.navigation. Until a first script run has called it,
# Streamlit guesses the legacy pages/-directory mode from the folder beside app.py, so the
# first browser session after a start would resolve a deep link (/study-results) against the
# file names: a "Page not found" dialog over the login form, and page files run without
# app.py's gate. Tell it up front that this app never uses that mode.
PagesManager.uses_pages_directory = False

# uvicorn (under st.App) rewrites the client address from X-Forwarded-For of the peers in
# FORWARDED_ALLOW_IPS, 127.0.0.1 unless set: only the proxies we were told to trust may do
# that ("-" matches no peer), so the login throttle's address cannot be forged from outside.
os.environ["FORWARDED_ALLOW_IPS"] = ",".join(trusted_proxies()) or "-"

app = st.App(
    Path(__file__).resolve().parent.parent / "app.py",
    routes=routes(),
    middleware=[Middleware(SecurityHeaders)],  # no framing by other sites (ui/headers.py)
)
