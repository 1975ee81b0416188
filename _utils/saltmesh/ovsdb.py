"""OVSDB access: the only code in saltmesh that runs ``ovs-vsctl``.

Reads and writes are batched, because every ``ovs-vsctl`` process re-syncs the whole database
(about 10 ms with 500 ports) and a per-port process per state does not scale:

* :meth:`Ovsdb.snapshot` reads Bridge, Port, Interface and Open_vSwitch in **one** process
  (``--format=json --data=json`` with four chained ``list`` commands, one JSON document per
  line) and returns a frozen :class:`Snapshot` keyed by name.
* :meth:`Ovsdb.transact` runs a list of clauses (argument tuples such as
  ``("add-port", "br0", "gre-0a000001")``) as **one** ``ovs-vsctl`` transaction, joined with
  ``--``. An empty list runs nothing. The clauses come from :mod:`saltmesh.ovsdiff`.
* :meth:`Ovsdb.get_record` reads one record of any table (for ``ovs_db.managed``).

Value conventions of the snapshot records: OVSDB maps become ``dict[str, str]``; set columns
(``trunks``, ``protocols``, ``Bridge.ports``...) become tuples (empty set -> ``()``); optional
scalars (``tag``, ``fail_mode``, ``mtu_request``, ``ofport``...) become the value or ``None``
when the OVSDB set is empty. UUID references are resolved to names.

Commands are argument lists (never a shell). Failures raise
:class:`saltmesh.errors.CommandError` carrying ovs-vsctl's stderr.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from saltmesh.errors import CommandError, SaltmeshError

VSCTL = "ovs-vsctl"

BRIDGE_COLUMNS = (
    "_uuid", "name", "ports", "datapath_type", "fail_mode", "protocols", "other_config",
    "external_ids",
)  # fmt: skip
PORT_COLUMNS = (
    "_uuid", "name", "interfaces", "tag", "trunks", "vlan_mode", "protected", "bond_mode",
    "lacp", "other_config", "external_ids", "fake_bridge",
)  # fmt: skip
INTERFACE_COLUMNS = (
    "_uuid", "name", "type", "options", "external_ids", "mtu_request", "ofport", "link_state",
    "error", "bfd", "bfd_status", "admin_state", "other_config",
)  # fmt: skip
OPEN_VSWITCH_COLUMNS = (
    "_uuid", "other_config", "external_ids", "ovs_version", "db_version", "datapath_types",
    "iface_types",
)  # fmt: skip


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


def _rows(doc: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(doc["headings"], row, strict=True)) for row in doc["data"]]


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
    port_bridge: dict[str, str] = {}
    bridges: dict[str, Bridge] = {}
    for r in br_rows:
        port_uuids = _set(r["ports"])
        names = tuple(sorted(port_names[u] for u in port_uuids if u in port_names))
        for name in names:
            port_bridge[name] = r["name"]
        bridges[r["name"]] = Bridge(
            name=r["name"],
            uuid=decode(r["_uuid"]),
            ports=names,
            datapath_type=decode(r["datapath_type"]),
            fail_mode=_opt(r["fail_mode"]),
            protocols=tuple(sorted(_set(r["protocols"]))),
            other_config=_map(r["other_config"]),
            external_ids=_map(r["external_ids"]),
        )
    iface_port: dict[str, str] = {}
    ports: dict[str, Port] = {}
    for r in port_rows:
        members = {if_names[u]: u for u in _set(r["interfaces"]) if u in if_names}
        for iface in members:
            iface_port[iface] = r["name"]
        ports[r["name"]] = Port(
            name=r["name"],
            uuid=decode(r["_uuid"]),
            bridge=port_bridge.get(r["name"]),
            interfaces=tuple(sorted(members)),
            tag=_opt(r["tag"]),
            trunks=tuple(sorted(_set(r["trunks"]))),
            vlan_mode=_opt(r["vlan_mode"]),
            protected=bool(decode(r["protected"])),
            bond_mode=_opt(r["bond_mode"]),
            lacp=_opt(r["lacp"]),
            other_config=_map(r["other_config"]),
            external_ids=_map(r["external_ids"]),
            fake_bridge=bool(decode(r["fake_bridge"])),
            interface_uuids=dict(sorted(members.items())),
        )
    interfaces: dict[str, Interface] = {}
    for r in if_rows:
        interfaces[r["name"]] = Interface(
            name=r["name"],
            uuid=decode(r["_uuid"]),
            type=decode(r["type"]),
            options=_map(r["options"]),
            external_ids=_map(r["external_ids"]),
            mtu_request=_opt(r["mtu_request"]),
            ofport=_opt(r["ofport"]),
            link_state=_opt(r["link_state"]),
            error=_opt(r["error"]),
            bfd=_map(r["bfd"]),
            bfd_status=_map(r["bfd_status"]),
            admin_state=_opt(r["admin_state"]),
            other_config=_map(r["other_config"]),
            port=iface_port.get(r["name"]),
        )
    ovs = {k: decode(v) for k, v in ovs_rows[0].items()} if ovs_rows else {}
    return Snapshot(bridges=bridges, ports=ports, interfaces=interfaces, open_vswitch=ovs)


def _list(table: str, columns: Sequence[str]) -> list[str]:
    return ["--", "--columns=" + ",".join(columns), "list", table]


SNAPSHOT_ARGS: tuple[str, ...] = (
    "--format=json",
    "--data=json",
    *_list("Bridge", BRIDGE_COLUMNS),
    *_list("Port", PORT_COLUMNS),
    *_list("Interface", INTERFACE_COLUMNS),
    *_list("Open_vSwitch", OPEN_VSWITCH_COLUMNS),
)


def transaction_args(clauses: Iterable[Sequence[str]]) -> list[str]:
    """The ovs-vsctl arguments running ``clauses`` as one transaction."""
    args: list[str] = []
    for clause in clauses:
        if not clause:
            continue
        args += ["--", *(str(a) for a in clause)]
    return args


class Ovsdb:
    """An OVSDB server reached through ``ovs-vsctl``.

    :param db: the ``--db=`` target (``unix:/path/db.sock``, ``tcp:IP:PORT``); ``None`` uses
        ovs-vsctl's default (the system socket).
    :param timeout: seconds ovs-vsctl may wait (``--timeout``), so a dead daemon cannot hang a
        state run.
    """

    def __init__(self, db: str | None = None, timeout: int = 30):
        self.db = db or None
        self.timeout = int(timeout)

    def argv(self, *args: str) -> list[str]:
        base = [VSCTL, f"--timeout={self.timeout}"]
        if self.db:
            base.append(f"--db={self.db}")
        return [*base, *args]

    def run(self, *args: str) -> str:
        """Run ovs-vsctl with ``args``; return stdout or raise :class:`CommandError`."""
        argv = self.argv(*args)
        if shutil.which(VSCTL) is None:
            raise CommandError(argv, 127, f"{VSCTL} not found on PATH")
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                timeout=self.timeout + 5,
                env={**os.environ, "LC_ALL": "C"},
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise CommandError(argv, -1, f"timed out after {self.timeout + 5} s") from None
        if proc.returncode != 0:
            raise CommandError(argv, proc.returncode, proc.stderr)
        return proc.stdout

    def snapshot(self) -> Snapshot:
        """Read Bridge, Port, Interface and the Open_vSwitch row in one ovs-vsctl call."""
        return parse_snapshot(self.run(*SNAPSHOT_ARGS))

    def transact(self, clauses: Sequence[Sequence[str]]) -> None:
        """Run ``clauses`` as ONE ovs-vsctl transaction; nothing at all when empty."""
        args = transaction_args(clauses)
        if args:
            self.run(*args)

    def get_record(self, table: str, record: str) -> dict[str, Any]:
        """Every column of one record as plain values (maps -> dict, sets -> list).

        Raises :class:`CommandError` when the table or record does not exist.
        """
        out = json.loads(self.run("--format=json", "--data=json", "list", table, record))
        rows = _rows(out)
        if not rows:
            raise SaltmeshError(f"no record {record!r} in table {table}")
        return {k: decode(v) for k, v in rows[0].items()}

    def version(self) -> str:
        """The Open vSwitch version (``ovs_version`` of the database, else the client's)."""
        try:
            ver = decode(
                json.loads(self.run("--format=json", "get", "Open_vSwitch", ".", "ovs_version"))
            )
        except (CommandError, ValueError):
            ver = None
        if isinstance(ver, str) and ver:
            return ver
        first = self.run("--version").splitlines()[0]
        return first.rsplit(" ", 1)[-1]
