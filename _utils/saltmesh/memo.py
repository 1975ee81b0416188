"""A disk memo for pure results computed from the pillar, keyed by the pillar's content.

Validating a 10,000-container pillar costs a docker host most of a no-op run; the result
depends only on the pillar, the arguments and this code. :func:`cached` keeps the last few
results in ``<cachedir>/saltmesh/memo/`` under a digest of all three, so an unchanged pillar
is read back instead of computed again. A changed pillar (or a new saltmesh) is a new key:
the memo can be missing or stale, never wrong. Errors are not kept. Files are written whole
and atomically (0600, in the minion's own cache directory); a file that does not load is a
miss.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import msgpack

from saltmesh.fileio import write_atomic

T = TypeVar("T")

KEEP = 8  # results kept per directory; the oldest are removed past this
_SUFFIX = ".pickle"


def _code_stamp() -> bytes:
    """This package's files (name, size, mtime): a new saltmesh is a new key."""
    root = os.path.dirname(os.path.abspath(__file__))
    parts = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))
                parts.append(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}")
    return "\n".join(parts).encode()


def digest(pillar: Mapping[str, Any], *args: Any) -> str:
    """A digest of the ``servers`` and ``saltmesh`` pillar keys, ``args`` and this code."""
    data = [pillar.get("servers"), pillar.get("saltmesh"), list(args)]
    packed = msgpack.packb(data, default=repr, strict_types=False)
    return hashlib.sha256(_code_stamp() + b"\0" + packed).hexdigest()


def cached(
    cachedir: str | None,
    key: str,
    compute: Callable[[], T],
    *,
    write: bool = True,
) -> T:
    """``compute()``, or the result it gave for ``key`` before (from ``<cachedir>``).

    ``write=False`` (test mode) reads the memo but never writes it. No ``cachedir``: no memo.
    """
    if not cachedir:
        return compute()
    folder = os.path.join(cachedir, "saltmesh", "memo")
    path = os.path.join(folder, key + _SUFFIX)
    try:
        with open(path, "rb") as fh:
            return pickle.load(fh)
    except Exception:  # missing, truncated or from another Python: a miss, rewritten below
        pass
    result = compute()
    if write:
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            write_atomic(path, pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL), 0o600)
            _prune(folder)
        except OSError:
            pass  # a memo that cannot be written costs time, never correctness
    return result


def _prune(folder: str) -> None:
    entries = []
    for entry in os.scandir(folder):
        if entry.name.endswith(_SUFFIX):
            entries.append((entry.stat().st_mtime_ns, entry.path))
    for _mtime, path in sorted(entries, reverse=True)[KEEP:]:
        with contextlib.suppress(OSError):
            os.unlink(path)
