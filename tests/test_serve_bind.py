"""``sidebyside serve`` without ``--host`` listens on this machine only: a demo database has
well-known passwords, so the network must be asked for (``--host 0.0.0.0``). What it serves
refuses framing by other sites."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from sidebyside.cli.serve_cmd import DEFAULT_HOST, streamlit_command
from tests.browser_support import free_port

pytestmark = [pytest.mark.slow]

BIN = Path(sys.executable).parent


def _outward_address() -> str | None:
    """This machine's address on its default route (a UDP connect sends nothing)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = s.getsockname()[0]
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1):
            return True
    except OSError:
        return False


def test_the_command_binds_loopback_unless_told():
    assert f"--server.address={DEFAULT_HOST}" in streamlit_command(8501)
    assert "--server.address=0.0.0.0" in streamlit_command(8501, "0.0.0.0")


def test_serve_without_host_is_not_reachable_from_the_network(tmp_path):
    outward = _outward_address()
    if outward is None:
        pytest.skip("this machine has no non-loopback IPv4 address to test against")
    env = {k: v for k, v in os.environ.items() if not k.startswith("SIDEBYSIDE_")}
    env["SIDEBYSIDE_DATA_DIR"] = str(tmp_path)
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(BIN / "sidebyside"), "serve", "--port", str(port)],
            env=env,
            stdout=out,
            stderr=out,
        )
    try:
        deadline = time.monotonic() + 90
        while not _accepts("127.0.0.1", port):
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "the server never listened:\n" + log.read_text()
            time.sleep(0.2)
        assert not _accepts(outward, port), f"{outward}:{port} answered"
        # The served app refuses to be framed by other sites (ui/headers.py), pages and routes.
        for path in ("/", "/_session/end"):
            with httpx.Client(follow_redirects=False) as client:
                headers = client.get(f"http://127.0.0.1:{port}{path}").headers
            assert headers["x-frame-options"] == "DENY", path
            assert headers["content-security-policy"] == "frame-ancestors 'none'", path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
