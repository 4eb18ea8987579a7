"""A killed export's hidden ``.partial`` file is removed by the next export of the same target
(issue 22), while a write still running in another process keeps its file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest

from sidebyside.foundation.atomic import write_atomic

STALL = (
    "import os, sys\n"
    "from sidebyside.foundation.atomic import write_atomic\n"
    "def stall(fd):\n"
    "    print('writing', flush=True)\n"
    "    sys.stdin.read()  # blocks until killed or told to go on\n"
    "os.fsync = stall\n"
    "write_atomic({target!r}, b'x' * 1000)\n"
)


def stalled_writer(target) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", STALL.format(target=str(target))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        cwd=os.getcwd(),
    )
    assert proc.stdout.readline().strip() == b"writing"  # its .partial file exists now
    return proc


@pytest.mark.slow
def test_the_next_export_removes_a_killed_ones_partial_file(tmp_path):
    target = tmp_path / "ratings.csv"
    proc = stalled_writer(target)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert len(list(tmp_path.glob(".ratings.csv.*.partial"))) == 1  # what a kill leaves
    write_atomic(target, b"fresh\n")
    assert target.read_bytes() == b"fresh\n"
    assert not list(tmp_path.glob(".ratings.csv.*.partial"))


@pytest.mark.slow
def test_a_write_running_elsewhere_keeps_its_file(tmp_path):
    target = tmp_path / "ratings.csv"
    proc = stalled_writer(target)
    try:
        write_atomic(target, b"mine\n")
        assert len(list(tmp_path.glob(".ratings.csv.*.partial"))) == 1  # the live one stays
    finally:
        proc.communicate(b"")  # let it finish: its rename works, nothing is left behind
    assert proc.returncode == 0
    assert target.read_bytes() == b"x" * 1000
    assert not list(tmp_path.glob(".ratings.csv.*.partial"))
