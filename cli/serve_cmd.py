"""``sidebyside serve``: start the packaged Streamlit app from any directory."""

from __future__ import annotations

import os
import sys
from importlib.resources import files
from pathlib import Path

import typer

from sidebyside.foundation.errors import ConfigError

#: Streamlit settings of the app, passed as flags so they hold wherever the server starts
#: (a ``.streamlit/config.toml`` is read only from the working directory).
STREAMLIT_FLAGS = {
    "client.toolbarMode": "minimal",
    # Tracebacks (SQL, server paths) stay in the server log; pages show an error id instead.
    "client.showErrorDetails": "none",
    "browser.gatherUsageStats": "false",
    "server.headless": "true",
    "server.maxUploadSize": "200",
    # The installed app never changes while it runs; watching files only costs inotify watches.
    "server.fileWatcherType": "none",
}


def app_path() -> Path:
    """The app's entry script, found through the package (never through a bare ``app``
    module on the path): ``sidebyside/app.py`` beside ``sidebyside/pages/``."""
    root = Path(str(files("sidebyside")))
    if not (root / "app.py").is_file() or not (root / "pages").is_dir():
        raise ConfigError(f"the sidebyside app (app.py and pages/) is not in {root}")
    return root / "app.py"


def server_path() -> Path:
    """What ``streamlit run`` starts: ``sidebyside/ui/server.py``, an ``st.App`` serving app.py
    plus the HTTP routes of the login cookie (see ui/routes.py)."""
    return app_path().parent / "ui" / "server.py"


#: Where ``serve`` listens unless ``--host`` says otherwise: this machine only. A demo database
#: has well-known passwords, so reaching it from the network is something to ask for.
DEFAULT_HOST = "127.0.0.1"


def streamlit_command(port: int, host: str = DEFAULT_HOST) -> list[str]:
    # -P: the working directory is not put on sys.path, so a folder of the user's own that
    # shadows a library (or one of our subpackage names) cannot change what the server imports.
    cmd = [sys.executable, "-P", "-m", "streamlit", "run", str(server_path())]
    flags = dict(STREAMLIT_FLAGS, **{"server.port": str(port)})
    flags["server.address"] = host
    return cmd + [f"--{name}={value}" for name, value in flags.items()]


def serve(
    port: int = typer.Option(8501, help="Port to listen on."),
    host: str = typer.Option(
        DEFAULT_HOST,
        help="Address to bind: this machine only by default; 0.0.0.0 for every interface "
        "(a server behind TLS).",
    ),
) -> None:
    """Serve the web app (database from SIDEBYSIDE_DATABASE_URL or the default data directory)."""
    from sidebyside.foundation.db import init_db
    from sidebyside.foundation.settings import get_settings

    cmd = streamlit_command(port, host)
    init_db()
    typer.echo(f"database: {get_settings().database_url}", err=True)
    shown = "localhost" if host == DEFAULT_HOST else host
    typer.echo(f"serving http://{shown}:{port}", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    # Become the server: signals (Ctrl-C, a supervisor's SIGTERM) reach Streamlit directly and
    # no orphan is left behind.
    os.execv(cmd[0], cmd)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve)
