"""Desired vs actual Open vSwitch configuration: pure functions, no I/O.

Every function takes a desired description plus a :class:`saltmesh.ovsdb.Snapshot` and returns
``(clauses, changes)``:

* ``clauses``: ovs-vsctl clauses (tuples of arguments) for :meth:`saltmesh.ovsdb.Ovsdb.transact`,
  which runs all of them as one transaction. Empty when nothing needs doing.
* ``changes``: the structured diff a state reports, ``{field: {"old": ..., "new": ...}}``;
  ``{}`` when in sync. A created object reports ``{"port": {"old": None, "new": name}}`` (or
  ``"bridge"``) plus one entry per column it sets; a removed one ``{"port": {"old": name,
  "new": None}}``. Maps are reported whole (the full old map, the full new map).

Public API (a contract used by ``ovs_mesh`` and the container helper):

* :class:`PortSpec` and :func:`diff_port` -- create a port with ALL its columns in the same
  transaction as ``add-port`` (a tunnel must never exist for a moment without
  ``protected=true``), or update an existing one in place. A port on another bridge is moved.
* :func:`remove_port`, :func:`diff_bridge`, :func:`remove_bridge`, :func:`diff_record`.
* :func:`diff_map`, :func:`fmt_value`, :func:`quote` -- building blocks.

Field semantics: ``None`` means "leave alone". A given map is reconciled exactly (stale keys
removed, ``{}`` empties it), except in :func:`diff_record` which works key by key. Values are
quoted for ovs-vsctl's ``set`` syntax (``options:remote_ip="10.0.0.1"``), so any string is safe.

Type or option changes are applied to the existing rows in place: never a ``del-port`` plus
``add-port`` of the same name in one transaction (LP#1519926, the second is a no-op for
vswitchd).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from saltmesh.errors import SaltmeshError
from saltmesh.ovsdb import Bridge, Port, Snapshot

Clause = tuple[str, ...]
Changes = dict[str, Any]

IFNAMSIZ = 15
PORT_TYPES = (
    "", "internal", "tap", "patch", "gre", "ip6gre", "vxlan", "geneve", "erspan", "ip6erspan",
    "stt", "lisp", "gtpu", "bareudp", "afxdp", "afxdp-nonpmd", "dpdk", "dpdkvhostuserclient",
)  # fmt: skip
TUNNEL_TYPES = (
    "gre",
    "ip6gre",
    "vxlan",
    "geneve",
    "erspan",
    "ip6erspan",
    "stt",
    "lisp",
    "gtpu",
    "bareudp",
)
# Types backed by a Linux netdev of the same name (15-character limit).
NETDEV_TYPES = ("", "internal", "tap", "afxdp", "afxdp-nonpmd")
VLAN_MODES = ("access", "native-tagged", "native-untagged", "trunk", "dot1q-tunnel")
BOND_MODES = ("balance-tcp", "balance-slb", "active-backup")
LACP_MODES = ("active", "passive", "off")
FAIL_MODES = ("standalone", "secure")
DATAPATH_TYPES = ("system", "netdev")

_BARE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


class SpecError(SaltmeshError):
    """A desired specification is invalid or cannot be reached from the current state."""


# --- values --------------------------------------------------------------------------------


def quote(value: str) -> str:
    """A string as an ovs-vsctl atom: double-quoted, with C/JSON escapes."""
    return json.dumps(str(value))


def _key(key: str) -> str:
    return key if _BARE_RE.match(key) else quote(key)


def to_str(value: Any) -> str:
    """A map value as OVSDB stores it (YAML ``true`` -> ``"true"``, ``5`` -> ``"5"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def str_map(value: Mapping[str, Any] | None, what: str = "map") -> dict[str, str] | None:
    """Normalise a desired map; ``None`` stays ``None`` (leave alone).

    A key whose value is ``None`` (YAML ``null``) is left out, so an exactly reconciled map
    loses it.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SpecError(f"{what} must be a mapping, got {type(value).__name__}")
    return {
        str(k): to_str(v)
        for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        if v is not None
    }


def fmt_value(value: Any) -> str:
    """A Python value in ovs-vsctl ``set`` syntax (scalars, lists as sets, dicts as maps)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Mapping):
        return (
            "{" + ",".join(f"{quote(k)}={quote(to_str(v))}" for k, v in sorted(value.items())) + "}"
        )
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ",".join(fmt_value(v) for v in sorted(value, key=str)) + "]"
    raise SpecError(f"cannot express {value!r} as an OVSDB value")


