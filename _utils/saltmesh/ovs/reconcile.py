"""Reconcile OVS to a desired state: plan on the run's snapshot, apply as one transaction.

:class:`Reconciler` is what the ``ovs`` execution module (and through it every ovs_* and
openvswitch_* state) calls. A plan is a function ``snapshot -> (clauses, changes)`` from the
diff modules; :meth:`Reconciler.apply` runs it against the cached snapshot, writes through the
:class:`~saltmesh.ovs.ovsdb.Ovsdb` it is given, and retries once on a fresh read if the
transaction fails (OVS may have changed behind the cache). Errors are
:class:`~saltmesh.errors.SaltmeshError`.

Every write holds the host lock (:mod:`saltmesh.hostlock`, of the minion whose cache directory is
``cachedir``) from the read it is planned on to the end of its transaction, so two runs on one host (a
scheduled highstate and a manual ``state.sls``, the containers engine) never interleave their
read-compare-write. Test mode takes no lock and creates no file.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Collection, Mapping, MutableMapping, Sequence
from typing import Any

from saltmesh import hostlock, proc
from saltmesh.errors import SaltmeshError
from saltmesh.ovs import batch, flowmark
from saltmesh.ovs.cache import SnapshotCache
from saltmesh.ovs.clauses import Changes, Clause, normalise
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.flows import Rule, diff_rules, parse_dump
from saltmesh.ovs.openflow import Ofctl
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.record import blank_record, diff_record
from saltmesh.ovs.schema import Snapshot

log = logging.getLogger(__name__)

Plan = Callable[[Snapshot | None], tuple[list[Clause], Changes]]

# Tables whose records an earlier state of the same run may create (test mode plans on empty).
CREATED_BY_STATES = ("Bridge", "Port", "Interface")


class Reconciler:
    """Plans and writes for ``db``, with the snapshot cached in ``store`` (``__context__``).

    ``cachedir``: the minion's, whose host lock every write holds (``None``: no lock, for tests
    of the core); ``lock_timeout``: seconds to wait for it (minion option
    ``saltmesh:lock_timeout``).
    """

    def __init__(
        self,
        db: Ovsdb,
        store: MutableMapping[str, Any],
        cachedir: str | None = None,
        lock_timeout: float | None = hostlock.DEFAULT_TIMEOUT,
    ):
        self.db = db
        self.cache = SnapshotCache(store, db)
        self.cachedir = cachedir
        self.lock_timeout = lock_timeout

    @classmethod
    def from_options(
        cls, get: Callable[..., Any], store: MutableMapping[str, Any], cachedir: str | None
    ) -> Reconciler:
        """The Reconciler of a minion: its OVSDB (:meth:`Ovsdb.from_options`), the run's
        ``__context__`` as ``store``, its host lock waited for ``saltmesh:lock_timeout``
        seconds; ``get`` is Salt's ``config.get``."""
        timeout = get("saltmesh:lock_timeout", hostlock.DEFAULT_TIMEOUT)
        return cls(Ovsdb.from_options(get), store, cachedir=cachedir, lock_timeout=float(timeout))

    def apply(
        self,
        plan: Plan,
        *,
        test: bool = False,
        names: Collection[str] | None = None,
        use_cache: bool = False,
        reads: bool = True,
    ) -> dict[str, Any]:
        """Run ``plan`` and (unless ``test``) apply its clauses in one transaction.

        ``reads=False``: the plan reads no snapshot (it gets ``None``) and a write drops the
        cache. ``names``: the bridges/ports/interfaces the plan looks at (``None``: anything,
        so a cached snapshot is used only when nothing was written since it was read).
        ``use_cache`` reuses the run's snapshot instead of reading afresh. Outside test mode
        the host lock is held from the read to the end of the write. Returns
        ``{"changes", "clauses"}``.
        """
        with self._lock(test):
            return self._apply(plan, test, names, use_cache, reads)

    def _apply(
        self, plan: Plan, test: bool, names: Collection[str] | None, use_cache: bool, reads: bool
    ) -> dict[str, Any]:
        snap = self.cache.get(refresh=not use_cache, names=names) if reads else None
        clauses, changes = plan(snap)
        if clauses and not test:
            try:
                self.db.transact(clauses)
            except SaltmeshError:
                self.cache.drop()
                snap = self.cache.get(refresh=True) if reads else None
                clauses, changes = plan(snap)
                self.db.transact(clauses)
            if reads:
                self.cache.written(clauses, snap)
            else:
                self.cache.drop()
        return {"changes": changes, "clauses": [list(c) for c in clauses]}

    def sync_flows(
        self,
        ofctl: Ofctl,
        bridge: str,
        cookie: int,
        rules: Collection[Rule],
        *,
        test: bool = False,
        early: proc.Pending | None = None,
    ) -> dict[str, Any]:
        """Make the rules of ``bridge`` carrying ``cookie`` exactly ``rules``, in ONE OpenFlow
        bundle (rules with any other cookie are never read, changed or removed).

        Returns ``{"changes": {"flows": {"old": [...], "new": [...]}}, "lines": [...]}``
        (``{}`` changes when in sync). In test mode a bridge that does not exist yet (an
        earlier part of the same run creates it) counts as holding no rule. A dump with the
        same bytes as the last one found in sync with these rules is not parsed again
        (:mod:`saltmesh.ovs.flowmark`).

        ``early``: the same dump, started by the caller before other work (``Ofctl.dump_start``).
        If it is the one found in sync, the run is in sync as of that dump; otherwise it is
        dropped and the rules are read again under the lock, which any write plans on.
        """
        target, want = ofctl.target(bridge), flowmark.wanted(rules)
        if early is not None:
            try:
                if flowmark.Mark(self.cachedir, target, cookie, want, early.output()).holds():
                    return {"changes": {}, "lines": []}
            except SaltmeshError:
                pass  # e.g. no such bridge yet: read below, as without it
        with self._lock(test):
            text = ""
            if not test or bridge in self.cache.get(refresh=True).bridges:
                text = ofctl.dump_text(bridge, cookie)
            mark = flowmark.Mark(self.cachedir, target, cookie, want, text)
            if mark.holds():
                return {"changes": {}, "lines": []}
            lines, changes = diff_rules(cookie, [Rule(*r) for r in rules], parse_dump(text))
            if lines and not test:
                ofctl.bundle(bridge, lines)
            elif not lines and not test:
                mark.keep()
        return {"changes": {"flows": changes} if changes else {}, "lines": lines}

    def transact(self, clauses: Any) -> None:
        """Run user-given clauses as one transaction under the host lock; the cache is dropped
        (unknown effect)."""
        clauses = normalise(clauses)
        if not clauses:
            return
        self.cache.drop()
        with self._lock(False):
            self.db.transact(clauses)

    def _lock(self, test: bool):
        """The host lock for a write; a prediction takes none (it reads one OVSDB snapshot,
        which a transaction changes all at once, so it cannot see half a change)."""
        if self.cachedir is None or test:
            return contextlib.nullcontext()
        return hostlock.held(self.cachedir, timeout=self.lock_timeout)

    def run_op(
        self, op: str, kwargs: Mapping[str, Any], *, test: bool = False, use_cache: bool = False
    ) -> dict[str, Any]:
        """One ovs_port/ovs_bridge op (:data:`saltmesh.ovs.batch.OPS`) alone, in its own
        transaction: ``{"changes", "clauses"}``, plus ``errors`` for an in-sync port (what
        vswitchd reports on its interfaces)."""
        seen: dict[str, Any] = {}

        def plan(snap: Snapshot | None) -> tuple[list[Clause], Changes]:
            clauses, changes, seen["errors"] = batch.plan_op(op, kwargs, snap, test=test)
            return clauses, changes

        out = self.apply(plan, test=test, names=batch.looks(op, kwargs), use_cache=use_cache)
        if seen.get("errors") is not None:
            out["errors"] = seen["errors"]
        return out

    def apply_batch(
        self, items: Sequence[batch.Item], *, use_cache: bool = False
    ) -> dict[str, dict[str, Any]]:
        """Plan ``items`` together (:func:`saltmesh.ovs.batch.plan`) and write them as ONE
        transaction under the host lock, retried once on a fresh read. Returns each batched
        item's outcome by tag (items left out of the batch have none); when the transaction
        fails twice, every item that had something to write gets ``{"error": ...}``."""
        try:
            names: set[str] | None = set().union(*(batch.looks(i.op, i.kwargs) for i in items))
        except TypeError:  # a name of the wrong shape: its item fails alone in the plan
            names = None
        with self._lock(False):
            snap = self.cache.get(refresh=not use_cache, names=names)
            planned = batch.plan(items, snap)
            if planned.clauses:
                try:
                    self.db.transact(planned.clauses)
                except SaltmeshError:
                    self.cache.drop()
                    snap = self.cache.get(refresh=True)
                    planned = batch.plan(items, snap)
                    try:
                        self.db.transact(planned.clauses)
                    except SaltmeshError as err:
                        self.cache.drop()
                        return batch.failed_transaction(planned, str(err))
                self.cache.written(planned.clauses, snap)
            log.debug(
                "saltmesh.ovs batch: %d states, %d written in %d transaction(s)",
                len(planned.outcomes),
                len(planned.writers),
                1 if planned.clauses else 0,
            )
            return planned.outcomes

    def ensure_port(
        self,
        name: str,
        bridge: str,
        type: str | None = None,
        *,
        test: bool = False,
        use_cache: bool = False,
        **fields: Any,
    ) -> dict[str, Any]:
        """Bring port ``name`` to ``fields`` (see :class:`PortSpec`); ``type=None`` leaves the
        type of an existing port alone (a new port is a system port).

        A port already in sync also gets ``errors``: what vswitchd reports on its interfaces.
        """
        kwargs = {"name": name, "bridge": bridge, "type": type, **fields}
        return self.run_op("ensure_port", kwargs, test=test, use_cache=use_cache)

    def remove_port(
        self, name: str, bridge: str | None = None, *, test: bool = False, use_cache: bool = False
    ) -> dict[str, Any]:
        """Delete port ``name`` (only from ``bridge`` when given)."""
        kwargs = {"name": name, "bridge": bridge}
        return self.run_op("remove_port", kwargs, test=test, use_cache=use_cache)

    def ensure_bridge(
        self, name: str, *, test: bool = False, use_cache: bool = False, **fields: Any
    ) -> dict[str, Any]:
        """Bring bridge ``name`` to the given columns (see :func:`diff_bridge`)."""
        kwargs = {"name": name, **fields}
        return self.run_op("ensure_bridge", kwargs, test=test, use_cache=use_cache)

    def remove_bridge(
        self, name: str, *, test: bool = False, use_cache: bool = False
    ) -> dict[str, Any]:
        """Delete bridge ``name`` (real or fake) and its ports."""
        return self.run_op("remove_bridge", {"name": name}, test=test, use_cache=use_cache)

    def ensure_record(
        self, table: str, record: str, data: Any, *, test: bool = False
    ) -> dict[str, Any]:
        """Set columns of any record; map columns key by key (see :func:`diff_record`).

        In test mode a missing Bridge/Port/Interface record is planned from empty, as an
        earlier state of the same run may create it.
        """
        if not isinstance(data, dict) or not data:
            raise SpecError(f"{table} {record}: data must be a non-empty mapping of columns")

        def plan(_snap: Snapshot | None) -> tuple[list[Clause], Changes]:
            try:
                have = self.db.get_record(table, record)
            except SaltmeshError as err:
                if not (test and table in CREATED_BY_STATES and "no row" in str(err)):
                    raise SpecError(f"{table} {record}: {err}") from None
                have = blank_record(data)
            return diff_record(table, record, data, have)

        return self.apply(plan, test=test, reads=False)
