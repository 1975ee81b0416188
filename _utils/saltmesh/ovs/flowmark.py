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
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Collection, Sequence

import msgpack

from saltmesh.fileio import write_atomic


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class Mark:
    """The mark of ``target`` (ovs-ofctl's switch argument) and ``cookie`` in ``cachedir``
    for the wanted ``rules`` (``(priority, match, actions)``) and the dump ``text``."""

    def __init__(
        self,
        cachedir: str | None,
        target: str,
        cookie: int,
        rules: Collection[Sequence],
        text: str,
    ):
        self.path = None
        if cachedir:
            name = _sha(f"{target}\0{cookie:#x}".encode())[:32]
            self.path = os.path.join(cachedir, "saltmesh", "flows", name)
        wanted = _sha(msgpack.packb([list(r) for r in rules]))
        self.line = f"{wanted} {_sha(text.encode())}\n".encode()

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
