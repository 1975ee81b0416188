"""Container specs and their network attachments, validated from pillar."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from saltmesh.constants import IFNAMSIZ
from saltmesh.errors import PillarError
from saltmesh.inventory.model import CONTAINER_KEYS, ContainerSpec, NetworkAttachment, as_ip
from saltmesh.inventory.reader import Reader

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

_NETWORK_KEYS = ("bridge", "ip", "mac", "gateway", "vlan", "mtu", "interface")

_MEMORY_RE = re.compile(r"^(\d+)([bkmg]?)$", re.I)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def ifname(r: Reader, value: Any, path: str) -> str | None:
    if not isinstance(value, str) or not value:
        r.bad(path, "must be a non-empty string")
        return None
    if len(value.encode()) > IFNAMSIZ:
        r.bad(path, f"{value!r} is {len(value.encode())} bytes; interface names fit in {IFNAMSIZ}")
        return None
    if not _IFNAME_RE.match(value):
        r.bad(path, f"{value!r} has characters not allowed in an interface name")
        return None
    return value


def _network(r: Reader, raw: Any, path: str, index: int) -> NetworkAttachment | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _NETWORK_KEYS, path)
    bridge = ifname(r, data.get("bridge"), f"{path}:bridge")
    ip = None
    if data.get("ip") is not None:
        text = r.string(data, "ip", path)
        try:
            ip = ipaddress.ip_interface(text) if text else None
            if text and "/" not in text:
                r.bad(f"{path}:ip", f"{text!r} needs a prefix length, e.g. {text}/24")
                ip = None
        except ValueError:
            r.bad(f"{path}:ip", f"{text!r} is not an IP address with prefix (a.b.c.d/nn)")
    mac = r.string(data, "mac", path)
    if mac is not None:
        mac = mac.lower()
        if not _MAC_RE.match(mac):
            r.bad(f"{path}:mac", f"{mac!r} is not a MAC address")
            mac = None
        elif int(mac[:2], 16) & 1:
            r.bad(f"{path}:mac", f"{mac!r} is a multicast address")
            mac = None
    gateway = None
    if data.get("gateway") is not None:
        text = r.string(data, "gateway", path)
        gateway = as_ip(text or "")
        if gateway is None:
            r.bad(f"{path}:gateway", f"{text!r} is not an IP address")
        elif ip is not None and gateway not in ip.network:
            r.bad(f"{path}:gateway", f"{gateway} is outside {ip.network}")
    interface = data.get("interface", f"eth{index}")
    interface = ifname(r, interface, f"{path}:interface")
    return NetworkAttachment(
        bridge=bridge or "",
        ip=ip,
        mac=mac,
        gateway=gateway,
        vlan=r.integer(data, "vlan", path, 1, 4094),
        mtu=r.integer(data, "mtu", path, 68, 65535),
        interface=interface or "eth0",
    )


def _memory(r: Reader, value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _MEMORY_RE.match(str(value).strip())
    if not m:
        r.bad(path, f"{value!r} is not a size like 256m or 1g")
        return None
    return int(m.group(1)) * _MEMORY_UNITS[m.group(2).lower()]


def container_spec(r: Reader, raw: Any, path: str) -> ContainerSpec | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, CONTAINER_KEYS, path)
    image = r.string(data, "image", path)
    if not image:
        r.bad(f"{path}:image", "is required")
    networks = []
    raw_nets = data.get("networks") or []
    if not isinstance(raw_nets, list):
        r.bad(f"{path}:networks", "must be a list")
        raw_nets = []
    for i, item in enumerate(raw_nets):
        net = _network(r, item, f"{path}:networks:{i}", i)
        if net is not None:
            networks.append(net)
    seen_if: set[str] = set()
    for i, net in enumerate(networks):
        if net.interface in seen_if:
            r.bad(f"{path}:networks:{i}:interface", f"{net.interface!r} is used twice")
        seen_if.add(net.interface)
    volumes = data.get("volumes")
    if volumes is not None and not (
        isinstance(volumes, list) and all(isinstance(v, str) for v in volumes)
    ):
        r.bad(f"{path}:volumes", "must be a list of 'source:target[:mode]' strings")
        volumes = None
    cpus = data.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float))):
        r.bad(f"{path}:cpus", "must be a number")
        cpus = None
    return ContainerSpec(
        image=image or "",
        command=r.argv(data, "command", path),
        entrypoint=r.argv(data, "entrypoint", path),
        env=r.str_map(data, "env", path),
        labels=r.str_map(data, "labels", path),
        ports=r.str_map(data, "ports", path),
        volumes=tuple(volumes) if volumes is not None else None,
        restart=r.choice(data, "restart", path, RESTART_POLICIES),
        hostname=r.string(data, "hostname", path),
        user=r.string(data, "user", path),
        workdir=r.string(data, "workdir", path),
        memory=_memory(r, data.get("memory"), f"{path}:memory"),
        cpus=float(cpus) if cpus is not None else None,
        networks=tuple(networks),
    )


def parse_container(raw: Mapping[str, Any], path: str = "container") -> ContainerSpec:
    """Validate one container spec (the ``container:`` mapping of a server) on its own."""
    r = Reader()
    spec = container_spec(r, raw, path)
    if r.problems or spec is None:
        raise PillarError(r.problems or [(path, "invalid container spec")])
    return spec
