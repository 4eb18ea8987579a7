"""Write a file all at once or not at all.

The bytes go to a temporary file beside the target, are flushed to disk, and only then
renamed over it: a crash, a full disk or ``kill -9`` midway leaves the previous file (or no
file) and never a partial one. The rename is atomic on POSIX and Windows (``os.replace``).

A writer killed midway leaves its hidden ``.NAME.*.partial`` file behind; the next write of
the same target removes such leftovers. A writer holds an advisory lock on its own temporary
file while it writes (POSIX), so a leftover is one whose lock can be taken: a write running
at the same moment in another process is never touched.
"""

from __future__ import annotations

import contextlib
import glob
import os
import tempfile
from pathlib import Path


def _lock(fd: int, *, wait: bool) -> bool:
    """An exclusive advisory lock on ``fd`` (True), or False when another process holds it;
    True without locking where there is no ``fcntl`` (Windows)."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: leftovers are kept, never a live file
        return wait
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
    except OSError:
        return False
    return True


def remove_leftovers(target: Path) -> list[Path]:
    """Remove the ``.partial`` files killed writers of ``target`` left; the ones removed."""
    removed = []
    for leftover in target.parent.glob(f".{glob.escape(target.name)}.*.partial"):
        try:
            fd = os.open(leftover, os.O_RDONLY)
        except OSError:
            continue
        try:
            if _lock(fd, wait=False):  # nobody is writing it any more
                with contextlib.suppress(OSError):
                    leftover.unlink()
                    removed.append(leftover)
        finally:
            os.close(fd)
    return removed


def write_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; on any error the target is left as it was
    and the temporary file is removed (OSError propagates). Leftovers of killed earlier
    writes of the same target are removed first."""
    target = Path(path)
    remove_leftovers(target)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
    # A lock of its own open file, held until the rename: marks the file as being written.
    lock_fd = os.open(tmp, os.O_RDONLY)
    _lock(lock_fd, wait=True)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())  # the bytes are on disk before the name points at them
        with contextlib.suppress(OSError):
            # mkstemp makes the file 0600; an export should get the usual permissions
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    finally:
        os.close(lock_fd)
