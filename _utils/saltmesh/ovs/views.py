"""Read-only views of a snapshot as plain data (``ovs.bridges``, ``ovs_mesh.status``...). Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields
from typing import Any

from saltmesh.ovs.schema import Bridge, Interface, Port, Snapshot


def as_dict(record: Bridge | Port | Interface) -> dict[str, Any]:
    """A snapshot record as a plain dict (tuples become lists)."""
    out = {}
    for f in fields(record):
        value = getattr(record, f.name)
        out[f.name] = list(value) if isinstance(value, tuple) else value
    return out


def bridges(snap: Snapshot) -> dict[str, dict[str, Any]]:
    """Every bridge as a plain dict, by name."""
    return {name: as_dict(br) for name, br in snap.bridges.items()}


def ports(snap: Snapshot, bridge: str | None = None) -> dict[str, dict[str, Any]]:
    """Every port (of ``bridge`` when given) as a plain dict, by name."""
    return {n: as_dict(p) for n, p in snap.ports.items() if bridge is None or p.bridge == bridge}


def interfaces(snap: Snapshot, bridge: str | None = None) -> dict[str, dict[str, Any]]:
    """Every interface (of a port of ``bridge`` when given) as a plain dict, by name."""
    out = {}
    for name, iface in snap.interfaces.items():
        port = snap.ports.get(iface.port) if iface.port else None
        if bridge is None or (port is not None and port.bridge == bridge):
            out[name] = as_dict(iface)
    return out


def interface_errors(snap: Snapshot, names: Iterable[str]) -> dict[str, str]:
    """vswitchd's ``Interface.error`` of each of ``names`` that has one."""
    return {
        n: snap.interfaces[n].error
        for n in names
        if n in snap.interfaces and snap.interfaces[n].error
    }


def port_status(snap: Snapshot, name: str) -> dict[str, Any]:
    """Port ``name`` (which must exist) and its interface of the same name: OpenFlow port
    number (None or -1: ovs-vswitchd did not set it up), link and BFD."""
    port = snap.ports[name]
    iface = snap.interfaces.get(name)
    return {
        "bridge": port.bridge,
        "uuid": port.uuid,
        "protected": port.protected,
        "type": iface.type if iface else None,
        "options": dict(iface.options) if iface else {},
        "ofport": iface.ofport if iface else None,
        "link_state": iface.link_state if iface else None,
        "bfd_status": dict(iface.bfd_status) if iface else {},
        "error": iface.error if iface else None,
    }
