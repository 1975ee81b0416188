"""Mesh planner: which tunnel ports every Docker host needs so that all hosts share one L2 segment.

Pure and deterministic: the same inventory gives the same plan, whatever the pillar's key
order. The runner (``salt-run mesh.plan``) and the state (``ovs_mesh.managed``) both call
:func:`plan_host` / :func:`plan_fleet`; nothing else computes tunnels.

Port names follow Neutron's scheme, ``<type>-<8 hex digits of the peer's IPv4>``
(``vxlan-0a00000c``), or a base32 hash of an IPv6 address cut to 15 bytes. The name is only a
handle: the identity of a port lives in its ``external_ids`` (``saltmesh-mesh``,
``saltmesh-peer``, ``saltmesh-remote``), as OVN does in ``controller/encaps.c``.
"""

from __future__ import annotations

import base64
import hashlib
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from saltmesh.constants import IFNAMSIZ
from saltmesh.errors import PillarError
from saltmesh.mesh.flowplan import FlowPlan, known_macs, plan_flow

if TYPE_CHECKING:  # a plan read back from the memo needs no inventory (saltmesh.memo)
    from saltmesh.inventory import Inventory, MeshSettings

MESH_ID = "saltmesh-mesh"
PEER_ID = "saltmesh-peer"
REMOTE_ID = "saltmesh-remote"

# Bytes a tunnel adds in front of the inner Ethernet frame's payload, per underlay family:
# outer IP + UDP/GRE header (+ key) + the inner Ethernet header (14).
OVERHEAD = {
    ("gre", 4): 20 + 8 + 14,
    ("gre", 6): 40 + 8 + 14,
    ("vxlan", 4): 20 + 8 + 8 + 14,
    ("vxlan", 6): 40 + 8 + 8 + 14,
    ("geneve", 4): 20 + 8 + 8 + 14,
    ("geneve", 6): 40 + 8 + 8 + 14,
}


class Tunnel(NamedTuple):
    """A tunnel port towards ``peer``. It does not depend on the host that carries it (the
    local end is :attr:`HostPlan.local_ip`), so a fleet plan shares one object per peer."""

    name: str
    peer: str
    remote_ip: str


@dataclass(frozen=True)
class HostPlan:
    """What one host's bridge must carry. Shared settings live here once, not per tunnel."""

    host: str
    minion_id: str
    local_ip: str
    bridge: str
    mesh: str
    datapath_type: str
    type: str
    key: int | None
    dst_port: int | None
    mtu: int
    bfd: bool
    extra_options: tuple[tuple[str, str], ...]
    tunnels: tuple[Tunnel, ...]  # topology full: one port per peer; flow: none
    topology: str = "full"
    flow: FlowPlan | None = None  # topology flow: the tunnel bridge, its port and rules

    def peer_ports(self) -> dict[str, str]:
        """Peer host -> the port that carries this host's traffic to it."""
        if self.flow is not None:
            return {peer: self.flow.port for peer, _ in self.flow.peers}
        return {t.peer: t.name for t in self.tunnels}

    def flow_options(self) -> dict[str, str]:
        """The flow-based tunnel port's options: the remote end is set per packet."""
        opts = self.options(Tunnel("", "", "flow"))
        return opts

    def options(self, tunnel: Tunnel) -> dict[str, str]:
        opts = dict(self.extra_options)
        opts["remote_ip"] = tunnel.remote_ip
        opts["local_ip"] = self.local_ip
        if self.key is not None:
            opts["key"] = str(self.key)
        if self.dst_port is not None:
            opts["dst_port"] = str(self.dst_port)
        return opts

    def external_ids(self, tunnel: Tunnel) -> dict[str, str]:
        return {MESH_ID: self.mesh, PEER_ID: tunnel.peer, REMOTE_ID: tunnel.remote_ip}

    def to_dict(self) -> dict:
        """Plain data for runners and JSON output."""
        out = {
            "host": self.host,
            "minion_id": self.minion_id,
            "local_ip": self.local_ip,
            "bridge": self.bridge,
            "datapath_type": self.datapath_type,
            "mtu": self.mtu,
            "tunnels": [
                {
                    "name": t.name,
                    "peer": t.peer,
                    "type": self.type,
                    "options": self.options(t),
                    "external_ids": self.external_ids(t),
                }
                for t in self.tunnels
            ],
            "topology": self.topology,
        }
        if self.flow is not None:
            fp = self.flow
            out["flow"] = {
                "bridge": fp.bridge,
                "port": fp.port,
                "type": self.type,
                "options": self.flow_options(),
                "patch": [fp.patch_mesh, fp.patch_tunnel],
                "cookie": f"{fp.cookie:#x}",
                "peers": [peer for peer, _ in fp.peers],
                "rules": fp.rule_count(),
            }
        return out


