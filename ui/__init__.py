"""The Streamlit side of the app, shipped in the package: the served ASGI app and its login
routes, the browser session, the cached database session and the widgets the pages share."""
