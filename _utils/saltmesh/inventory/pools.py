"""Address pools (``saltmesh:pools``) and the addresses recorded for containers
(``saltmesh:allocations``, written by ``salt-run placement.apply``).

.. code-block:: yaml

    saltmesh:
      pools:
        overlay: {subnet: 192.168.77.0/24, range: [192.168.77.100, 192.168.77.199],
                  gateway: 192.168.77.1}          # range default: the whole subnet
      allocations:                                # the record: never edit by hand
        web-1: {eth0: {pool: overlay, ip: 192.168.77.100, mac: "02:5e:c0:a8:4d:64"}}

A network with ``pool:`` takes its IP (with the pool's prefix length), its MAC and, unless it
names one, the pool's gateway from the record. A container with a pool network that has no
recorded address yet is *pending*: no state runs it until ``placement.apply`` gave it one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any, NamedTuple

from saltmesh.inventory.containers import MAC_RE
from saltmesh.inventory.model import Pool, Server, with_
from saltmesh.inventory.reader import NAME_RE, Reader

_POOL_KEYS = ("subnet", "range", "gateway")


class Allocation(NamedTuple):
    pool: str
    ip: ipaddress.IPv4Address
    mac: str


def _address(r: Reader, value: Any, path: str) -> ipaddress.IPv4Address | None:
    try:
        return ipaddress.IPv4Address(str(value))
    except ValueError:
        r.bad(path, f"{value!r} is not an IPv4 address")
        return None


def _pool(r: Reader, name: str, raw: Any, path: str) -> Pool | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _POOL_KEYS, path)
    if not NAME_RE.match(name):
        r.bad(path, f"{name!r} is not a valid pool name")
        return None
    try:
        subnet = ipaddress.ip_network(str(data.get("subnet")), strict=True)
    except ValueError as err:
        r.bad(f"{path}:subnet", f"{data.get('subnet')!r} is not a network: {err}")
        return None
    if not isinstance(subnet, ipaddress.IPv4Network):
        r.bad(f"{path}:subnet", f"{subnet} is IPv6; pools are IPv4")
        return None
    hosts = (subnet[1], subnet[-2]) if subnet.num_addresses > 2 else (subnet[0], subnet[-1])
    first, last = hosts
    if data.get("range") is not None:
        rng = data["range"]
        if not (isinstance(rng, list) and len(rng) == 2):
            r.bad(f"{path}:range", "must be [first, last]")
            return None
        ends = [_address(r, v, f"{path}:range:{i}") for i, v in enumerate(rng)]
        if None in ends:
            return None
        first, last = ends  # type: ignore[assignment]
        for i, end in enumerate(ends):
            if end not in subnet:
                r.bad(f"{path}:range:{i}", f"{end} is outside {subnet}")
                return None
        if first > last:
            r.bad(f"{path}:range", f"{first} comes after {last}")
            return None
    gateway = None
    if data.get("gateway") is not None:
        gateway = _address(r, data["gateway"], f"{path}:gateway")
        if gateway is not None and gateway not in subnet:
            r.bad(f"{path}:gateway", f"{gateway} is outside {subnet}")
            gateway = None
    return Pool(name, subnet, first, last, gateway)


def parse_pools(r: Reader, raw: Any) -> dict[str, Pool]:
    """``saltmesh:pools``: validated, with no two ranges overlapping."""
    path = "saltmesh:pools"
    pools = {}
    for name, data in sorted((r.mapping(raw, path) or {}).items()):
        pool = _pool(r, name, data, f"{path}:{name}")
        if pool is not None:
            pools[name] = pool
    ordered = sorted(pools.values(), key=lambda p: (p.first, p.name))
    for a, b in zip(ordered, ordered[1:], strict=False):
        if b.first <= a.last:
            r.bad(f"{path}:{b.name}:range", f"overlaps the range of pool {a.name}")
    return pools


def parse_allocations(r: Reader, raw: Any) -> dict[str, dict[str, Allocation]]:
    """``saltmesh:allocations``: container -> interface -> (pool, ip, mac)."""
    path = "saltmesh:allocations"
    out: dict[str, dict[str, Allocation]] = {}
    for name, ifaces in (r.mapping(raw, path) or {}).items():
        for iface, rec in (r.mapping(ifaces, f"{path}:{name}") or {}).items():
            rpath = f"{path}:{name}:{iface}"
            rec = r.mapping(rec, rpath)
            if rec is None:
                continue
            ip = _address(r, rec.get("ip"), f"{rpath}:ip")
            mac = str(rec.get("mac", "")).lower()
            if not MAC_RE.match(mac):
                r.bad(f"{rpath}:mac", f"{rec.get('mac')!r} is not a MAC address")
                continue
            if ip is not None:
                out.setdefault(name, {})[iface] = Allocation(str(rec.get("pool")), ip, mac)
    return out


def resolve(
    r: Reader,
    server: Server,
    pools: Mapping[str, Pool],
    allocations: Mapping[str, Mapping[str, Allocation]],
) -> tuple[Server, bool]:
    """``server`` with its pool networks' recorded addresses filled in, and whether any is
    still missing (the container is pending)."""
    spec = server.container
    if spec is None or not any(net.pool for net in spec.networks):
        return server, False
    entry = f"servers:{server.app or server.name}:container:networks"
    recorded = allocations.get(server.name, {})
    pending = False
    networks = []
    for i, net in enumerate(spec.networks):
        if net.pool is None:
            networks.append(net)
            continue
        pool = pools.get(net.pool)
        if pool is None:
            known = ", ".join(sorted(pools)) or "none defined"
            r.bad(f"{entry}:{i}:pool", f"unknown pool {net.pool!r} (saltmesh:pools: {known})")
            pending = True
            networks.append(net)
            continue
        if net.gateway is not None and net.gateway not in pool.subnet:
            r.bad(f"{entry}:{i}:gateway", f"{net.gateway} is outside {pool.subnet}")
        rec = recorded.get(net.interface)
        if rec is None or rec.pool != pool.name or rec.ip not in pool.subnet:
            pending = True
            networks.append(net)
            continue
        ip = ipaddress.IPv4Interface(f"{rec.ip}/{pool.subnet.prefixlen}")
        gateway = net.gateway if net.gateway is not None else pool.gateway
        networks.append(with_(net, ip=ip, mac=rec.mac, gateway=gateway))
    if pending:
        return server, True
    address = server.address
    if not address:
        address = str(next(net.ip.ip for net in networks if net.pool and net.ip))
    container = with_(spec, networks=tuple(networks))
    return with_(server, address=address, container=container), False
