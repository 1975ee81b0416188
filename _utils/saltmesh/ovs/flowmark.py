"""The last rule dump found in sync, so that the same dump is not parsed and diffed again.

A no-op run of the flow topology must read back every rule of its cookie to see drift (10,000
at 1,000 hosts); parsing and diffing them costs about as much as reading them. After a run
that parsed a dump and found it equal to the plan, :meth:`Mark.keep` records two digests: of
the wanted rules and of the dump's bytes. A later run whose dump has the same bytes for the
same wanted rules is in sync without parsing (:meth:`Mark.holds`). The same bytes are the same
rules, so a mark saves time and never hides drift; a dump that differs in any byte (a rule
changed, added, removed, or only printed in another order) is parsed as before.

Marks live in ``<cachedir>/saltmesh/flows/`` (0600, written atomically, one per switch, bridge
and cookie); test mode never writes one. A mark that cannot be read or written is a miss.

:class:`EarlyDump` starts the dump before the caller knows its plan: at the bridge and cookie
the same caller read last time (:func:`last_read`), corrected once the plan is known.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Collection, Sequence
from typing import Any

import msgpack

from saltmesh.fileio import write_atomic


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def wanted(rules: Collection[Sequence]) -> str:
    """The digest of the wanted ``rules`` (``(priority, match, actions)``) a mark is for."""
    return _sha(msgpack.packb([list(r) for r in rules]))


class Mark:
    """The mark of ``target`` (ovs-ofctl's switch argument) and ``cookie`` in ``cachedir``
    for the rules of digest ``want`` (:func:`wanted`) and the dump ``text``."""

    def __init__(self, cachedir: str | None, target: str, cookie: int, want: str, text: str):
        self.path = None
        if cachedir:
            name = _sha(f"{target}\0{cookie:#x}".encode())[:32]
            self.path = os.path.join(cachedir, "saltmesh", "flows", name)
        self.line = f"{want} {_sha(text.encode())}\n".encode()

    def holds(self) -> bool:
        """Whether the last dump found in sync had these bytes, for these rules."""
        if self.path is None:
            return False
        try:
            with open(self.path, "rb") as fh:
                return fh.read() == self.line
        except OSError:
            return False

    def keep(self) -> None:
        """Record that this dump is in sync with these rules (best effort)."""
        if self.path is None:
            return
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            write_atomic(self.path, self.line, 0o600)
        except OSError:
            pass  # a mark that cannot be written costs time, never correctness


def _hint_path(cachedir: str, who: str) -> str:
    return os.path.join(cachedir, "saltmesh", "flows", "read-" + _sha(who.encode())[:32])


def last_read(cachedir: str | None, who: str) -> tuple[str, int] | None:
    """The bridge and cookie ``who`` (e.g. a state's id) read last time, if known."""
    if not cachedir:
        return None
    try:
        with open(_hint_path(cachedir, who), encoding="utf-8") as fh:
            bridge, cookie = json.load(fh)
        return str(bridge), int(cookie)
    except (OSError, ValueError, TypeError):
        return None


def note_read(cachedir: str | None, who: str, bridge: str, cookie: int) -> None:
    """Remember that ``who`` reads ``bridge`` and ``cookie`` (best effort; not in test mode)."""
    if not cachedir or last_read(cachedir, who) == (bridge, cookie):
        return
    path = _hint_path(cachedir, who)
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_atomic(path, json.dumps([bridge, cookie]).encode(), 0o600)
    except OSError:
        pass


class EarlyDump:
    """At most one dump started ahead (``start(bridge, cookie)`` returns a pending read with
    ``output()`` and ``close()``, or ``None``). :meth:`want` makes it the dump of ``target``;
    :attr:`pending` is that read; :meth:`close` ends it (always call it)."""

    def __init__(self, start: Callable[[str, int], Any]):
        self._start = start
        self.target: tuple[str, int] | None = None
        self.pending: Any = None

    def want(self, target: tuple[str, int] | None) -> None:
        if target == self.target:
            return
        self.close()
        self.target = target
        if target is not None:
            self.pending = self._start(*target)

    def close(self) -> None:
        if self.pending is not None:
            self.pending.close()
        self.target, self.pending = None, None
