"""Desired ports and bridges: :class:`PortSpec`, :class:`BridgeSpec`, their validation, OVS types.

A spec normalises what it is given (maps to ``dict[str, str]``, VLAN ids to ints, ``"system"``
to ``""``) and collects every problem at once; ``check()`` raises them as one
:class:`SpecError`. ``None`` fields mean "leave alone". Pure.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from saltmesh.constants import DATAPATH_TYPES, IFNAMSIZ
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.values import as_int, str_map

PORT_TYPES = (
    "", "internal", "tap", "patch", "gre", "ip6gre", "vxlan", "geneve", "erspan", "ip6erspan",
    "stt", "lisp", "gtpu", "bareudp", "afxdp", "afxdp-nonpmd", "dpdk", "dpdkvhostuserclient",
)  # fmt: skip
# Every OVS interface type that is a tunnel (needs options:remote_ip); the mesh plans only
# saltmesh.constants.TUNNEL_TYPES.
TUNNEL_PORT_TYPES = (
    "gre", "ip6gre", "vxlan", "geneve", "erspan", "ip6erspan", "stt", "lisp", "gtpu", "bareudp",
)  # fmt: skip
# Types backed by a Linux netdev of the same name (15-character limit).
NETDEV_TYPES = ("", "internal", "tap", "afxdp", "afxdp-nonpmd")
VLAN_MODES = ("access", "native-tagged", "native-untagged", "trunk", "dot1q-tunnel")
BOND_MODES = ("balance-tcp", "balance-slb", "active-backup")
LACP_MODES = ("active", "passive", "off")
FAIL_MODES = ("standalone", "secure")

_PORT_MAPS = ("options", "external_ids", "iface_external_ids", "bfd", "other_config")


def _name_too_long(name: str) -> str | None:
    if len(name.encode()) > IFNAMSIZ:
        return f"name: {name!r} is longer than {IFNAMSIZ} characters (Linux interface name limit)"
    return None


def _vlan(value: Any) -> int | None:
    """A VLAN id as an int, or None when ``value`` is not one (0-4095)."""
    vid = as_int(value)
    return vid if vid is not None and 0 <= vid <= 4095 else None


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
        problems: list[str] = []
        ptype = None if self.type is None else "" if self.type == "system" else str(self.type)
        self._set("type", ptype)
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
        for attr in _PORT_MAPS:
            try:
                self._set(attr, str_map(getattr(self, attr), attr))
            except SpecError as err:
                problems.append(str(err))
        problems += self._check_members(ptype)
        problems += self._check_numbers()
        problems += self._check_modes()
        self._set("problems", tuple(problems))

    def _set(self, attr: str, value: Any) -> None:
        object.__setattr__(self, attr, value)

    def _check_members(self, ptype: str | None) -> list[str]:
        """Bond members, interface name lengths, and the options a port type needs."""
        problems: list[str] = []
        if self.interfaces is not None:
            members = self.interfaces
            if isinstance(members, str) or not all(isinstance(m, str) and m for m in members):
                problems.append("interfaces: must be a list of interface names")
            elif len(set(members)) < 2:
                problems.append("interfaces: a bond needs at least two distinct interfaces")
            else:
                self._set("interfaces", tuple(sorted(set(members))))
        names = self.interfaces if isinstance(self.interfaces, tuple) else (self.name,)
        if ptype in (*NETDEV_TYPES, None):
            problems += [p for n in names if isinstance(n, str) and (p := _name_too_long(n))]
        opts = self.options or {}
        if ptype in TUNNEL_PORT_TYPES and self.options is not None and "remote_ip" not in opts:
            problems.append(f"options: a {ptype} tunnel needs options.remote_ip")
        if ptype == "patch" and self.options is not None and "peer" not in opts:
            problems.append("options: a patch port needs options.peer")
        return problems

    def _check_numbers(self) -> list[str]:
        """VLAN tag and trunks, MTU, ``protected``."""
        problems: list[str] = []
        if self.tag is not None:
            if _vlan(self.tag) is None:
                problems.append(f"tag: {self.tag!r} is not a VLAN id (0-4095)")
            self._set("tag", as_int(self.tag))
        if self.trunks is not None:
            given = self.trunks if isinstance(self.trunks, list | tuple) else [self.trunks]
            trunks = [_vlan(t) for t in given]
            if any(t is None for t in trunks):
                problems.append(f"trunks: {self.trunks!r} must be VLAN ids (0-4095)")
            else:
                self._set("trunks", tuple(sorted(set(trunks))))
        if self.mtu_request is not None:
            mtu = as_int(self.mtu_request)
            if mtu is None or not 68 <= mtu <= 65535:
                problems.append(f"mtu_request: {self.mtu_request!r} is not an MTU (68-65535)")
            self._set("mtu_request", mtu)
        if self.protected is not None and not isinstance(self.protected, bool):
            problems.append(f"protected: {self.protected!r} is not a boolean")
        return problems

    def _check_modes(self) -> list[str]:
        """VLAN, bond and LACP modes (the last two only for a bond)."""
        problems: list[str] = []
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
        return problems

    def check(self) -> None:
        """Raise :class:`SpecError` listing every problem of this spec."""
        if self.problems:
            raise SpecError(f"port {self.name}: " + "; ".join(self.problems))

    @property
    def members(self) -> tuple[str, ...]:
        return self.interfaces if self.interfaces else (self.name,)

    @classmethod
    def from_args(cls, name: str, bridge: str, type: str | None = "", **fields: Any) -> PortSpec:
        """A spec from loose arguments (YAML lists for ``trunks``/``interfaces`` accepted).

        An unknown argument raises :class:`SpecError`; the spec may still have ``problems``.
        """
        for attr in ("trunks", "interfaces"):
            if isinstance(fields.get(attr), list):
                fields[attr] = tuple(fields[attr])
        try:
            return cls(name=name, bridge=bridge, type=type, **fields)
        except TypeError as err:
            raise SpecError(f"port {name}: {err}") from None


@dataclass(frozen=True)
class BridgeSpec:
    """The desired columns of one bridge (``None``: leave alone), validated like a port.

    ``fail_mode=""`` and ``protocols=[]`` clear the column. ``parent`` and ``vlan`` together
    make a fake bridge (a VLAN-tagged internal port of ``parent``).
    """

    name: str
    datapath_type: str | None = None
    fail_mode: str | None = None
    protocols: Sequence[str] | None = None
    other_config: Mapping[str, Any] | None = None
    external_ids: Mapping[str, Any] | None = None
    parent: str | None = None
    vlan: int | None = None
    problems: tuple[str, ...] = field(default=(), compare=False, repr=False)

    def __post_init__(self) -> None:
        problems: list[str] = []
        name, dp_type, fail_mode = self.name, self.datapath_type, self.fail_mode
        if not name or not isinstance(name, str):
            problems.append("name: a bridge name is required")
        elif problem := _name_too_long(name):
            problems.append(problem)
        if dp_type is not None and dp_type not in (*DATAPATH_TYPES, ""):
            problems.append(f"datapath_type: {dp_type!r} is not one of {', '.join(DATAPATH_TYPES)}")
        if fail_mode not in (None, "", *FAIL_MODES):
            problems.append(f"fail_mode: {fail_mode!r} is not one of {', '.join(FAIL_MODES)}")
        protocols = self.protocols
        if protocols is not None and (
            isinstance(protocols, str) or not all(isinstance(p, str) for p in protocols)
        ):
            problems.append("protocols: must be a list like [OpenFlow10, OpenFlow13]")
        try:
            object.__setattr__(self, "other_config", str_map(self.other_config, "other_config"))
            object.__setattr__(self, "external_ids", str_map(self.external_ids, "external_ids"))
        except SpecError as err:
            problems.append(str(err))
        if self.vlan is not None:
            if _vlan(self.vlan) is None:
                problems.append(f"vlan: {self.vlan!r} is not a VLAN id (0-4095)")
            object.__setattr__(self, "vlan", as_int(self.vlan))
            if self.parent is None:
                problems.append("vlan: a fake bridge needs parent as well")
        if self.parent is not None and self.vlan is None:
            problems.append("parent: a fake bridge needs vlan as well")
        object.__setattr__(self, "problems", tuple(problems))

    def check(self) -> None:
        """Raise :class:`SpecError` listing every problem of this spec."""
        if self.problems:
            raise SpecError(f"bridge {self.name}: " + "; ".join(self.problems))

    def columns(self) -> dict[str, Any]:
        """The scalar/set columns given (``protocols`` as a sorted tuple)."""
        cols: dict[str, Any] = {}
        if self.datapath_type is not None:
            cols["datapath_type"] = self.datapath_type
        if self.fail_mode is not None:
            cols["fail_mode"] = self.fail_mode
        if self.protocols is not None:
            cols["protocols"] = tuple(sorted(set(self.protocols)))
        return cols


# The arguments a bridge takes besides its name (``ovs.ensure_bridge``).
BRIDGE_ARGS = frozenset(f.name for f in fields(BridgeSpec)) - {"name", "problems"}
