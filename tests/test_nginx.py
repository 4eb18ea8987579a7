"""The deployment of README's "Running a study on a server", run for real (issue 22): Debian's
nginx in front of two ``sidebyside serve`` processes over one PostgreSQL database, with
websocket upgrades and sticky sessions (``ip_hash``), exactly the configuration README shows.
Through it, Chromium logs in and rates, and the login throttle counts the real client's
address, never the proxy's, and not an address the client wrote into X-Forwarded-For itself.

nginx reaches the app servers from 127.0.0.2 (``proxy_bind``), the one address given in
SIDEBYSIDE_TRUSTED_PROXIES, so the browser (127.0.0.1) and the proxy are told apart.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from sidebyside.annotate.auth import create_user
from sidebyside.foundation.db import drop_schema, get_engine, init_db, unit_of_work
from sidebyside.foundation.models import AuditEvent
from tests.browser_support import chromium, free_port, init_demo, log_in, serve_app, wait_idle

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PG_URL = os.environ.get("SIDEBYSIDE_TEST_POSTGRES_URL")
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
PROXY_ADDRESS = "127.0.0.2"
PASSWORD = "behind-nginx-2026"

#: README's nginx configuration (the http block), with the ports and temp paths filled in.
CONFIG = """
worker_processes 1;
daemon off;
pid {tmp}/nginx.pid;
error_log {tmp}/error.log;
events {{ worker_connections 256; }}
http {{
    access_log off;
    client_body_temp_path {tmp}/body;
    proxy_temp_path {tmp}/proxy;
    fastcgi_temp_path {tmp}/fastcgi;
    uwsgi_temp_path {tmp}/uwsgi;
    scgi_temp_path {tmp}/scgi;

    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ''      close;
    }}
    upstream sidebyside {{
        ip_hash;                      # sticky: a browser stays on one process
        server 127.0.0.1:{port_a};
        server 127.0.0.1:{port_b};
    }}
    server {{
        listen 127.0.0.1:{port};
        client_max_body_size 200m;
        location / {{
            proxy_pass http://sidebyside;
            proxy_bind {proxy};       # test only: the proxy's own address, told apart
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_read_timeout 1d;
        }}
    }}
}}
"""


@pytest.fixture
def pg_url():
    if not PG_URL:
        pytest.skip("needs SIDEBYSIDE_TEST_POSTGRES_URL (CI sets it)")
    if not Path(NGINX).exists():
        pytest.skip("needs Debian's nginx (apt-get install nginx)")
    engine = create_engine(PG_URL)
    drop_schema(engine)
    engine.dispose()
    return PG_URL


def start_nginx(tmp: Path, port: int, ports: list[int], stack: ExitStack) -> str:
    conf = tmp / "nginx.conf"
    conf.write_text(
        CONFIG.format(tmp=tmp, port=port, port_a=ports[0], port_b=ports[1], proxy=PROXY_ADDRESS)
    )
    log = open(tmp / "nginx.out", "wb")  # noqa: SIM115 - closed by the stack
    stack.callback(log.close)
    proc = subprocess.Popen([NGINX, "-c", str(conf), "-p", str(tmp)], stdout=log, stderr=log)

    def stop() -> None:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    stack.callback(stop)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"nginx exited: {(tmp / 'error.log').read_text(errors='replace')}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return url
        except OSError:
            pass
        time.sleep(0.3)  # polling a start-up, not a timing assert
    raise RuntimeError("nginx did not answer")


def clients(engine, action: str) -> list[str | None]:
    with Session(engine) as s:
        return list(s.exec(select(AuditEvent.client).where(AuditEvent.action == action)))


def test_behind_nginx_the_throttle_sees_the_real_client(pg_url, tmp_path, monkeypatch):
    init_demo(pg_url)
    engine = init_db(get_engine(pg_url))
    with unit_of_work(engine) as s:
        create_user(s, username="remote", password=PASSWORD)
    # Read by each served process: only nginx's address may speak for a client.
    monkeypatch.setenv("SIDEBYSIDE_TRUSTED_PROXIES", PROXY_ADDRESS)
    with ExitStack() as stack:
        urls = [stack.enter_context(serve_app(pg_url, tmp_path / f"s{i}.log")) for i in (0, 1)]
        ports = [int(u.rsplit(":", 1)[1]) for u in urls]
        url = start_nginx(tmp_path, free_port(), ports, stack)
        with chromium(tmp_path / "p") as page:
            # A client that forges the header itself: nginx appends what it saw.
            page.context.set_extra_http_headers({"X-Forwarded-For": "6.6.6.6"})
            page.goto(url)
            page.get_by_role("textbox", name="Username").fill("remote")
            box = page.get_by_role("textbox", name="Password")
            box.fill("not-the-password")
            box.press("Enter")
            page.get_by_text("Wrong username or password").wait_for()
            assert clients(engine, "login_failed") == ["127.0.0.1"]
            # The right password logs in through the proxy (websocket upgrade, the cookie's
            # redirect) and the session survives a reload on the sticky process.
            log_in(page, url, "remote", PASSWORD, landing="Annotate")
            page.reload()
            page.get_by_role("heading", name="Annotate").wait_for()
            wait_idle(page)
            assert page.get_by_role("textbox", name="Password").count() == 0
    assert clients(engine, "login") == ["127.0.0.1"]
    get_engine.cache_clear()
