"""The ``saltmesh:discovery`` pillar, the docker hosts' ``overlay_address`` and the DHCP
allocation of ``dhcp: true`` containers, validated together before anything is written.

.. code-block:: yaml

    saltmesh:
      mesh: {domain: mesh.internal}
      discovery: {dhcp_range: [192.168.77.200, 192.168.77.249]}
    servers:
      docker01: {node_type: docker_host, address: 10.0.0.11, overlay_address: 192.168.77.2/24}

Allocation (:func:`allocate`): every host computes the same answer from the pillar alone, so
no record is needed and an address survives a restart and a move. Containers are taken in
name order; each starts at ``sha256(name) mod size`` in the range and takes the first free
address from there (linear probing). A container's address changes only when a new
``dhcp: true`` container hashes to the same slot and sorts before it (rare while the range is
well larger than the containers asking).
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.inventory.model import DiscoverySettings, MeshSettings, Server
from saltmesh.inventory.reader import Reader

LABEL_RE = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")  # RFC 1123 host label
DEFAULT_DOMAIN = "mesh.internal"
_KEYS = ("enabled", "dhcp_range", "upstream", "conf_dir", "run_dir", "binary", "packages")
_PATH_RE = re.compile(r"^(/[A-Za-z0-9_.+-]+)+/?$")
_PACKAGE_RE = re.compile(r"^[a-z0-9][a-z0-9+.-]{1,62}$")
V4 = ipaddress.IPv4Address


def dns_domain(r: Reader, data: Mapping[str, Any], path: str) -> str:
    """``saltmesh:mesh:domain``: lower case, labels per RFC 1123, no trailing dot."""
    domain = r.string(data, "domain", path, DEFAULT_DOMAIN)
    if domain is None:
        return DEFAULT_DOMAIN
    if len(domain) > 180 or not all(LABEL_RE.match(label) for label in domain.split(".")):
        r.bad(f"{path}:domain", f"{domain!r} is not a DNS domain (labels of letters, digits, '-')")
        return DEFAULT_DOMAIN
    return domain.lower()


def overlay_address(
    r: Reader, data: Mapping[str, Any], path: str
) -> ipaddress.IPv4Interface | None:
    """A docker host's ``overlay_address``: an IPv4 host address with its prefix length."""
    raw = data.get("overlay_address")
    if raw is None:
        return None
    iface = None
    if isinstance(raw, str) and "/" in raw:
        try:
            iface = ipaddress.IPv4Interface(raw)
        except ValueError:
            iface = None
    net = iface.network if iface is not None else None
    if (
        iface is None
        or net is None
        or net.prefixlen > 30
        or iface.ip
        in (
            net.network_address,
            net.broadcast_address,
        )
    ):
        r.bad(
            f"{path}:overlay_address",
            f"{raw!r} is not an interface address (a.b.c.d/nn, a host of a /30 or larger)",
        )
        return None
    return iface


def allocate(names: Iterable[str], first: V4, last: V4) -> tuple[dict[str, V4], list[str]]:
    """Addresses for ``names`` in ``first``..``last`` (hash, then probe; see the module doc),
    and the names left without one because the range is full."""
    size = int(last) - int(first) + 1
    used: set[int] = set()
    out: dict[str, V4] = {}
    left: list[str] = []
    for name in sorted(names):
        start = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big") % size
        for k in range(size):
            slot = (start + k) % size
            if slot not in used:
                used.add(slot)
                out[name] = first + slot
                break
        else:
            left.append(name)
    return out, left


def _entry(server: Server) -> str:
    return f"servers:{server.app or server.name}"


def _range(r: Reader, raw: Any, path: str) -> tuple[V4, V4] | None:
    if raw is None:
        return None
    try:
        if not isinstance(raw, list) or len(raw) != 2 or not all(isinstance(a, str) for a in raw):
            raise ValueError
        first, last = V4(raw[0]), V4(raw[1])
    except ValueError:
        r.bad(path, f"{raw!r} is not [first, last] (two IPv4 addresses)")
        return None
    if first > last:
        r.bad(path, f"{first} comes after {last}")
        return None
    return first, last


def _strings(r: Reader, data: Mapping[str, Any], key: str, path: str, check) -> tuple | None:
    raw = data.get(key)
    if raw is None:
        return None
    if not isinstance(raw, list) or not all(isinstance(v, str) for v in raw):
        r.bad(f"{path}:{key}", "must be a list of strings")
        return None
    for i, value in enumerate(raw):
        problem = check(value)
        if problem:
            r.bad(f"{path}:{key}:{i}", f"{value!r} {problem}")
    return tuple(raw)


def _ip_problem(value: str) -> str | None:
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return "is not an IP address"
    return None


