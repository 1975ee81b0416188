"""The OVSDB snapshot: frozen records of Bridge, Port, Interface, and their JSON parsing.

Pure: :func:`parse_snapshot` turns the output of :data:`SNAPSHOT_ARGS` (captured or live) into a
:class:`Snapshot`; :mod:`saltmesh.ovs.ovsdb` runs the command.

Value conventions of the records: OVSDB maps become ``dict[str, str]``; set columns
(``trunks``, ``protocols``, ``Bridge.ports``...) become tuples (empty set -> ``()``); optional
scalars (``tag``, ``fail_mode``, ``mtu_request``, ``ofport``...) become the value or ``None``
when the OVSDB set is empty. UUID references are resolved to names.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from saltmesh.errors import SaltmeshError


@dataclass(frozen=True)
class Bridge:
    name: str
    uuid: str
    ports: tuple[str, ...] = ()
    datapath_type: str = ""
    fail_mode: str | None = None
    protocols: tuple[str, ...] = ()
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Port:
    name: str
    uuid: str
    bridge: str | None = None
    interfaces: tuple[str, ...] = ()
    tag: int | None = None
    trunks: tuple[int, ...] = ()
    vlan_mode: str | None = None
    protected: bool = False
    bond_mode: str | None = None
    lacp: str | None = None
    other_config: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    fake_bridge: bool = False
    interface_uuids: dict[str, str] = field(default_factory=dict)  # member name -> uuid


@dataclass(frozen=True)
class Interface:
    name: str
    uuid: str
    type: str = ""
    options: dict[str, str] = field(default_factory=dict)
    external_ids: dict[str, str] = field(default_factory=dict)
    mtu_request: int | None = None
    ofport: int | None = None
    link_state: str | None = None
    error: str | None = None
    bfd: dict[str, str] = field(default_factory=dict)
    bfd_status: dict[str, str] = field(default_factory=dict)
    admin_state: str | None = None
    other_config: dict[str, str] = field(default_factory=dict)
    port: str | None = None  # name of the Port row holding this interface


@dataclass(frozen=True)
class Snapshot:
    """Bridges, ports and interfaces by name, as read in one ``ovs-vsctl`` call."""

    bridges: dict[str, Bridge] = field(default_factory=dict)
    ports: dict[str, Port] = field(default_factory=dict)
    interfaces: dict[str, Interface] = field(default_factory=dict)
    open_vswitch: dict[str, Any] = field(default_factory=dict)  # the "." row, plain values


# --- JSON decoding -------------------------------------------------------------------------


def decode(value: Any) -> Any:
    """One OVSDB JSON datum as plain Python: map -> dict, set -> list, uuid -> uuid string."""
    if isinstance(value, list) and len(value) == 2 and isinstance(value[0], str):
        kind, body = value
        if kind == "map":
            return {decode(k): decode(v) for k, v in body}
        if kind == "set":
            return [decode(v) for v in body]
        if kind in ("uuid", "named-uuid"):
            return body
    return value


def _opt(value: Any) -> Any:
    """An optional scalar column: the empty set becomes None."""
    value = decode(value)
    return None if value == [] else value


def _set(value: Any) -> tuple:
    value = decode(value)
    return tuple(value) if isinstance(value, list) else (value,)


def _map(value: Any) -> dict[str, str]:
    value = decode(value)
    return dict(value) if isinstance(value, dict) else {}


def _sorted_set(value: Any) -> tuple:
    return tuple(sorted(_set(value)))


def _bool(value: Any) -> bool:
    return bool(decode(value))


def _rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(doc["headings"], row, strict=True)) for row in doc["data"]]


# --- columns read ---------------------------------------------------------------------------
#
# Each table's plain columns with the decoder of each; ``_uuid``, ``name`` and the references
# (``Bridge.ports``, ``Port.interfaces``) are read too and resolved by name.

BRIDGE_FIELDS = {
    "datapath_type": decode,
    "fail_mode": _opt,
    "protocols": _sorted_set,
    "other_config": _map,
    "external_ids": _map,
}
PORT_FIELDS = {
    "tag": _opt,
    "trunks": _sorted_set,
    "vlan_mode": _opt,
    "protected": _bool,
    "bond_mode": _opt,
    "lacp": _opt,
    "other_config": _map,
    "external_ids": _map,
    "fake_bridge": _bool,
}
INTERFACE_FIELDS = {
    "type": decode,
    "options": _map,
    "external_ids": _map,
    "mtu_request": _opt,
    "ofport": _opt,
    "link_state": _opt,
    "error": _opt,
    "bfd": _map,
    "bfd_status": _map,
    "admin_state": _opt,
    "other_config": _map,
}
BRIDGE_COLUMNS = ("_uuid", "name", "ports", *BRIDGE_FIELDS)
PORT_COLUMNS = ("_uuid", "name", "interfaces", *PORT_FIELDS)
INTERFACE_COLUMNS = ("_uuid", "name", *INTERFACE_FIELDS)
OPEN_VSWITCH_COLUMNS = (
    "_uuid", "other_config", "external_ids", "ovs_version", "db_version", "datapath_types",
    "iface_types",
)  # fmt: skip


def _list(table: str, columns: Sequence[str]) -> list[str]:
    return ["--", "--columns=" + ",".join(columns), "list", table]


# The ovs-vsctl arguments of one snapshot read: four chained ``list`` commands, one JSON
# document per line.
SNAPSHOT_ARGS: tuple[str, ...] = (
    "--format=json",
    "--data=json",
    *_list("Bridge", BRIDGE_COLUMNS),
    *_list("Port", PORT_COLUMNS),
    *_list("Interface", INTERFACE_COLUMNS),
    *_list("Open_vSwitch", OPEN_VSWITCH_COLUMNS),
)


def parse_record(text: str, table: str, record: str) -> dict[str, Any]:
    """Every column of the first row of one ``list --format=json --data=json`` output."""
    rows = _rows(json.loads(text))
    if not rows:
        raise SaltmeshError(f"no record {record!r} in table {table}")
    return {k: decode(v) for k, v in rows[0].items()}


def parse_snapshot(text: str) -> Snapshot:
    """Build a :class:`Snapshot` from the output of :data:`SNAPSHOT_ARGS` (JSON lines).

    Pure, so unit tests feed it captured output.
    """
    docs = [json.loads(line) for line in text.splitlines() if line.strip()]
    if len(docs) not in (3, 4):
        raise SaltmeshError(f"unexpected ovs-vsctl list output: {len(docs)} tables")
    br_rows, port_rows, if_rows = (_rows(d) for d in docs[:3])
    ovs_rows = _rows(docs[3]) if len(docs) == 4 else []

    if_names = {decode(r["_uuid"]): r["name"] for r in if_rows}
    port_names = {decode(r["_uuid"]): r["name"] for r in port_rows}
    bridges = {r["name"]: _bridge(r, port_names) for r in br_rows}
    port_bridge = {p: b.name for b in bridges.values() for p in b.ports}
    ports = {r["name"]: _port(r, if_names, port_bridge.get(r["name"])) for r in port_rows}
    iface_port = {i: p.name for p in ports.values() for i in p.interfaces}
    interfaces = {r["name"]: _interface(r, iface_port.get(r["name"])) for r in if_rows}
    ovs = {k: decode(v) for k, v in ovs_rows[0].items()} if ovs_rows else {}
    return Snapshot(bridges=bridges, ports=ports, interfaces=interfaces, open_vswitch=ovs)


def _fields(r: Mapping[str, Any], decoders: Mapping[str, Any]) -> dict[str, Any]:
    """The name, uuid and decoded plain columns of one row."""
    return {
        "name": r["name"],
        "uuid": decode(r["_uuid"]),
        **{col: dec(r[col]) for col, dec in decoders.items()},
    }


def _bridge(r: Mapping[str, Any], port_names: Mapping[str, str]) -> Bridge:
    ports = tuple(sorted(port_names[u] for u in _set(r["ports"]) if u in port_names))
    return Bridge(ports=ports, **_fields(r, BRIDGE_FIELDS))


def _port(r: Mapping[str, Any], if_names: Mapping[str, str], bridge: str | None) -> Port:
    members = {if_names[u]: u for u in _set(r["interfaces"]) if u in if_names}
    return Port(
        bridge=bridge,
        interfaces=tuple(sorted(members)),
        interface_uuids=dict(sorted(members.items())),
        **_fields(r, PORT_FIELDS),
    )


def _interface(r: Mapping[str, Any], port: str | None) -> Interface:
    return Interface(port=port, **_fields(r, INTERFACE_FIELDS))
