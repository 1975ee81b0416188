"""The overlay DNS as every container's default resolver, once discovery is configured.

A container attached to the mesh bridge that sets neither ``dns`` nor ``dns_search`` gets:

* ``dns``: the ``overlay_address`` IPs of the docker hosts (each runs a DNS server on the
  bridge), its own host first, then two others ranked by rendezvous hashing of (container,
  host). Three in all: the C library reads no more than three ``nameserver`` lines. Hashing
  instead of name order spreads the load, and a docker host joining or leaving changes the
  list (and so recreates, as for any create-time field) only of the containers that rank it
  among their first;
* ``dns_search``: ``[saltmesh:mesh:domain]``, so ``ping db01`` works as ``db01.<domain>``.

Each key is filled only when the container does not set it itself; nothing changes without
discovery (no docker host with an ``overlay_address``, or ``saltmesh:discovery:enabled:
false``), nor for containers that are not on the mesh bridge (they cannot reach the servers).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from saltmesh.inventory.model import DiscoverySettings, MeshSettings, Server, with_

MAX_RESOLVERS = 3  # glibc's MAXNS


def _rank(container: str, host: str) -> bytes:
    return hashlib.sha256(f"{container}|{host}".encode()).digest()


def resolvers_for(container: str, parent: str | None, hosts: Mapping[str, str]) -> tuple[str, ...]:
    """The resolver IPs of ``container`` on ``parent``: ``hosts`` maps docker host -> overlay IP."""
    first = [parent] if parent in hosts else []
    others = sorted((h for h in hosts if h != parent), key=lambda h: _rank(container, h))
    return tuple(hosts[h] for h in (first + others)[:MAX_RESOLVERS])


def with_dns_defaults(
    servers: Mapping[str, Server], mesh: MeshSettings, discovery: DiscoverySettings
) -> dict[str, Server]:
    """``servers`` with the overlay DNS filled into containers that leave ``dns``/``dns_search``
    unset (see the module doc); the mapping unchanged without discovery."""
    hosts = {
        name: str(s.overlay_address.ip)
        for name, s in sorted(servers.items())
        if s.node_type == "docker_host" and s.overlay_address is not None
    }
    if not discovery.enabled or not hosts:
        return dict(servers)
    out = {}
    for name, server in servers.items():
        spec = server.container
        if spec is not None and any(net.bridge == mesh.bridge for net in spec.networks):
            parent = server.parents[0] if server.parents else None
            dns = spec.dns if spec.dns is not None else resolvers_for(name, parent, hosts)
            search = spec.dns_search if spec.dns_search is not None else (mesh.domain,)
            server = with_(server, container=with_(spec, dns=dns, dns_search=search))
        out[name] = server
    return out
