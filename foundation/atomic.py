"""Write a file all at once or not at all.

The bytes go to a temporary file beside the target, are flushed to disk, and only then
renamed over it: a crash, a full disk or ``kill -9`` midway leaves the previous file (or no
file) and never a partial one. The rename is atomic on POSIX and Windows (``os.replace``).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def write_atomic(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically; on any error the target is left as it was
    and the temporary file is removed (OSError propagates)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial")
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
