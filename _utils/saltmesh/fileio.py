"""Files: atomic replacement, an exclusive lock file, runs coalesced through a lock."""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import urllib.parse
from collections.abc import Callable, Iterator
from typing import TypeVar

from saltmesh.errors import SaltmeshError

T = TypeVar("T")

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


class LockTimeout(SaltmeshError):
    """A lock stayed held by someone else for longer than the caller would wait."""


@contextlib.contextmanager
def locked(
    path: str | None,
    *,
    timeout: float | None = None,
    shared: bool = False,
    create: bool = True,
) -> Iterator[None]:
    """Hold an ``flock`` on ``path`` (created 0600) for the block; no-op for None.

    ``timeout``: seconds to wait for another holder (None: wait forever), then
    :class:`LockTimeout`. ``shared``: a shared hold (readers), else exclusive. ``create=False``:
    never create the file (nor its directory); when it does not exist there is nothing to wait
    for and the block runs without a lock. Taking and releasing a lock never changes the file.
    """
    if not path:
        yield
        return
    if create:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    else:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            yield
            return
    try:
        _acquire(fd, path, fcntl.LOCK_SH if shared else fcntl.LOCK_EX, timeout)
        yield
    finally:
        os.close(fd)


def _acquire(fd: int, path: str, mode: int, timeout: float | None) -> None:
    if timeout is None:
        fcntl.flock(fd, mode)
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                raise LockTimeout(
                    f"lock {path} is held by another run; gave up after {timeout:g} s"
                ) from None
            time.sleep(0.05)


def coalesce(directory: str, request: str, work: Callable[[list[str]], T]) -> list[T]:
    """Run ``work`` for ``request``, at most one run at a time per ``directory``.

    The request is left in ``directory/pending`` first. Whoever holds ``directory/lock`` takes
    every pending request and calls ``work(requests)``, again while new ones arrived during
    the run; a caller that finds the lock held returns ``[]`` at once, its request being served
    by the holder. So a burst of N requests costs two runs of ``work``, not N. Returns the
    results of the runs this caller did.
    """
    pending = os.path.join(directory, "pending")
    os.makedirs(pending, mode=0o700, exist_ok=True)
    name = urllib.parse.quote(request, safe="")
    os.close(os.open(os.path.join(pending, name), os.O_WRONLY | os.O_CREAT, 0o600))
    results: list[T] = []
    while True:
        fd = os.open(os.path.join(directory, "lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return results  # the holder will see our request
            while names := sorted(os.listdir(pending)):
                for taken in names:
                    with contextlib.suppress(FileNotFoundError):
                        os.unlink(os.path.join(pending, taken))
                results.append(work([urllib.parse.unquote(n) for n in names]))
        finally:
            os.close(fd)
        # A request left after our last look and before the unlock found the lock held: serve
        # it (or let whoever holds the lock now do so).
        if not os.listdir(pending):
            return results
