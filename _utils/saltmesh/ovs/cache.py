"""The per-run snapshot cache: one OVSDB read for a whole state run, dirty names after writes.

The cache lives in a plain dict the caller owns (Salt's ``__context__``, created afresh for
each state run), under :data:`KEY`. After a write, the names of the bridges/ports/interfaces
it touched are marked dirty (:func:`saltmesh.ovs.clauses.touched_names`), and only a reader
looking at one of them reads again. Reads go through the given :class:`~saltmesh.ovs.ovsdb.Ovsdb`.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any

from saltmesh.ovs.clauses import touched_names
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.schema import Snapshot

KEY = "saltmesh.ovs.snapshot"


class SnapshotCache:
    """The snapshot of ``db`` cached in ``store`` as ``{"db", "snap", "dirty"}``."""

    def __init__(self, store: MutableMapping[str, Any], db: Ovsdb):
        self.store = store
        self.db = db

    def get(self, *, refresh: bool = False, names: Iterable[str] | None = None) -> Snapshot:
        """The cached snapshot, or a fresh read (then cached).

        ``refresh`` reads again. ``names``: the bridges/ports/interfaces the caller is going
        to look at; the cached copy is re-read only if an earlier write touched one of them
        (``None``: re-read after any write). A cache of another OVSDB target is not used.
        """
        cached = self.store.get(KEY)
        if not refresh and cached is not None and cached["db"] == self.db.db:
            dirty = cached["dirty"]
            if not dirty or (names is not None and not dirty.intersection(names)):
                return cached["snap"]
        snap = self.db.snapshot()
        self.store[KEY] = {"db": self.db.db, "snap": snap, "dirty": set()}
        return snap

    def drop(self) -> None:
        """Forget the cached snapshot (after a write whose effect is unknown)."""
        self.store.pop(KEY, None)

    def written(self, clauses: Sequence[Sequence[str]], snap: Snapshot) -> None:
        """After a successful write planned on ``snap``: mark what it touched as dirty.

        The cache is dropped when ``snap`` is not the cached snapshot or when what the clauses
        touch cannot be told.
        """
        cached = self.store.get(KEY)
        if cached is None or cached["snap"] is not snap:
            self.drop()
            return
        touched = touched_names(clauses, snap)
        if touched is None:
            self.drop()
        else:
            cached["dirty"].update(touched)
