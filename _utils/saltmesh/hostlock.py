"""The one host lock: every saltmesh state that changes Docker or Open vSwitch on a minion holds it.

A scheduled highstate, a manual ``state.sls``, the ``saltmesh_containers`` engine and direct
execution-module calls may run at the same moment on one minion (Salt only serialises *state*
runs, and only with ``queue=True``). Whatever changes the host's containers, their OVS
attachments or its bridges and tunnels holds this lock for the whole read-compare-write, so no
two runs attach the same container, create the same port or recreate the same container.

Usage from a loader module (``__opts__`` is the minion's)::

    from saltmesh import hostlock

    with hostlock.held(__opts__["cachedir"], test=__opts__["test"]):
        ...  # read, compare, write

* The file is ``<cachedir>/saltmesh/host.lock`` (:func:`path`); ``flock``, so a process that
  dies releases it.
* ``test=True`` never creates or changes anything: it takes a *shared* hold on the file when it
  exists (so a prediction does not read a half-applied change) and nothing when it does not.
* Re-entrant within one thread (a state holding it may call code that takes it again); other
  threads (a minion with ``multiprocessing: False``) and processes wait.
* Waiting is bounded: after ``timeout`` seconds :class:`~saltmesh.fileio.LockTimeout` (a
  SaltmeshError) says who to blame, and the caller fails cleanly.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator

from saltmesh import fileio

LOCK_FILE = os.path.join("saltmesh", "host.lock")
DEFAULT_TIMEOUT = 300.0

_held = threading.local()


def path(cachedir: str) -> str:
    """The host lock file of the minion whose cache directory is ``cachedir``."""
    return os.path.join(cachedir, LOCK_FILE)


@contextlib.contextmanager
def held(
    cachedir: str, *, test: bool = False, timeout: float | None = DEFAULT_TIMEOUT
) -> Iterator[None]:
    """Hold the host lock for the block (exclusive; shared and never created in test mode)."""
    lock = path(cachedir)
    depth = getattr(_held, "depth", None)
    if depth is None:
        depth = _held.depth = {}
    if depth.get(lock):  # this thread holds it already
        depth[lock] += 1
        try:
            yield
        finally:
            depth[lock] -= 1
        return
    with fileio.locked(lock, timeout=timeout, shared=test, create=not test):
        depth[lock] = 1
        try:
            yield
        finally:
            depth[lock] = 0