def _settings(r: Reader, data: Mapping[str, Any], path: str, enabled: bool) -> DiscoverySettings:
    def path_of(key: str, default: str) -> str:
        value = r.string(data, key, path, default)
        if value != default and (not _PATH_RE.match(value or "") or "/../" in f"{value}/"):
            r.bad(f"{path}:{key}", f"{value!r} is not an absolute path")
            return default
        return value

    upstream = _strings(r, data, "upstream", path, _ip_problem) or ()
    packages = _strings(
        r, data, "packages", path, lambda v: None if _PACKAGE_RE.match(v) else "is not a package"
    )
    defaults = DiscoverySettings()
    return DiscoverySettings(
        enabled=r.boolean(data, "enabled", path, enabled),
        dhcp_range=_range(r, data.get("dhcp_range"), f"{path}:dhcp_range"),
        upstream=upstream,
        conf_dir=path_of("conf_dir", defaults.conf_dir),
        run_dir=path_of("run_dir", defaults.run_dir),
        binary=path_of("binary", defaults.binary),
        packages=defaults.packages if packages is None else packages,
    )


def _fixed_addresses(servers: Mapping[str, Server], bridge: str) -> list[tuple[str, V4]]:
    """Every fixed IPv4 address with its pillar path: server addresses, container IPs on the
    mesh bridge, overlay addresses."""
    out = []
    for name, server in sorted(servers.items()):
        if isinstance(server.ip, V4) and not server.app:
            out.append((f"servers:{name}:address", server.ip))
        if server.overlay_address is not None:
            out.append((f"servers:{name}:overlay_address", server.overlay_address.ip))
        for i, net in enumerate(server.container.networks if server.container else ()):
            if net.bridge == bridge and isinstance(net.ip, ipaddress.IPv4Interface):
                key = "pool" if net.pool else "ip"
                out.append((f"{_entry(server)}:container:networks:{i}:{key}", net.ip.ip))
    return out


def _dhcp_containers(r: Reader, servers: Mapping[str, Server], bridge: str) -> dict[str, str]:
    """``dhcp: true`` containers -> the pillar path of their dhcp network."""
    out: dict[str, str] = {}
    for name, server in sorted(servers.items()):
        for i, net in enumerate(server.container.networks if server.container else ()):
            if not net.dhcp:
                continue
            path = f"{_entry(server)}:container:networks:{i}"
            if net.bridge != bridge:
                r.bad(f"{path}:dhcp", f"DHCP is served on the mesh bridge {bridge} only")
            elif name in out:
                r.bad(f"{path}:dhcp", f"{out[name]} already takes this container's address")
            else:
                out[name] = path
    return out


def discovery_settings(
    r: Reader, raw: Any, servers: Mapping[str, Server], mesh: MeshSettings
) -> DiscoverySettings:
    """``saltmesh:discovery`` checked against ``servers``, with the DHCP allocation."""
    path = "saltmesh:discovery"
    data = r.mapping(raw, path) or {}
    r.keys(data, _KEYS, path)
    hosts = [s for _, s in sorted(servers.items()) if s.overlay_address is not None]
    settings = _settings(r, data, path, enabled=bool(hosts))
    dhcp = _dhcp_containers(r, servers, mesh.bridge)
    if not settings.enabled:
        for where in dhcp.values():
            r.bad(f"{where}:dhcp", "needs discovery: no docker_host has an overlay_address")
        return settings
    if not hosts:
        r.bad(f"{path}:enabled", "no docker_host has an overlay_address to serve from")
    fixed = _fixed_addresses(servers, mesh.bridge)
    for ppath, ip in fixed:
        other = next((p for p, o in fixed if o == ip and p != ppath), None)
        if ppath.endswith(":overlay_address") and other:
            r.bad(ppath, f"{ip} is also used at {other}")
    for name, server in sorted(servers.items()):
        if not LABEL_RE.match(name):
            r.bad(_entry(server), f"{name!r} is not a DNS label (letters, digits, '-'; max 63)")
    for name in dhcp:
        parent = servers[name].parents[0] if servers[name].parents else None
        if parent in servers and servers[parent].overlay_address is None:
            r.bad(
                f"{_entry(servers[name])}:parents",
                f"{parent} has no overlay_address: nobody would answer {name}'s DHCP",
            )
    rng = settings.dhcp_range
    if rng is None:
        if dhcp and "dhcp_range" not in data:
            first = min(dhcp.values())
            r.bad(f"{path}:dhcp_range", f"is required: {first} says dhcp: true")
        return settings
    first, last = rng
    for host in hosts:
        net = host.overlay_address.network  # type: ignore[union-attr]
        inside = first in net and last in net
        if not inside or net.network_address == first or net.broadcast_address == last:
            r.bad(f"{path}:dhcp_range", f"{first}-{last} is not inside {net} of {host.name}")
    for ppath, ip in fixed:
        if first <= ip <= last:
            r.bad(ppath, f"{ip} is inside saltmesh:discovery:dhcp_range {first}-{last}")
    allocated, left = allocate(dhcp, first, last)
    for name in left:
        r.bad(dhcp[name], f"dhcp_range {first}-{last} is exhausted: no address left for {name}")
    return DiscoverySettings(**{**settings.__dict__, "dhcp": tuple(sorted(allocated.items()))})
