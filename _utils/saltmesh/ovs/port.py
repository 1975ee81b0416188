"""The port diff: a :class:`PortSpec` against a snapshot -> ``(clauses, changes)``. Pure.

A new port gets ALL its columns in the same transaction as ``add-port`` (a tunnel must never
exist for a moment without ``protected=true``); an existing one is updated in place; a port on
another bridge is moved (its rows kept). Type or option changes are applied to the existing
rows: never a ``del-port`` plus ``add-port`` of the same name in one transaction (LP#1519926,
the second is a no-op for vswitchd).

A created port reports ``{"port": {"old": None, "new": name}}`` plus one entry per column it
sets; a removed one ``{"port": {"old": name, "new": None}}``. Maps are reported whole.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from saltmesh.ovs.clauses import Changes, Clause
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.schema import Bridge, Interface, Port, Snapshot
from saltmesh.ovs.spec import PortSpec
from saltmesh.ovs.values import (
    column_args,
    column_clauses,
    diff_map,
    is_empty,
    map_args,
    plain,
    quote,
)

# Interface map columns and the PortSpec field giving each.
_IFACE_MAPS = (("options", "options"), ("bfd", "bfd"), ("external_ids", "iface_external_ids"))


def diff_port(
    spec: PortSpec, snap: Snapshot, *, assume_bridge: bool = False
) -> tuple[list[Clause], Changes]:
    """Clauses and changes bringing port ``spec.name`` to ``spec``; ``([], {})`` when in sync.

    * absent: ``add-port`` (or ``add-bond``) plus every column in the same transaction.
    * on another bridge: moved (its Port row is taken off the old bridge and put on the new
      one in one transaction, keeping the rows), then updated like an existing port.
    * present: each given field compared and set in place; maps reconciled exactly.

    ``assume_bridge=True`` (test mode) plans against an empty bridge when ``spec.bridge`` does
    not exist yet, as an earlier state of the same run would create it.

    Raises :class:`SpecError` for an invalid spec, a missing bridge, a name that is a bridge's
    own local port, a fake-bridge port, or a move that would also change the type.
    """
    spec.check()
    if assume_bridge and spec.bridge not in snap.bridges and spec.bridge not in snap.ports:
        # test mode: the bridge is created by an earlier state of the same run
        snap = replace(snap, bridges={**snap.bridges, spec.bridge: Bridge(spec.bridge, uuid="")})
    _check_against(spec, snap)
    port = snap.ports.get(spec.name)
    if port is None:
        return _create_port(spec), _create_changes(spec)

    clauses: list[Clause] = []
    changes: Changes = {}
    if port.bridge != spec.bridge:
        _check_move(spec, port, snap)
        if port.bridge is not None:
            clauses.append(("remove", "Bridge", port.bridge, "ports", port.uuid))
        clauses.append(("add", "Bridge", spec.bridge, "ports", port.uuid))
        changes["bridge"] = {"old": port.bridge, "new": spec.bridge}
    for cl, ch in (
        _diff_members(spec, port),
        _diff_port_row(spec, port),
        _diff_interfaces(spec, port, snap),
    ):
        clauses += cl
        changes.update(ch)
    return clauses, changes


def remove_port(
    name: str, snap: Snapshot, *, bridge: str | None = None
) -> tuple[list[Clause], Changes]:
    """Delete port ``name`` (from ``bridge`` only, when given); ``([], {})`` if already gone."""
    port: Port | None = snap.ports.get(name)
    if port is None or (bridge is not None and port.bridge != bridge):
        return [], {}
    if name in snap.bridges or port.fake_bridge:
        raise SpecError(f"port {name}: that name is a bridge, not a port")
    if port.bridge is None:  # orphan row: not on any bridge; nothing vswitchd uses
        return [], {}
    return [("del-port", port.bridge, name)], {"port": {"old": name, "new": None}}


def _check_against(spec: PortSpec, snap: Snapshot) -> None:
    """Raise :class:`SpecError` when the snapshot makes ``spec`` unreachable."""
    if spec.bridge not in snap.bridges:
        raise SpecError(f"port {spec.name}: bridge {spec.bridge} does not exist")
    if spec.name in snap.bridges or (spec.name in snap.ports and snap.ports[spec.name].fake_bridge):
        raise SpecError(f"port {spec.name}: that name is a bridge, not a port")
    for member in spec.members:
        owner = snap.interfaces.get(member)
        if owner is not None and owner.port not in (None, spec.name):
            raise SpecError(
                f"port {spec.name}: interface {member} already belongs to port {owner.port}"
            )


def _check_move(spec: PortSpec, port: Port, snap: Snapshot) -> None:
    """A move to another bridge must not change the interface type in the same transaction:
    ovs-vswitchd 3.1 aborts on it (``assertion cfg failed in tnl_port_add__()`` for a tunnel
    made internal), so the state refuses before anything is written."""
    if port.bridge is None or spec.type is None:
        return
    for member in members_of(spec, port):
        iface = snap.interfaces.get(member)
        if iface is not None and iface.type != spec.type:
            raise SpecError(
                f"port {spec.name}: moving it from bridge {port.bridge} to {spec.bridge} and "
                f"changing its type ({iface.type or 'system'} -> {spec.type or 'system'}) in one "
                "transaction crashes ovs-vswitchd; change the type on "
                f"{port.bridge} first, then move it"
            )


def _port_columns(spec: PortSpec) -> dict[str, Any]:
    """The Port scalar/set columns a spec sets (None = leave alone)."""
    cols: dict[str, Any] = {}
    for col in ("protected", "tag", "vlan_mode", "bond_mode", "lacp"):
        val = getattr(spec, col)
        if val is not None:
            cols[col] = val
    if spec.trunks is not None:
        cols["trunks"] = tuple(spec.trunks)
    return cols


def _iface_create_args(spec: PortSpec) -> list[str]:
    """The Interface ``column=value`` arguments a new member of ``spec`` gets."""
    cols: list[str] = []
    if spec.type:
        cols.append(f"type={quote(spec.type)}")
    if spec.mtu_request is not None:
        cols.append(f"mtu_request={spec.mtu_request}")
    for col in ("options", "bfd"):
        cols += map_args(col, getattr(spec, col))
    cols += map_args("external_ids", spec.iface_external_ids)
    return cols


def _create_port(spec: PortSpec) -> list[Clause]:
    port_cols = column_args(_port_columns(spec))
    for col in ("external_ids", "other_config"):
        port_cols += map_args(col, getattr(spec, col))
    if spec.interfaces:
        clauses: list[Clause] = [("add-bond", spec.bridge, spec.name, *spec.interfaces, *port_cols)]
    else:
        clauses = [("add-port", spec.bridge, spec.name, *port_cols)]
    iface_cols = _iface_create_args(spec)
    if iface_cols:
        clauses += [("set", "Interface", member, *iface_cols) for member in spec.members]
    return clauses


def _create_changes(spec: PortSpec) -> Changes:
    ch: Changes = {
        "port": {"old": None, "new": spec.name},
        "bridge": {"old": None, "new": spec.bridge},
    }
    ch["type"] = {"old": None, "new": spec.type or "system"}
    if spec.interfaces:
        ch["interfaces"] = {"old": None, "new": list(spec.interfaces)}
    for col in ("options", "bfd", "external_ids", "iface_external_ids", "other_config"):
        val = getattr(spec, col)
        if val:
            ch[col] = {"old": None, "new": dict(val)}
    for col, val in _port_columns(spec).items():
        if not is_empty(val):
            ch[col] = {"old": None, "new": plain(val)}
    if spec.mtu_request is not None:
        ch["mtu_request"] = {"old": None, "new": spec.mtu_request}
    return ch


def _diff_members(spec: PortSpec, port: Port) -> tuple[list[Clause], Changes]:
    """Bond membership: new members created with the interface columns, gone ones removed."""
    if spec.interfaces is None or tuple(port.interfaces) == spec.interfaces:
        return [], {}
    clauses: list[Clause] = []
    for i, member in enumerate(m for m in spec.interfaces if m not in port.interfaces):
        ref = f"@smif{i}"
        clauses.append(
            (
                f"--id={ref}",
                "create",
                "Interface",
                f"name={quote(member)}",
                *_iface_create_args(spec),
            )
        )
        clauses.append(("add", "Port", spec.name, "interfaces", ref))
    gone = [port.interface_uuids[m] for m in port.interfaces if m not in spec.interfaces]
    if gone:
        clauses.append(("remove", "Port", spec.name, "interfaces", *gone))
    return clauses, {"interfaces": {"old": list(port.interfaces), "new": list(spec.interfaces)}}


def _diff_port_row(spec: PortSpec, port: Port) -> tuple[list[Clause], Changes]:
    """The Port row's scalar/set columns and maps."""
    have = {
        "protected": port.protected,
        "tag": port.tag,
        "vlan_mode": port.vlan_mode,
        "bond_mode": port.bond_mode,
        "lacp": port.lacp,
        "trunks": tuple(port.trunks),
    }
    upd = {c: v for c, v in _port_columns(spec).items() if have[c] != v}
    clauses = column_clauses("Port", spec.name, upd)
    changes: Changes = {c: {"old": plain(have[c]), "new": plain(v)} for c, v in upd.items()}
    for col in ("external_ids", "other_config"):
        cl, ch = diff_map("Port", spec.name, col, getattr(spec, col), getattr(port, col))
        clauses += cl
        changes.update(ch)
    return clauses, changes


