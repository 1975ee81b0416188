"""Batched port and bridge states: many ``ovs_port``/``ovs_bridge`` states, ONE transaction. Pure.

The four state functions ``ovs_port.present/absent`` and ``ovs_bridge.present/absent`` are
*ops* (:data:`OPS`) of the :class:`~saltmesh.ovs.reconcile.Reconciler`, each planned by
:func:`plan_op` on a snapshot: the same code whether a state runs alone or in a batch.

A batch is built in two steps:

* :func:`select` takes the state being run and the chunks that follow it in the run's
  lowstate (Salt's ``__lowstate__``, in execution order) while they are ovs_port/ovs_bridge
  chunks that Salt would simply run in that order: no condition (``onchanges``, ``onlyif``,
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

import fnmatch
from collections.abc import Iterable, Mapping, Sequence
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
# Requisites that only order a chunk after another: met when that one succeeded. (Salt
# turns ``watch`` into ``require`` for states without ``mod_watch``, as these have none.)
ORDERING = ("require", "watch")
# Chunk keys that make Salt run a chunk conditionally, later, or differently: not batched.
CONDITIONAL = (
    "onchanges", "onchanges_any", "onfail", "onfail_any", "onfail_all", "prereq",
    "require_any", "watch_any", "listen", "unless", "onlyif", "creates", "check_cmd",
    "parallel", "retry", "__prereq__", "__agg__",
)  # fmt: skip


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


def chunk_tag(chunk: Mapping[str, Any]) -> str:
    """Salt's tag of a low chunk (``salt.state._gen_tag``), the key of its result."""
    return f"{chunk['state']}_|-{chunk['__id__']}_|-{chunk['name']}_|-{chunk['fun']}"


def op_kwargs(op: str, args: Mapping[str, Any]) -> dict[str, Any] | None:
    """The op's arguments from a state call's or a chunk's arguments (``None`` values
    dropped, unknown keys ignored as Salt ignores them); ``None`` when a required one is
    missing or a value is a Salt slot (resolved only when Salt calls the state)."""
    required, optional = PARAMS[op]
    if any(args.get(k) is None for k in required):
        return None
    out = {k: _plain(args[k]) for k in (*required, *optional) if args.get(k) is not None}
    if any(isinstance(v, str) and v.startswith("__slot__:") for v in out.values()):
        return None
    return out


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


# --- choosing the chunks --------------------------------------------------------------------


def _refs(chunk: Mapping[str, Any], kind: str) -> Iterable[tuple[str, Any]]:
    for ref in chunk.get(kind) or ():
        if isinstance(ref, str):
            yield "id", ref
        elif isinstance(ref, Mapping):
            for key, val in ref.items():
                yield str(key), val
        else:
            yield "", None


_GLOB = set("*?[]")


class _Index:
    """Salt's requisite lookup over the run's chunks: ``{key: val}`` -> the tags it names
    (``id``, a state module name, or ``sls``; globs allowed)."""

    def __init__(self, lowstate: Sequence[Mapping[str, Any]]):
        self.chunks = [(chunk_tag(c), c) for c in lowstate]
        self.exact: dict[tuple[str, str], list[str]] = {}
        for tag, c in self.chunks:
            keys = {("id", c["__id__"]), ("id", c["name"])}
            keys |= {(c["state"], c["__id__"]), (c["state"], c["name"])}
            keys.add(("sls", c.get("__sls__")))
            keys |= {("sls", s) for s in c.get("__sls_included_from__") or ()}
            for key in keys:
                self.exact.setdefault(key, []).append(tag)

    def named(self, key: str, val: str) -> list[str]:
        if not _GLOB.intersection(val):
            return self.exact.get((key, val), [])
        return [t for t, c in self.chunks if _matches(c, key, val)]


def _matches(chunk: Mapping[str, Any], key: str, val: str) -> bool:
    """Whether a requisite ``{key: val}`` (a glob) names ``chunk``."""

    def same(have: Any) -> bool:
        return isinstance(have, str) and fnmatch.fnmatchcase(have, val)

    if key == "sls":
        return same(chunk.get("__sls__")) or any(
            same(s) for s in chunk.get("__sls_included_from__") or ()
        )
    if key != "id" and chunk.get("state") != key:
        return False
    return same(chunk.get("__id__")) or same(chunk.get("name"))


def select(
    low: Mapping[str, Any],
    lowstate: Sequence[Mapping[str, Any]],
    running: Mapping[str, Mapping[str, Any]],
    *,
    failhard: bool = False,
) -> list[Item]:
    """The candidates of a batch started by chunk ``low``: ``low`` and the ovs_port/ovs_bridge
    chunks right after it in ``lowstate`` (see the module docstring). ``running``: the results
    so far (Salt's ``__running__``); ``failhard``: the run's ``failhard`` option. Returns
    ``[]`` when ``low`` is not found or the run has a ``prereq`` (it runs a state ahead of
    its turn, in test mode)."""
    me = chunk_tag(low)
    pos = next((i for i, c in enumerate(lowstate) if chunk_tag(c) == me), None)
    if pos is None or any("prereq" in c or "prereq_in" in c for c in lowstate):
        return []
    index = _Index(lowstate)
    items: list[Item] = []
    batch: set[str] = set()
    left_out: set[str] = set()
    for n, chunk in enumerate(lowstate[pos:]):
        item = _item(chunk, running, index, batch, left_out, first=n == 0, failhard=failhard)
        if item is None:
            break
        if item is False:
            left_out.add(chunk_tag(chunk))
        else:
            items.append(item)
            batch.add(item.tag)
    return items


def _item(
    chunk: Mapping[str, Any],
    running: Mapping[str, Mapping[str, Any]],
    index: _Index,
    batch: set[str],
    left_out: set[str],
    *,
    first: bool,
    failhard: bool,
) -> Item | None | bool:
    """The item of ``chunk``; ``None``: not batchable, the batch ends; ``False``: left out,
    as it requires a state that failed (or one left out)."""
    op = OPS.get((chunk.get("state"), chunk.get("fun")))
    tag = chunk_tag(chunk)
    if op is None or tag in running or any(k in chunk for k in CONDITIONAL):
        return None
    kwargs = op_kwargs(op, chunk)
    if kwargs is None:
        return None
    requires: list[str] = []
    doomed = False
    if not first:  # Salt checked the requisites of the chunk it is running
        for kind in ORDERING:
            for key, val in _refs(chunk, kind):
                targets = index.named(key, val) if isinstance(val, str) else []
                if not targets:
                    return None  # Salt will report it; not ours to decide
                for target in targets:
                    if target in batch:
                        requires.append(target)
                    elif target in left_out:
                        doomed = True
                    elif target not in running:
                        return None  # not run yet: the chunk cannot run before it
                    elif running[target].get("result") is False:
                        doomed = True
                    elif running[target].get("result") is not True:
                        return None
    if doomed:
        return False
    return Item(tag, op, kwargs, tuple(requires), failhard=bool(failhard or chunk.get("failhard")))


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
            failed.add(item.tag)  # Salt will not run it: a requisite failed
            continue
        view = _view(item, snap, touched, written, bridges)
        if view is None:
            break
        try:
            clauses, changes, errors = plan_op(item.op, item.kwargs, view)
        except SaltmeshError as err:
            out.outcomes[item.tag] = {"error": str(err)}
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