def diff_map(
    table: str,
    record: str,
    column: str,
    want: Mapping[str, str] | None,
    have: Mapping[str, str],
    *,
    exact: bool = True,
) -> tuple[list[Clause], Changes]:
    """Reconcile one map column.

    ``exact=True``: the column must equal ``want`` (stale keys removed). ``exact=False``: only
    the keys of ``want`` are touched; a key whose value is ``None`` is removed. ``want=None``:
    nothing. The change reports the whole map (exact) or only the touched keys (not exact).
    """
    if want is None:
        return [], {}
    have = dict(have)
    if exact:
        stale = sorted(k for k in have if k not in want)
        wanted = {k: to_str(v) for k, v in want.items()}
    else:
        stale = sorted(k for k, v in want.items() if v is None and k in have)
        wanted = {k: to_str(v) for k, v in want.items() if v is not None}
    upd = {k: v for k, v in sorted(wanted.items()) if have.get(k) != v}
    clauses: list[Clause] = []
    if stale:
        clauses.append(("remove", table, record, column, *(quote(k) for k in stale)))
    if upd:
        clauses.append(
            ("set", table, record, *(f"{column}:{_key(k)}={quote(v)}" for k, v in upd.items()))
        )
    if not clauses:
        return [], {}
    if exact:
        return clauses, {
            column: {"old": dict(sorted(have.items())), "new": dict(sorted(wanted.items()))}
        }
    touched = sorted({*stale, *upd})
    return clauses, {
        column: {
            "old": {k: have.get(k) for k in touched},
            "new": {k: wanted.get(k) for k in touched},
        }
    }


