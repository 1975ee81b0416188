"""The bridge diff: desired columns against a snapshot -> ``(clauses, changes)``. Pure.

A new bridge gets every column in the creating transaction; an existing one is updated in
place; a fake bridge (``parent`` + ``vlan``) has its VLAN corrected in place. A created bridge
reports ``{"bridge": {"old": None, "new": name}}`` plus one entry per column it sets.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from saltmesh.ovs.clauses import Changes, Clause
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.schema import Bridge, Snapshot
from saltmesh.ovs.spec import BridgeSpec
from saltmesh.ovs.values import column_args, column_clauses, diff_map, is_empty, map_args, plain

_MAPS = ("other_config", "external_ids")


def diff_bridge(
    name: str,
    snap: Snapshot,
    *,
    datapath_type: str | None = None,
    fail_mode: str | None = None,
    protocols: Sequence[str] | None = None,
    other_config: Mapping[str, Any] | None = None,
    external_ids: Mapping[str, Any] | None = None,
    parent: str | None = None,
    vlan: int | None = None,
    assume_parent: bool = False,
) -> tuple[list[Clause], Changes]:
    """Clauses and changes bringing bridge ``name`` to the given columns.

    ``fail_mode=""`` and ``protocols=[]`` clear the column. ``parent``/``vlan`` make a fake
    bridge (a VLAN-tagged internal port of ``parent``); its VLAN is corrected in place, a
    different parent is an error. ``assume_parent=True`` (test mode) plans against an empty
    parent when it does not exist yet.
    """
    spec = BridgeSpec(
        name,
        datapath_type=datapath_type,
        fail_mode=fail_mode,
        protocols=protocols,
        other_config=other_config,
        external_ids=external_ids,
        parent=parent,
        vlan=vlan,
    )
    spec.check()
    if spec.parent is not None:
        if assume_parent and parent not in snap.bridges and parent not in snap.ports:
            # test mode: the parent is created by an earlier state of the same run
            snap = replace(snap, bridges={**snap.bridges, parent: Bridge(parent, uuid="")})
        return _diff_fake_bridge(name, snap, spec.parent, spec.vlan)
    port = snap.ports.get(name)
    if port is not None and port.fake_bridge:
        raise SpecError(f"bridge {name}: exists as a fake bridge of {port.bridge}; remove it first")
    if port is not None and name not in snap.bridges:
        raise SpecError(f"bridge {name}: that name is a port on bridge {port.bridge}")
    br = snap.bridges.get(name)
    if br is None:
        return _create_bridge(spec)
    return _update_bridge(spec, br)


def remove_bridge(name: str, snap: Snapshot) -> tuple[list[Clause], Changes]:
    """Delete bridge ``name`` (real or fake) with all its ports; ``([], {})`` if absent."""
    port = snap.ports.get(name)
    if name in snap.bridges or (port is not None and port.fake_bridge):
        return [("del-br", name)], {"bridge": {"old": name, "new": None}}
    return [], {}


def _create_bridge(spec: BridgeSpec) -> tuple[list[Clause], Changes]:
    cols = spec.columns()
    setcols = column_args(cols)
    for col in _MAPS:
        setcols += map_args(col, getattr(spec, col))
    clauses: list[Clause] = [("add-br", spec.name)]
    if setcols:
        clauses.append(("set", "Bridge", spec.name, *setcols))
    changes: Changes = {"bridge": {"old": None, "new": spec.name}}
    for c, v in cols.items():
        if not is_empty(v):
            changes[c] = {"old": None, "new": plain(v)}
    for col in _MAPS:
        if getattr(spec, col):
            changes[col] = {"old": None, "new": dict(getattr(spec, col))}
    return clauses, changes


def _update_bridge(spec: BridgeSpec, br: Bridge) -> tuple[list[Clause], Changes]:
    have = {
        "datapath_type": br.datapath_type,
        "fail_mode": br.fail_mode or "",
        "protocols": tuple(br.protocols),
    }
    upd = {c: v for c, v in spec.columns().items() if not _same_column(c, have[c], v)}
    clauses = column_clauses("Bridge", spec.name, upd)
    changes: Changes = {c: {"old": _reported(have[c]), "new": _reported(v)} for c, v in upd.items()}
    for col in _MAPS:
        cl, ch = diff_map("Bridge", spec.name, col, getattr(spec, col), getattr(br, col))
        clauses += cl
        changes.update(ch)
    return clauses, changes


def _reported(value: Any) -> Any:
    """A bridge column as a change reports it: sets as lists, an empty scalar as None."""
    return list(value) if isinstance(value, tuple) else (value or None)


def _same_column(col: str, have: Any, want: Any) -> bool:
    if col == "datapath_type":  # "" and "system" are the same datapath
        return (have or "system") == (want or "system")
    return have == want


def _diff_fake_bridge(
    name: str, snap: Snapshot, parent: str, vlan: int
) -> tuple[list[Clause], Changes]:
    if parent not in snap.bridges:
        raise SpecError(f"bridge {name}: parent bridge {parent} does not exist")
    if name in snap.bridges:
        raise SpecError(f"bridge {name}: exists as a real bridge, not a fake bridge of {parent}")
    port = snap.ports.get(name)
    if port is None:
        return [("add-br", name, parent, str(vlan))], {
            "bridge": {"old": None, "new": name},
            "parent": {"old": None, "new": parent},
            "vlan": {"old": None, "new": vlan},
        }
    if not port.fake_bridge:
        raise SpecError(f"bridge {name}: that name is a port on bridge {port.bridge}")
    if port.bridge != parent:
        raise SpecError(
            f"bridge {name}: is a fake bridge of {port.bridge}, not of {parent}; remove it first"
        )
    if port.tag != vlan:
        return [("set", "Port", name, f"tag={vlan}")], {"vlan": {"old": port.tag, "new": vlan}}
    return [], {}