def members_of(spec: PortSpec, port: Port | None) -> tuple[str, ...]:
    """The interfaces the spec's interface fields apply to: the members it names, else those
    the existing port has (``interfaces`` not given: a bond stays a bond), else ``name``."""
    if spec.interfaces is None and port is not None and port.interfaces:
        return port.interfaces
    return spec.members


def _diff_interfaces(spec: PortSpec, port: Port, snap: Snapshot) -> tuple[list[Clause], Changes]:
    """Interface columns of each existing member (new bond members got them at creation).

    A bond reports each change per member: ``{field: {"old": {member: ...}, "new": {...}}}``.
    """
    clauses: list[Clause] = []
    changes: Changes = {}
    members = members_of(spec, port)
    for member in (m for m in members if m in port.interfaces):
        cl, mch = _diff_interface(spec, snap.interfaces[member])
        clauses += cl
        if len(members) > 1:
            for k, v in mch.items():
                changes.setdefault(k, {"old": {}, "new": {}})
                changes[k]["old"][member] = v["old"]
                changes[k]["new"][member] = v["new"]
        else:
            changes.update(mch)
    return clauses, changes


def _diff_interface(spec: PortSpec, iface: Interface) -> tuple[list[Clause], Changes]:
    clauses: list[Clause] = []
    changes: Changes = {}
    if spec.type is not None and iface.type != spec.type:
        clauses.append(("set", "Interface", iface.name, f"type={quote(spec.type)}"))
        changes["type"] = {"old": iface.type or "system", "new": spec.type or "system"}
    if spec.mtu_request is not None and iface.mtu_request != spec.mtu_request:
        clauses.append(("set", "Interface", iface.name, f"mtu_request={spec.mtu_request}"))
        changes["mtu_request"] = {"old": iface.mtu_request, "new": spec.mtu_request}
    for col, attr in _IFACE_MAPS:
        exact = spec.options_exact or col != "options"
        want, have = getattr(spec, attr), getattr(iface, col)
        cl, ch = diff_map("Interface", iface.name, col, want, have, exact=exact)
        clauses += cl
        if ch:
            changes[attr] = ch[col]
    return clauses, changes