# --- ports ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PortSpec:
    """The desired state of one port and its interface(s). ``None`` fields are left alone.

    :param type: interface type; ``""`` (or ``"system"``) is a plain system netdev; ``None``
        leaves the type of an existing port alone (a new port is then a system port).
    :param options_exact: ``True`` (default) reconciles ``options`` exactly; ``False`` only
        sets the keys given and leaves other options alone (the Salt 3007 compat states).
    :param options: the whole ``Interface.options`` map (``remote_ip``, ``key``, ``peer``...).
    :param external_ids: ``Port.external_ids``; ``iface_external_ids``: ``Interface.external_ids``.
    :param trunks: VLAN trunks; ``()`` clears them (= all VLANs).
    :param interfaces: bond members (two or more); ``None`` = a single interface named ``name``.
        For a bond, the interface fields (type, options, mtu_request, bfd,
        iface_external_ids) apply to every member.
    """

    name: str
    bridge: str
    type: str | None = ""
    options: Mapping[str, str] | None = None
    external_ids: Mapping[str, str] | None = None
    iface_external_ids: Mapping[str, str] | None = None
    protected: bool | None = None
    tag: int | None = None
    trunks: tuple[int, ...] | None = None
    vlan_mode: str | None = None
    mtu_request: int | None = None
    bfd: Mapping[str, str] | None = None
    interfaces: tuple[str, ...] | None = None
    bond_mode: str | None = None
    lacp: str | None = None
    other_config: Mapping[str, str] | None = None
    options_exact: bool = True
    problems: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        problems: list[str] = []
        ptype = None if self.type is None else "" if self.type == "system" else str(self.type)
        set_(self, "type", ptype)
        if not self.name or not isinstance(self.name, str):
            problems.append("name: a port name is required")
        if not self.bridge or not isinstance(self.bridge, str):
            problems.append("bridge: a bridge name is required")
        if ptype is not None and ptype not in PORT_TYPES:
            problems.append(
                f"type: unknown interface type {ptype!r} (one of: system, "
                + ", ".join(t for t in PORT_TYPES if t)
                + ")"
            )
        for attr in ("options", "external_ids", "iface_external_ids", "bfd", "other_config"):
            try:
                set_(self, attr, str_map(getattr(self, attr), attr))
            except SpecError as err:
                problems.append(str(err))
        if self.interfaces is not None:
            members = self.interfaces
            if isinstance(members, str) or not all(isinstance(m, str) and m for m in members):
                problems.append("interfaces: must be a list of interface names")
            elif len(set(members)) < 2:
                problems.append("interfaces: a bond needs at least two distinct interfaces")
            else:
                set_(self, "interfaces", tuple(sorted(set(members))))
        names = self.interfaces if isinstance(self.interfaces, tuple) else (self.name,)
        if ptype in (*NETDEV_TYPES, None):
            for n in names:
                if isinstance(n, str) and len(n.encode()) > IFNAMSIZ:
                    problems.append(
                        f"name: {n!r} is longer than {IFNAMSIZ} characters (Linux interface name limit)"
                    )
        opts = self.options or {}
        if ptype in TUNNEL_TYPES and self.options is not None and "remote_ip" not in opts:
            problems.append(f"options: a {ptype} tunnel needs options.remote_ip")
        if ptype == "patch" and self.options is not None and "peer" not in opts:
            problems.append("options: a patch port needs options.peer")
        if self.tag is not None:
            tag = _int(self.tag)
            if tag is None or not 0 <= tag <= 4095:
                problems.append(f"tag: {self.tag!r} is not a VLAN id (0-4095)")
            set_(self, "tag", tag)
        if self.trunks is not None:
            trunks = [
                _int(t)
                for t in (self.trunks if isinstance(self.trunks, list | tuple) else [self.trunks])
            ]
            if any(t is None or not 0 <= t <= 4095 for t in trunks):
                problems.append(f"trunks: {self.trunks!r} must be VLAN ids (0-4095)")
            else:
                set_(self, "trunks", tuple(sorted(set(trunks))))
        if self.mtu_request is not None:
            mtu = _int(self.mtu_request)
            if mtu is None or not 68 <= mtu <= 65535:
                problems.append(f"mtu_request: {self.mtu_request!r} is not an MTU (68-65535)")
            set_(self, "mtu_request", mtu)
        if self.protected is not None and not isinstance(self.protected, bool):
            problems.append(f"protected: {self.protected!r} is not a boolean")
        for attr, allowed in (
            ("vlan_mode", VLAN_MODES),
            ("bond_mode", BOND_MODES),
            ("lacp", LACP_MODES),
        ):
            val = getattr(self, attr)
            if val is not None and val not in allowed:
                problems.append(f"{attr}: {val!r} is not one of {', '.join(allowed)}")
        if self.interfaces is None and (
            self.bond_mode is not None or self.lacp not in (None, "off")
        ):
            problems.append("bond_mode/lacp: only valid for a bond (give interfaces: [a, b])")
        set_(self, "problems", tuple(problems))

    def check(self) -> None:
        """Raise :class:`SpecError` listing every problem of this spec."""
        if self.problems:
            raise SpecError(f"port {self.name}: " + "; ".join(self.problems))

    @property
    def members(self) -> tuple[str, ...]:
        return self.interfaces if self.interfaces else (self.name,)


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


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


def _set_clause(table: str, record: str, cols: Mapping[str, Any]) -> list[Clause]:
    """``set`` (and ``clear`` for empty sets) clauses for scalar/set columns."""
    sets = [f"{c}={fmt_value(v)}" for c, v in cols.items() if v != () and v != ""]
    clears = [c for c, v in cols.items() if v == () or v == ""]
    out: list[Clause] = []
    if sets:
        out.append(("set", table, record, *sets))
    if clears:
        out.append(("clear", table, record, *clears))
    return out


