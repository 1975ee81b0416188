"""Batched port and bridge states: many ``ovs_port``/``ovs_bridge`` states, ONE transaction. Pure.

The four state functions ``ovs_port.present/absent`` and ``ovs_bridge.present/absent`` are
*ops* (:data:`OPS`) of the :class:`~saltmesh.ovs.reconcile.Reconciler`, each planned by
:func:`plan_op` on a snapshot: the same code whether a state runs alone or in a batch.

A batch is built in two steps:

* :func:`saltmesh.ovs.chunks.select` takes the state being run and the chunks that follow it
  in the run's lowstate (Salt's ``__lowstate__``, in execution order) while they are
  ovs_port/ovs_bridge chunks that Salt would simply run in that order: no condition (``onchanges``, ``onlyif``,
  ``prereq``...), and only ``require``/``watch`` requisites that already succeeded in this
  run or name earlier chunks of the same batch. The first chunk that is anything else ends
  the batch (it runs alone, later, in its place). A chunk that requires a state that already
  failed is left out (Salt will not run it).
* :func:`plan` plans the candidates in order on ONE snapshot. A chunk is kept only when its
  plan on that snapshot is exactly the plan it would get run alone after the earlier ones:
  it looks at no bridge/port/interface an earlier chunk of the batch writes, except the
  existence of a bridge an earlier chunk created (a new port on a new bridge) or updated. The
  first chunk that would see a difference ends the batch. A chunk whose validation fails
  gets its error alone (it writes nothing, so the others are unaffected); with ``failhard``
  the batch ends there. Chunks that require a failed one are left out.

Every outcome is what :meth:`Reconciler.run_op` returns for the chunk alone:
``{"changes", "clauses"}`` (plus ``errors`` for an in-sync port), or ``{"error": message}``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from saltmesh.errors import SaltmeshError
from saltmesh.ovs.bridge import diff_bridge, remove_bridge
from saltmesh.ovs.clauses import Changes, Clause, touched_names
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.port import diff_port, members_of, remove_port
from saltmesh.ovs.schema import Bridge, Snapshot
from saltmesh.ovs.spec import BRIDGE_ARGS, PortSpec
from saltmesh.ovs.views import interface_errors
from saltmesh.stateret import unexpected

log = logging.getLogger(__name__)

# (state module, function) -> the Reconciler op it runs
OPS: dict[tuple[str, str], str] = {
    ("ovs_port", "present"): "ensure_port",
    ("ovs_port", "absent"): "remove_port",
    ("ovs_bridge", "present"): "ensure_bridge",
    ("ovs_bridge", "absent"): "remove_bridge",
}
# The parameters of each state function (tests/unit/ovs/test_batch.py compares them with the
# signatures in _states/), required ones first.
PORT_FIELDS = (
    "type", "options", "external_ids", "iface_external_ids", "protected", "tag", "trunks",
    "vlan_mode", "mtu_request", "bfd", "interfaces", "bond_mode", "lacp", "other_config",
)  # fmt: skip
PARAMS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ensure_port": (("name", "bridge"), PORT_FIELDS),
    "remove_port": (("name",), ("bridge",)),
    "ensure_bridge": (("name",), tuple(sorted(BRIDGE_ARGS))),
    "remove_bridge": (("name",), ()),
}


@dataclass(frozen=True)
class Item:
    """One chunk of a batch: its Salt tag, the op, the op's arguments (``None`` dropped)."""

    tag: str
    op: str
    kwargs: dict[str, Any]
    requires: tuple[str, ...] = ()  # tags of earlier items of the batch it requires
    failhard: bool = False

    @property
    def name(self) -> str:
        return self.kwargs["name"]

    def as_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "op": self.op,
            "kwargs": dict(self.kwargs),
            "requires": list(self.requires),
            "failhard": self.failhard,
        }

    @classmethod
    def from_dict(cls, data: Any) -> Item:
        """An item from its :meth:`as_dict` form; :class:`SpecError` when it is not one."""
        try:
            item = cls(
                tag=str(data["tag"]),
                op=data["op"],
                kwargs=dict(data["kwargs"]),
                requires=tuple(data.get("requires") or ()),
                failhard=bool(data.get("failhard")),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise SpecError(f"batch item {data!r}: {err!r}") from None
        if item.op not in PARAMS or op_kwargs(item.op, item.kwargs) is None:
            raise SpecError(f"batch item {item.tag}: unknown op or missing argument")
        return item


def op_kwargs(op: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
    """The op's arguments from a state call's or a chunk's arguments (``None`` values
    dropped, unknown keys ignored as Salt ignores them); ``None`` when a required one is
    missing or a value is a Salt slot (resolved only when Salt calls the state)."""
    required, optional = PARAMS[op]
    if any(args.get(k) is None for k in required):
        return None
    out = {k: _plain(args[k]) for k in (*required, *optional) if args.get(k) is not None}
    if _has_slot(out):
        return None
    return out


def _has_slot(value: Any) -> bool:
    """Whether a Salt slot (``__slot__:...``) is anywhere in ``value``."""
    if isinstance(value, str):
        return value.startswith("__slot__:")
    if isinstance(value, Mapping):
        return any(_has_slot(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(_has_slot(v) for v in value)
    return False


def _plain(value: Any) -> Any:
    """A frozen Salt value (``ImmutableDict``/``ImmutableList``) as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


# --- one op on one snapshot ---------------------------------------------------------------


def looks(op: str, kwargs: Mapping[str, Any]) -> set[str]:
    """The bridge/port/interface names an op's plan looks at."""
    name = kwargs["name"]
    if op == "ensure_port":
        members = kwargs.get("interfaces") or (name,)
        return {name, kwargs["bridge"], *members}
    if op == "remove_port":
        return {name, kwargs.get("bridge")} - {None}
    if op == "ensure_bridge":
        return {name, kwargs.get("parent")} - {None}
    return {name}


def plan_op(
    op: str, kwargs: Mapping[str, Any], snap: Snapshot, *, test: bool = False
) -> tuple[list[Clause], Changes, dict[str, str] | None]:
    """Clauses, changes and (an in-sync port) vswitchd's interface errors of one op.

    ``test=True`` plans a port on a bridge (a fake bridge on a parent) that does not exist
    yet against an empty one, as an earlier state of the run would create it. Raises
    :class:`SpecError` for an invalid or unreachable request.
    """
    args = dict(kwargs)
    name = args.pop("name")
    if op == "ensure_port":
        bridge, type_ = args.pop("bridge"), args.pop("type", None)
        spec = PortSpec.from_args(name, bridge, type_, **args)
        clauses, changes = diff_port(spec, snap, assume_bridge=test)
        errors = None
        if not changes:
            errors = interface_errors(snap, members_of(spec, snap.ports.get(name)))
        return clauses, changes, errors
    if op == "remove_port":
        return (*remove_port(name, snap, bridge=args.get("bridge")), None)
    if op == "ensure_bridge":
        unknown = sorted(set(args) - BRIDGE_ARGS)
        if unknown:
            raise SpecError(f"bridge {name}: unknown argument(s) {', '.join(unknown)}")
        return (*diff_bridge(name, snap, assume_parent=test, **args), None)
    if op == "remove_bridge":
        return (*remove_bridge(name, snap), None)
    raise SpecError(f"unknown OVS op {op}")


def outcome(
    clauses: Sequence[Clause], changes: Changes, errors: Mapping[str, str] | None
) -> dict[str, Any]:
    """An op's result as :meth:`Reconciler.run_op` returns it."""
    out: dict[str, Any] = {"changes": changes, "clauses": [list(c) for c in clauses]}
    if errors is not None:
        out["errors"] = dict(errors)
    return out


# --- planning the batch ---------------------------------------------------------------------


@dataclass
class BatchPlan:
    """The clauses of the batch's one transaction and the outcome of each batched item (by
    tag). Items without an outcome are not in the batch: they run alone in their turn."""

    clauses: list[Clause] = field(default_factory=list)
    outcomes: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def writers(self) -> list[str]:
        """Tags of the items that have something to write."""
        return [t for t, o in self.outcomes.items() if o.get("clauses")]


def plan(items: Sequence[Item], snap: Snapshot) -> BatchPlan:
    """Plan ``items`` in order on ``snap`` (see the module docstring)."""
    out = BatchPlan()
    touched: set[str] = set()  # names whose rows an earlier item writes
    written: set[str] = set()  # bridges an earlier item adds a port to or removes one from
    bridges: dict[str, str] = {}  # bridge -> "created"/"updated" by an earlier item
    failed: set[str] = set()
    for item in items:
        if failed.intersection(item.requires):
            if item.failhard:  # Salt fails it without running it, and stops the run
                break
            failed.add(item.tag)  # Salt will not run it: a requisite failed
            continue
        try:
            view = _view(item, snap, touched, written, bridges)
            if view is None:
                break
            clauses, changes, errors = plan_op(item.op, item.kwargs, view)
        except Exception as err:  # one bad state fails alone, as it would run alone
            if isinstance(err, SaltmeshError):
                out.outcomes[item.tag] = {"error": str(err)}
            else:
                log.debug("batched state %s: unexpected error", item.tag, exc_info=True)
                out.outcomes[item.tag] = {"error": unexpected(err)}
            failed.add(item.tag)
            if item.failhard:
                break
            continue
        names = touched_names(clauses, snap)
        if names is None:
            break
        out.outcomes[item.tag] = outcome(clauses, changes, errors)
        out.clauses += clauses
        touched |= names
        _note(item, changes, snap, written, bridges)
    return out


def _view(
    item: Item,
    snap: Snapshot,
    touched: set[str],
    written: set[str],
    bridges: Mapping[str, str],
) -> Snapshot | None:
    """The snapshot ``item`` is planned on, or ``None`` when its plan could differ from the
    plan it would get alone after the earlier items (the batch ends)."""
    seen = looks(item.op, item.kwargs)
    if item.op in ("ensure_bridge", "remove_bridge"):
        return None if seen & (touched | written) else snap
    bridge = item.kwargs.get("bridge")
    if (seen - {bridge}) & touched:
        return None
    if bridge is None or bridge not in touched:
        return snap
    state = bridges.get(bridge)
    if state == "updated":
        return snap  # a port only asks whether its bridge exists
    if state == "created" and item.kwargs["name"] not in snap.ports:
        # a new port on a bridge created earlier in the same transaction
        return replace(snap, bridges={**snap.bridges, bridge: Bridge(bridge, uuid="")})
    return None


def _note(
    item: Item, changes: Changes, snap: Snapshot, written: set[str], bridges: dict[str, str]
) -> None:
    """Record what a batched item does to bridges."""
    if not changes:
        return
    name = item.kwargs["name"]
    if item.op == "ensure_bridge" and "parent" not in item.kwargs:
        head = changes.get("bridge") or {}
        bridges[name] = "created" if "old" in head and head["old"] is None else "updated"
    elif item.op == "remove_bridge":
        bridges[name] = "removed"
    elif item.op in ("ensure_port", "remove_port"):
        port = snap.ports.get(name)
        written.update(b for b in (item.kwargs.get("bridge"), port and port.bridge) if b)


def failed_transaction(plan_: BatchPlan, error: str) -> dict[str, dict[str, Any]]:
    """The outcomes after the batch's transaction failed: every item that had something to
    write fails with the reason (nothing of the transaction was applied); items already in
    sync or invalid keep their own outcome."""
    writers = plan_.writers
    why = (
        f"the OVSDB transaction of {len(writers)} batched ovs_port/ovs_bridge states failed, "
        f"none of them was applied: {error}"
    )
    return {t: ({"error": why} if t in writers else o) for t, o in plan_.outcomes.items()}
