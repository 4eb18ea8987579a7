"""The served app: Streamlit's own ASGI app (``st.App``) running ``app.py``, plus the two HTTP
routes that set and clear the HttpOnly session cookie (``ui/session.py``). ``sidebyside
serve`` and the browser tests run ``streamlit run ui/server.py``."""

from pathlib import Path

import streamlit as st

from ui.session import routes

app = st.App(Path(__file__).resolve().parent.parent / "app.py", routes=routes())