def _iface_create_clauses(spec: PortSpec, iface: str) -> list[Clause]:
    cols: list[str] = []
    if spec.type:
        cols.append(f"type={quote(spec.type)}")
    if spec.mtu_request is not None:
        cols.append(f"mtu_request={spec.mtu_request}")
    for col in ("options", "bfd"):
        for k, v in (getattr(spec, col) or {}).items():
            cols.append(f"{col}:{_key(k)}={quote(v)}")
    for k, v in (spec.iface_external_ids or {}).items():
        cols.append(f"external_ids:{_key(k)}={quote(v)}")
    return [("set", "Interface", iface, *cols)] if cols else []


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
        if val != () and val != "":
            ch[col] = {"old": None, "new": list(val) if isinstance(val, tuple) else val}
    if spec.mtu_request is not None:
        ch["mtu_request"] = {"old": None, "new": spec.mtu_request}
    return ch


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
    own local port, or a fake-bridge port.
    """
    spec.check()
    if assume_bridge and spec.bridge not in snap.bridges and spec.bridge not in snap.ports:
        # test mode: the bridge is created by an earlier state of the same run
        snap = replace(snap, bridges={**snap.bridges, spec.bridge: Bridge(spec.bridge, uuid="")})
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

    port = snap.ports.get(spec.name)
    if port is None:
        return _create_port(spec), _create_changes(spec)

    clauses: list[Clause] = []
    changes: Changes = {}
    if port.bridge != spec.bridge:
        if port.bridge is not None:
            clauses.append(("remove", "Bridge", port.bridge, "ports", port.uuid))
        clauses.append(("add", "Bridge", spec.bridge, "ports", port.uuid))
        changes["bridge"] = {"old": port.bridge, "new": spec.bridge}

    # bond membership
    if spec.interfaces is not None and tuple(port.interfaces) != spec.interfaces:
        for i, member in enumerate(m for m in spec.interfaces if m not in port.interfaces):
            ref = f"@smif{i}"
            clauses.append(
                (
                    f"--id={ref}",
                    "create",
                    "Interface",
                    f"name={quote(member)}",
                    *_iface_cols_for_create(spec),
                )
            )
            clauses.append(("add", "Port", spec.name, "interfaces", ref))
        gone = [port.interface_uuids[m] for m in port.interfaces if m not in spec.interfaces]
        if gone:
            clauses.append(("remove", "Port", spec.name, "interfaces", *gone))
        changes["interfaces"] = {"old": list(port.interfaces), "new": list(spec.interfaces)}

    cols = _port_columns(spec)
    have_cols = {
        "protected": port.protected,
        "tag": port.tag,
        "vlan_mode": port.vlan_mode,
        "bond_mode": port.bond_mode,
        "lacp": port.lacp,
        "trunks": tuple(port.trunks),
    }
    upd = {c: v for c, v in cols.items() if have_cols[c] != v}
    clauses += _set_clause("Port", spec.name, upd)
    for c, v in upd.items():
        old = have_cols[c]
        changes[c] = {
            "old": list(old) if isinstance(old, tuple) else old,
            "new": list(v) if isinstance(v, tuple) else v,
        }
    for col in ("external_ids", "other_config"):
        cl, ch = diff_map("Port", spec.name, col, getattr(spec, col), getattr(port, col))
        clauses += cl
        changes.update(ch)

    # interface columns, for each existing member (new bond members got them at creation)
    members = [m for m in spec.members if m in port.interfaces]
    for member in members:
        iface = snap.interfaces[member]
        mch: Changes = {}
        if spec.type is not None and iface.type != spec.type:
            clauses.append(("set", "Interface", member, f"type={quote(spec.type)}"))
            mch["type"] = {"old": iface.type or "system", "new": spec.type or "system"}
        if spec.mtu_request is not None and iface.mtu_request != spec.mtu_request:
            clauses.append(("set", "Interface", member, f"mtu_request={spec.mtu_request}"))
            mch["mtu_request"] = {"old": iface.mtu_request, "new": spec.mtu_request}
        for col, attr in (
            ("options", "options"),
            ("bfd", "bfd"),
            ("external_ids", "iface_external_ids"),
        ):
            exact = spec.options_exact or col != "options"
            want, have = getattr(spec, attr), getattr(iface, col)
            cl, ch = diff_map("Interface", member, col, want, have, exact=exact)
            clauses += cl
            if ch:
                mch[attr] = ch[col]
        if spec.interfaces:
            for k, v in mch.items():
                changes.setdefault(k, {"old": {}, "new": {}})
                changes[k]["old"][member] = v["old"]
                changes[k]["new"][member] = v["new"]
        else:
            changes.update(mch)
    return clauses, changes


def _iface_cols_for_create(spec: PortSpec) -> list[str]:
    clause = _iface_create_clauses(spec, "x")
    return list(clause[0][3:]) if clause else []


def _create_port(spec: PortSpec) -> list[Clause]:
    cols = _port_columns(spec)
    port_cols = [f"{c}={fmt_value(v)}" for c, v in cols.items() if v != () and v != ""]
    for col in ("external_ids", "other_config"):
        for k, v in (getattr(spec, col) or {}).items():
            port_cols.append(f"{col}:{_key(k)}={quote(v)}")
    if spec.interfaces:
        clauses: list[Clause] = [("add-bond", spec.bridge, spec.name, *spec.interfaces, *port_cols)]
    else:
        clauses = [("add-port", spec.bridge, spec.name, *port_cols)]
    for member in spec.members:
        clauses += _iface_create_clauses(spec, member)
    return clauses


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


# --- bridges -------------------------------------------------------------------------------


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
    problems: list[str] = []
    if not name or not isinstance(name, str):
        problems.append("name: a bridge name is required")
    elif len(name.encode()) > IFNAMSIZ:
        problems.append(
            f"name: {name!r} is longer than {IFNAMSIZ} characters (Linux interface name limit)"
        )
    if datapath_type is not None and datapath_type not in (*DATAPATH_TYPES, ""):
        problems.append(
            f"datapath_type: {datapath_type!r} is not one of {', '.join(DATAPATH_TYPES)}"
        )
    if fail_mode not in (None, "", *FAIL_MODES):
        problems.append(f"fail_mode: {fail_mode!r} is not one of {', '.join(FAIL_MODES)}")
    if protocols is not None and (
        isinstance(protocols, str) or not all(isinstance(p, str) for p in protocols)
    ):
        problems.append("protocols: must be a list like [OpenFlow10, OpenFlow13]")
    try:
        other_config = str_map(other_config, "other_config")
        external_ids = str_map(external_ids, "external_ids")
    except SpecError as err:
        problems.append(str(err))
    if vlan is not None:
        vlan_i = _int(vlan)
        if vlan_i is None or not 0 <= vlan_i <= 4095:
            problems.append(f"vlan: {vlan!r} is not a VLAN id (0-4095)")
        vlan = vlan_i
        if parent is None:
            problems.append("vlan: a fake bridge needs parent as well")
    if parent is not None and vlan is None:
        problems.append("parent: a fake bridge needs vlan as well")
    if problems:
        raise SpecError(f"bridge {name}: " + "; ".join(problems))

    if parent is not None:
        if assume_parent and parent not in snap.bridges and parent not in snap.ports:
            # test mode: the parent is created by an earlier state of the same run
            snap = replace(snap, bridges={**snap.bridges, parent: Bridge(parent, uuid="")})
        return _diff_fake_bridge(name, snap, parent, vlan)
    port = snap.ports.get(name)
    if port is not None and port.fake_bridge:
        raise SpecError(f"bridge {name}: exists as a fake bridge of {port.bridge}; remove it first")
    if port is not None and name not in snap.bridges:
        raise SpecError(f"bridge {name}: that name is a port on bridge {port.bridge}")

    cols: dict[str, Any] = {}
    if datapath_type is not None:
        cols["datapath_type"] = datapath_type
    if fail_mode is not None:
        cols["fail_mode"] = fail_mode
    if protocols is not None:
        cols["protocols"] = tuple(sorted(set(protocols)))

    br = snap.bridges.get(name)
    if br is None:
        setcols = [f"{c}={fmt_value(v)}" for c, v in cols.items() if v not in ("", ())]
        for col, m in (("other_config", other_config), ("external_ids", external_ids)):
            setcols += [f"{col}:{_key(k)}={quote(v)}" for k, v in (m or {}).items()]
        clauses: list[Clause] = [("add-br", name)]
        if setcols:
            clauses.append(("set", "Bridge", name, *setcols))
        changes: Changes = {"bridge": {"old": None, "new": name}}
        for c, v in cols.items():
            if v not in ("", ()):
                changes[c] = {"old": None, "new": list(v) if isinstance(v, tuple) else v}
        for col, m in (("other_config", other_config), ("external_ids", external_ids)):
            if m:
                changes[col] = {"old": None, "new": dict(m)}
        return clauses, changes

    have = {
        "datapath_type": br.datapath_type,
        "fail_mode": br.fail_mode or "",
        "protocols": tuple(br.protocols),
    }
    upd = {c: v for c, v in cols.items() if not _same_bridge_col(c, have[c], v)}
    clauses = _set_clause("Bridge", name, upd)
    changes = {}
    for c, v in upd.items():
        old = have[c]
        changes[c] = {
            "old": list(old) if isinstance(old, tuple) else (old or None),
            "new": list(v) if isinstance(v, tuple) else (v or None),
        }
    for col, m in (("other_config", other_config), ("external_ids", external_ids)):
        cl, ch = diff_map("Bridge", name, col, m, getattr(br, col))
        clauses += cl
        changes.update(ch)
    return clauses, changes


def _same_bridge_col(col: str, have: Any, want: Any) -> bool:
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


def remove_bridge(name: str, snap: Snapshot) -> tuple[list[Clause], Changes]:
    """Delete bridge ``name`` (real or fake) with all its ports; ``([], {})`` if absent."""
    port = snap.ports.get(name)
    if name in snap.bridges or (port is not None and port.fake_bridge):
        return [("del-br", name)], {"bridge": {"old": name, "new": None}}
    return [], {}


# --- any record ----------------------------------------------------------------------------


def diff_record(
    table: str, record: str, data: Mapping[str, Any], have: Mapping[str, Any]
) -> tuple[list[Clause], Changes]:
    """Clauses and changes setting columns of any record (``ovs_db.managed``).

    ``have`` is :meth:`saltmesh.ovsdb.Ovsdb.get_record`'s result. Map columns (a dict given
    for a column that is a map) are reconciled key by key: given keys are set, a key given as
    ``None`` is removed, other keys are left alone. A list sets a set column (compared as a
    set), ``None`` clears a column, scalars are compared after type normalisation.
    """
    clauses: list[Clause] = []
    changes: Changes = {}
    unknown = sorted(c for c in data if c not in have)
    if unknown:
        raise SpecError(f"{table} {record}: no column {', '.join(unknown)}")
    for col, want in data.items():
        cur = have[col]
        if isinstance(want, Mapping):
            if not isinstance(cur, dict):
                raise SpecError(f"{table} {record}: column {col} is not a map")
            cl, ch = diff_map(table, record, col, dict(want), cur, exact=False)
            clauses += cl
            changes.update(ch)
            continue
        if want is None:
            if cur not in ([], {}, None, ""):
                clauses.append(("clear", table, record, col))
                changes[col] = {"old": cur, "new": None}
            continue
        if isinstance(want, list | tuple | set):
            cur_set = sorted(map(str, cur)) if isinstance(cur, list) else [str(cur)]
            if sorted(map(str, want)) != cur_set:
                clauses.append(("set", table, record, f"{col}={fmt_value(list(want))}"))
                changes[col] = {"old": cur, "new": list(want)}
            continue
        if _same_scalar(cur, want):
            continue
        clauses.append(("set", table, record, f"{col}={fmt_value(_coerce(cur, want))}"))
        changes[col] = {"old": None if cur == [] else cur, "new": want}
    return clauses, changes


def _coerce(cur: Any, want: Any) -> Any:
    """Give a desired scalar the type of the column (``"5"`` for an integer column -> 5)."""
    if isinstance(cur, bool) and isinstance(want, str) and want.lower() in ("true", "false"):
        return want.lower() == "true"
    if isinstance(cur, int) and not isinstance(cur, bool) and isinstance(want, str):
        as_int = _int(want)
        return as_int if as_int is not None else want
    return want


def _same_scalar(cur: Any, want: Any) -> bool:
    if cur == [] or cur is None:
        return False
    want = _coerce(cur, want)
    if isinstance(cur, bool) or isinstance(want, bool):
        return cur is want
    if isinstance(cur, str):
        return cur == to_str(want)
    return cur == want


def clauses_text(clauses: Iterable[Clause]) -> str:
    """A readable one-line form of clauses (for comments and logs)."""
    return " -- ".join(" ".join(c) for c in clauses)


def state_ret(
    name: str,
    noun: str,
    changes: Changes | None = None,
    test: bool = False,
    error: str | None = None,
    iface_errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The state return for ``changes`` (one wording for every ovs_*/openvswitch_* state).

    ``iface_errors`` (interface -> vswitchd's ``Interface.error``) are appended to the comment
    of an in-sync port, e.g. a system port whose netdev has disappeared.
    """
    ret: dict[str, Any] = {"name": name, "result": True, "comment": "", "changes": {}}
    if error is not None:
        return {**ret, "result": False, "comment": error}
    if not changes:
        comment = f"{noun} {name} is already as requested"
        if iface_errors:
            comment += "; OVS reports " + "; ".join(
                f"{i}: {e}" for i, e in sorted(iface_errors.items())
            )
        return {**ret, "comment": comment}
    head = changes.get(noun.lower(), {})
    if isinstance(head, dict) and "old" in head and head.get("old") is None:
        verb = "created"
    elif isinstance(head, dict) and "new" in head and head.get("new") is None:
        verb = "removed"
    else:
        verb = "updated"
    if test:
        return {
            **ret,
            "result": None,
            "changes": changes,
            "comment": f"{noun} {name} would be {verb}",
        }
    return {**ret, "changes": changes, "comment": f"{noun} {name} {verb}"}


