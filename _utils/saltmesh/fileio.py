"""Files: atomic replacement and an exclusive lock file."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator

TMP_SUFFIX = ".saltmesh-tmp"  # with a leading dot: neither Nagios nor NRPE loads such a file


def write_atomic(path: str, data: bytes, mode: int = 0o644) -> None:
    """Replace ``path`` with ``data`` at once (a reader sees the old or the new file, whole)."""
    directory, name = os.path.split(os.path.abspath(path))
    tmp = os.path.join(directory, f".{name}{TMP_SUFFIX}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.chmod(tmp, mode)
    os.replace(tmp, path)


@contextlib.contextmanager
def locked(path: str | None) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created 0600) for the block; no-op for None."""
    if not path:
        yield
        return
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def host_lock_path(cachedir: str) -> str:
    """The one lock file of a host: every state and engine that writes Docker or OVS takes it."""
    return os.path.join(cachedir, "saltmesh", "host.lock")