def port_name(tunnel_type: str, ip: str) -> str:
    """``vxlan-0a000001`` for IPv4; a base32 hash for IPv6, always within 15 bytes."""
    addr = ipaddress.ip_address(ip)
    if addr.version == 4:
        return f"{tunnel_type}-{int(addr):08x}"
    room = IFNAMSIZ - len(tunnel_type) - 1
    digest = hashlib.blake2b(addr.packed, digest_size=16).digest()
    return f"{tunnel_type}-{base64.b32encode(digest).decode().lower()[:room]}"


class _Endpoints(NamedTuple):
    names: list[str]  # host names, sorted
    ips: dict[str, str]  # host -> underlay IP
    tunnels: tuple[Tunnel, ...]  # the tunnel towards each host, in ``names`` order
    mtu: int
    macs: tuple[tuple[str, str], ...] = ()  # topology flow: (MAC, host) of known containers


def _endpoints(inv: Inventory) -> _Endpoints:
    """Validate the mesh-wide facts once: underlay addresses, names, MTU."""
    mesh: MeshSettings = inv.mesh
    problems: list[tuple[str, str]] = []
    overrides = dict(mesh.underlay)
    ips: dict[str, str] = {}
    paths: dict[str, str] = {}  # where each host's underlay address was declared
    for server in inv.docker_hosts:
        raw = overrides.get(server.name, server.address)
        path = paths[server.name] = (
            f"saltmesh:mesh:underlay:{server.name}"
            if server.name in overrides
            else f"servers:{server.name}:address"
        )
        try:
            ips[server.name] = str(ipaddress.ip_address(raw))
        except ValueError:
            problems.append(
                (path, f"{raw!r} is not an IP address; set saltmesh:mesh:underlay:{server.name}")
            )
    families = {ipaddress.ip_address(ip).version for ip in ips.values()}
    if len(families) > 1:
        problems.append(("saltmesh:mesh:underlay", "mixes IPv4 and IPv6 underlay addresses"))
    seen: dict[str, str] = {}
    ports: dict[str, str] = {}
    for host, ip in sorted(ips.items()):
        if ip in seen:
            problems.append((paths[host], f"underlay {ip} is also {seen[ip]}'s"))
        seen[ip] = host
        ports[host] = port_name(mesh.tunnel, ip)
    clash: dict[str, str] = {}
    for host, name in sorted(ports.items()):
        if name in clash and ips[host] != ips[clash[name]]:
            problems.append((paths[host], f"port name {name} collides with {clash[name]}'s"))
        clash[name] = host
    family = families.pop() if len(families) == 1 else 4
    overhead = OVERHEAD[(mesh.tunnel, family)]
    mtu = mesh.mtu if mesh.mtu is not None else mesh.underlay_mtu - overhead
    if mtu + overhead > mesh.underlay_mtu:
        problems.append(
            (
                "saltmesh:mesh:mtu",
                f"overlay MTU {mtu} + {mesh.tunnel} overhead {overhead} exceeds underlay_mtu "
                f"{mesh.underlay_mtu}; lower mtu to {mesh.underlay_mtu - overhead} or raise underlay_mtu",
            )
        )
    if problems:
        raise PillarError(problems)
    names = sorted(ips)
    tunnels = tuple(Tunnel(ports[h], h, ips[h]) for h in names)
    macs = known_macs(inv, names) if mesh.topology == "flow" else ()
    return _Endpoints(names, ips, tunnels, mtu, macs)


def _host_plan(inv: Inventory, ep: _Endpoints, index: int) -> HostPlan:
    mesh = inv.mesh
    host = ep.names[index]
    return HostPlan(
        host=host,
        minion_id=inv.servers[host].minion_id,
        local_ip=ep.ips[host],
        bridge=mesh.bridge,
        mesh=mesh.mesh_name,
        datapath_type=mesh.datapath_type,
        type=mesh.tunnel,
        key=mesh.key,
        dst_port=mesh.dst_port,
        mtu=ep.mtu,
        bfd=mesh.bfd,
        extra_options=mesh.options,
        tunnels=()
        if mesh.topology == "flow"
        else ep.tunnels[:index] + ep.tunnels[index + 1 :],  # every peer but itself
        topology=mesh.topology,
        flow=plan_flow(inv, host, ep.ips, ep.macs) if mesh.topology == "flow" else None,
    )


def plan_fleet(inv: Inventory) -> dict[str, HostPlan]:
    """Every docker host's plan, keyed by host name (sorted)."""
    ep = _endpoints(inv)
    return {host: _host_plan(inv, ep, i) for i, host in enumerate(ep.names)}


def plan_host(inv: Inventory, host: str) -> HostPlan:
    """One host's plan; raises PillarError when ``host`` is not a docker host."""
    server = inv.servers.get(host)
    if server is None or server.node_type != "docker_host":
        raise PillarError([(f"servers:{host}", "is not a docker_host in the servers pillar")])
    ep = _endpoints(inv)
    return _host_plan(inv, ep, ep.names.index(host))


def host_for_minion(inv: Inventory, minion_id: str) -> str:
    """The docker host whose ``minion_id`` is ``minion_id``."""
    for server in inv.docker_hosts:
        if server.minion_id == minion_id:
            return server.name
    raise PillarError([("servers", f"no docker_host has minion_id {minion_id!r}")])
