"""The flow-based topology (``saltmesh:mesh:topology: flow``): names, ports and OpenFlow rules.

Pure and deterministic. Each host keeps its mesh bridge (``NORMAL``, MAC learning, local ports)
and gets a small tunnel bridge ``<bridge[:11]>-tun`` (``fail_mode=secure``: no rule, no
traffic), joined to the mesh bridge by a patch pair, and ONE flow-based tunnel port
(``options:remote_ip=flow``). The tunnel bridge's OpenFlow ports are pinned
(``ofport_request``) so the rules never depend on anything else on the host:

* patch port ``<bridge[:11]>-pm`` (peer ``<bridge[:11]>-pt`` on the mesh bridge): ofport 1
* tunnel port ``<type>-flow``: ofport 2

Rules, all in table 0 and all carrying the mesh's cookie (:func:`cookie`):

* ``priority=100,in_port=2 actions=output:1``: whatever a tunnel brings goes to the mesh
  bridge and nowhere else (split horizon: no rule sends a frame from a tunnel to a tunnel).
* ``priority=50,in_port=1,dl_dst=<mac> actions=set_field:<ip>->tun_dst,output:2``: unicast to
  a MAC the pillar places on another host goes to that host only.
* ``priority=10,in_port=1 actions=set_field:<ip1>->tun_dst,output:2,...``: broadcast,
  multicast and unknown unicast are sent once to every other host (head-end replication).

Loop-free: a frame crosses at most one tunnel. The mesh bridge never sends a frame back out
of the patch port it came in on (``NORMAL``), and the tunnel bridge sends tunnel traffic only
to the patch port. A host's rules name only the other hosts (their underlay IP in
``tun_dst``) and their containers' MACs, so a host joining changes, on every other host,
the replication rule (which lists it) and adds the rules of its own containers' MACs.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from saltmesh.ovs.flows import Rule

if TYPE_CHECKING:
    from saltmesh.inventory import Inventory

PATCH_OFPORT = 1  # the tunnel bridge's patch port towards the mesh bridge
TUNNEL_OFPORT = 2  # the flow-based tunnel port
PRIO_FROM_TUNNEL, PRIO_UNICAST, PRIO_FLOOD = 100, 50, 10
COOKIE_TAG = 0x5A17  # the cookie's top 16 bits: "saltmesh"; the rest identifies the mesh


def cookie(mesh: str) -> int:
    """The 64-bit cookie every rule of ``mesh`` carries (stable, mesh-specific)."""
    low = int.from_bytes(hashlib.blake2b(mesh.encode(), digest_size=6).digest(), "big")
    return (COOKIE_TAG << 48) | low


def tunnel_bridge(bridge: str) -> str:
    """The tunnel bridge beside mesh bridge ``bridge`` (15 characters at most)."""
    return f"{bridge[:11]}-tun"


def set_tun_dst(ip: str) -> str:
    """The action setting the tunnel destination, as ovs-ofctl prints it."""
    field = "tun_dst" if ipaddress.ip_address(ip).version == 4 else "tun_ipv6_dst"
    return f"set_field:{ip}->{field}"


@dataclass(frozen=True)
class FlowPlan:
    """One host's share of the flow topology: its tunnel bridge, ports and rules.

    ``peers``: (host, underlay IP) of every other host, by name; ``macs``: (MAC, host) of every
    container interface on the mesh bridge with a known MAC, fleet-wide (one tuple shared by
    all hosts' plans; :meth:`rules` keeps those on other hosts).
    """

    host: str
    bridge: str  # the tunnel bridge
    patch_mesh: str  # patch port on the mesh bridge
    patch_tunnel: str  # patch port on the tunnel bridge (ofport 1)
    port: str  # the flow-based tunnel port (ofport 2)
    cookie: int
    peers: tuple[tuple[str, str], ...]
    macs: tuple[tuple[str, str], ...]

    def rules(self) -> list[Rule]:
        """Every rule this host's tunnel bridge must carry, sorted by (priority, match)."""
        to = {host: f"{set_tun_dst(ip)},output:{TUNNEL_OFPORT}" for host, ip in self.peers}
        out = [Rule(PRIO_FROM_TUNNEL, f"in_port={TUNNEL_OFPORT}", f"output:{PATCH_OFPORT}")]
        out += [
            Rule(PRIO_UNICAST, f"in_port={PATCH_OFPORT},dl_dst={mac}", to[host])
            for mac, host in self.macs
            if host in to
        ]
        if self.peers:
            flood = ",".join(to[host] for host, _ in self.peers)
            out.append(Rule(PRIO_FLOOD, f"in_port={PATCH_OFPORT}", flood))
        return sorted(out, key=lambda r: r.key)

    def rule_count(self) -> int:
        """``len(self.rules())`` without building them."""
        ips = dict(self.peers)
        return 1 + sum(1 for _, host in self.macs if host in ips) + (1 if self.peers else 0)


def known_macs(inv: Inventory, hosts: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """(MAC, host) of every container interface on the mesh bridge whose MAC the inventory
    knows (given as ``mac:``, from a pool allocation, or derived for ``dhcp: true``), for
    containers whose first parent is one of ``hosts``, and the MACs ``saltmesh:mesh:macs``
    lists behind those hosts; sorted by MAC."""
    hosts = set(hosts)
    out = [(mac, host) for mac, host in inv.mesh.macs if host in hosts]
    for server in inv.by_type("container"):
        if not server.parents or server.parents[0] not in hosts or server.container is None:
            continue
        for net in server.container.networks:
            if net.bridge == inv.mesh.bridge and net.mac:
                out.append((net.mac, server.parents[0]))
    return tuple(sorted(set(out)))


def plan_flow(
    inv: Inventory, host: str, ips: Mapping[str, str], macs: tuple[tuple[str, str], ...]
) -> FlowPlan:
    """Host ``host``'s flow plan; ``ips``: every docker host's underlay IP."""
    mesh = inv.mesh
    short = mesh.bridge[:11]
    return FlowPlan(
        host=host,
        bridge=tunnel_bridge(mesh.bridge),
        patch_mesh=f"{short}-pt",
        patch_tunnel=f"{short}-pm",
        port=f"{mesh.tunnel}-flow",
        cookie=cookie(mesh.mesh_name),
        peers=tuple((h, ips[h]) for h in sorted(ips) if h != host),
        macs=macs,
    )