def touched_names(clauses: Iterable[Sequence[str]], snap: Snapshot) -> set[str] | None:
    """Names of bridges/ports/interfaces whose rows ``clauses`` change (``snap``: before).

    Lets a caller keep a cached snapshot after a write and re-read only when a later diff
    looks at one of these names. ``None`` means "cannot tell" (re-read before anything else).
    """
    names: set[str] = set()

    def port_and_members(port: str) -> None:
        names.add(port)
        if port in snap.ports:
            names.update(snap.ports[port].interfaces)

    for clause in clauses:
        args = [a for a in clause if not a.startswith("--")]
        if not args:
            continue
        verb = args[0]
        if verb == "add-port":
            names.add(args[2])
        elif verb == "add-bond":
            names.update(a for a in args[2:] if "=" not in a)
        elif verb == "add-br":
            names.add(args[1])
        elif verb == "del-port":
            port_and_members(args[-1])
        elif verb == "del-br":
            names.add(args[1])
            for port in snap.bridges[args[1]].ports if args[1] in snap.bridges else ():
                port_and_members(port)
            port_and_members(args[1])
        elif verb in ("set", "remove", "clear", "add") and args[1] in (
            "Bridge",
            "Port",
            "Interface",
        ):
            if args[1] == "Port":
                port_and_members(args[2])
            else:
                names.add(args[2])
        elif verb == "create" and args[1] == "Interface":
            names.update(json.loads(a.split("=", 1)[1]) for a in args[2:] if a.startswith("name="))
        else:
            return None
    return names
