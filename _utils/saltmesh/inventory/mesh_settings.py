"""The ``saltmesh:mesh`` pillar: tunnel settings shared by every docker host."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from typing import Any

from saltmesh.constants import DATAPATH_TYPES, TOPOLOGIES, TUNNEL_TYPES
from saltmesh.inventory.containers import MAC_RE, ifname
from saltmesh.inventory.discovery import dns_domain
from saltmesh.inventory.model import MeshSettings, Server, as_ip
from saltmesh.inventory.reader import Reader

_MESH_KEYS = (
    "bridge", "name", "datapath_type", "tunnel", "key", "dst_port", "mtu", "underlay_mtu",
    "subnet", "underlay", "options", "bfd", "domain", "topology", "macs",
)  # fmt: skip


def mesh_settings(r: Reader, raw: Any, servers: Mapping[str, Server]) -> MeshSettings:
    path = "saltmesh:mesh"
    data = r.mapping(raw, path)
    if data is None:
        return MeshSettings()
    r.keys(data, _MESH_KEYS, path)
    bridge = ifname(r, data.get("bridge", "br-mesh"), f"{path}:bridge") or "br-mesh"
    tunnel = r.choice(data, "tunnel", path, TUNNEL_TYPES, "vxlan")
    key_max = 2**32 - 1 if tunnel == "gre" else 2**24 - 1
    subnet = None
    if data.get("subnet") is not None:
        try:
            subnet = ipaddress.ip_network(str(data["subnet"]), strict=True)
        except ValueError as err:
            r.bad(f"{path}:subnet", f"{data['subnet']!r} is not a network: {err}")
    underlay = []
    for host, ip in sorted((r.mapping(data.get("underlay"), f"{path}:underlay") or {}).items()):
        upath = f"{path}:underlay:{host}"
        if host not in servers:
            r.bad(upath, f"unknown server {host!r}")
        elif servers[host].node_type != "docker_host":
            r.bad(upath, f"{host!r} is a {servers[host].node_type}, not a docker_host")
        if as_ip(str(ip)) is None:
            r.bad(upath, f"{ip!r} is not an IP address")
        underlay.append((host, str(ip)))
    options = r.str_map(data, "options", path) or ()
    reserved = {"remote_ip", "local_ip", "key", "dst_port"}
    for k, _ in options:
        if k in reserved:
            r.bad(f"{path}:options:{k}", "is set by the mesh itself; use the mesh keys")
    topology = r.choice(data, "topology", path, TOPOLOGIES, "full")
    if topology == "flow" and data.get("bfd") is True:
        r.bad(f"{path}:bfd", "BFD needs a tunnel port per peer; topology flow has none")
    if tunnel == "gre" and data.get("dst_port") is not None:
        r.bad(f"{path}:dst_port", "GRE has no destination port")
    macs = _macs(r, data.get("macs"), f"{path}:macs", servers, bridge)
    return MeshSettings(
        bridge=bridge,
        name=r.string(data, "name", path, "") or "",
        datapath_type=r.choice(data, "datapath_type", path, DATAPATH_TYPES, "system"),
        tunnel=tunnel,
        key=r.integer(data, "key", path, 0, key_max),
        dst_port=r.integer(data, "dst_port", path, 1, 65535) if tunnel != "gre" else None,
        mtu=r.integer(data, "mtu", path, 68, 65535),
        underlay_mtu=r.integer(data, "underlay_mtu", path, 68, 65535, 1500),
        subnet=subnet,
        underlay=tuple(underlay),
        options=options,
        bfd=r.boolean(data, "bfd", path, False),
        domain=dns_domain(r, data, path),
        topology=topology,
        macs=macs,
    )


def _macs(
    r: Reader, raw: Any, path: str, servers: Mapping[str, Server], bridge: str
) -> tuple[tuple[str, str], ...]:
    """``saltmesh:mesh:macs``: docker host -> MACs behind it that are not containers of this
    pillar (the ``saltmesh_fleet`` ext_pillar lists other hosts' containers there); with
    topology flow each gets a unicast rule to its host. Returns (MAC, host) sorted by MAC."""
    table = r.mapping(raw, path) or {}
    if not table:
        return ()
    taken = {
        net.mac: name
        for name, server in servers.items()
        for net in (server.container.networks if server.container else ())
        if net.bridge == bridge and net.mac
    }
    out: dict[str, str] = {}
    for host, listed in sorted(table.items(), key=lambda kv: str(kv[0])):
        hpath = f"{path}:{host}"
        if host not in servers:
            r.bad(hpath, f"unknown server {host!r}")
            continue
        if servers[host].node_type != "docker_host":
            r.bad(hpath, f"{host!r} is a {servers[host].node_type}, not a docker_host")
            continue
        if not isinstance(listed, list):
            r.bad(hpath, f"must be a list of MAC addresses, got {type(listed).__name__}")
            continue
        for mac in listed:
            text = str(mac).lower()
            if not MAC_RE.match(text) or int(text[:2], 16) & 1:
                r.bad(hpath, f"{mac!r} is not a unicast MAC address")
            elif text in taken:
                r.bad(hpath, f"MAC {text} is already the container {taken[text]!r}'s")
            elif text in out:
                r.bad(hpath, f"MAC {text} is already listed under {out[text]!r}")
            else:
                out[text] = host
    return tuple(sorted(out.items()))
