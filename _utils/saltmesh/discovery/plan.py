"""What one docker host's dnsmasq serves, planned from the inventory (pure).

Who answers what (several hosts on one L2 segment, no single point of failure):

* DNS: every docker host with an ``overlay_address`` answers for every name of the mesh
  (``<name>.<domain>`` of every server and container with an address, forward and reverse);
  a client may use any of them, and each container is told its own host's server first.
* DHCP: each host answers only the ``dhcp: true`` containers placed on it (a ``dhcp-host``
  line each, every other client ignored), so no client ever gets two offers, and a moved
  container is answered by its new host with the same address (the allocation is the
  pillar's, the same everywhere).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from saltmesh.discovery.mac import derived_mac
from saltmesh.errors import SaltmeshError
from saltmesh.inventory import Inventory, Server

PORT_PREFIX = "smdns-"
ROLE = "dns"  # external_ids:saltmesh-role of the server's OVS port
LEASE_TIME = "1h"


def port_name(ip: ipaddress.IPv4Address) -> str:
    """The OVS internal port carrying ``ip``: ``smdns-<8 hex>`` (14 characters)."""
    return f"{PORT_PREFIX}{int(ip):08x}"


@dataclass(frozen=True)
class DhcpHost:
    mac: str
    name: str
    ip: ipaddress.IPv4Address


@dataclass(frozen=True)
class HostPlan:
    """One dnsmasq: where it listens, what it answers, where its files go."""

    host: str
    mesh: str
    bridge: str
    port: str
    address: ipaddress.IPv4Interface
    domain: str
    records: tuple[tuple[str, str], ...]  # (address, name) sorted; name without the domain
    dhcp: bool  # a dhcp_range is configured: serve DHCP (possibly to nobody yet)
    dhcp_hosts: tuple[DhcpHost, ...]
    upstream: tuple[str, ...]
    conf_dir: str
    run_dir: str
    binary: str
    packages: tuple[str, ...] = ()

    def path(self, kind: str) -> str:
        return file_path(self.conf_dir, self.run_dir, self.host, kind)


def file_path(conf_dir: str, run_dir: str, host: str, kind: str) -> str:
    """``conf``, ``hosts``, ``dhcp`` under conf_dir; ``pid``, ``leases`` under run_dir.
    Named after the host, so simulated hosts sharing one machine do not collide."""
    folder = run_dir if kind in ("pid", "leases") else conf_dir
    return f"{folder.rstrip('/')}/{host}.{kind}"


def record_address(inv: Inventory, server: Server, allocated=None) -> str | None:
    """The address ``<name>.<domain>`` resolves to: the pillar ``address`` when it is an IP,
    else (containers) the mesh network's IP, else the DHCP allocation; None: no record.
    ``allocated``: ``dict(inv.discovery.dhcp)``, made once by a caller that asks for many."""
    if server.ip is not None:
        return str(server.ip)
    allocated = dict(inv.discovery.dhcp) if allocated is None else allocated
    if server.name in allocated:
        return str(allocated[server.name])
    for net in server.container.networks if server.container else ():
        if net.bridge == inv.mesh.bridge and net.ip is not None:
            return str(net.ip.ip)
    return None


def records(inv: Inventory) -> tuple[tuple[str, str], ...]:
    """``(address, name)`` of every server and container that has an address, sorted by name."""
    out = []
    allocated = dict(inv.discovery.dhcp)
    for name, server in sorted(inv.servers.items()):
        address = record_address(inv, server, allocated)
        if address is not None:
            out.append((address, name.lower()))
    return tuple(out)


def dhcp_hosts(inv: Inventory, host: str) -> tuple[DhcpHost, ...]:
    """The ``dhcp: true`` containers placed on ``host``: MAC (given or derived), name, IP."""
    allocated = dict(inv.discovery.dhcp)
    out = []
    for server in inv.containers_on(host):
        for net in server.container.networks if server.container else ():
            if net.dhcp and server.name in allocated:
                mac = net.mac or derived_mac(server.name)
                out.append(DhcpHost(mac, server.name.lower(), allocated[server.name]))
    return tuple(out)


def host_for_minion(inv: Inventory, minion_id: str) -> str | None:
    """The docker host this minion is, or None."""
    server = inv.server_for_minion(minion_id)
    return server.name if server is not None and server.node_type == "docker_host" else None


def plan_host(inv: Inventory, host: str, *, all_records=None) -> HostPlan | None:
    """``host``'s dnsmasq, or None when discovery is off or the host has no overlay_address.

    ``all_records``: :func:`records` computed once for many hosts (the bench, Nagios).
    """
    server = inv.servers.get(host)
    if server is None or server.node_type != "docker_host":
        raise SaltmeshError(f"{host!r} is not a docker_host of the servers pillar")
    if not inv.discovery.enabled or server.overlay_address is None:
        return None
    settings = inv.discovery
    return HostPlan(
        host=host,
        mesh=inv.mesh.mesh_name,
        bridge=inv.mesh.bridge,
        port=port_name(server.overlay_address.ip),
        address=server.overlay_address,
        domain=inv.mesh.domain,
        records=records(inv) if all_records is None else all_records,
        dhcp=settings.dhcp_range is not None,
        dhcp_hosts=dhcp_hosts(inv, host),
        upstream=settings.upstream,
        conf_dir=settings.conf_dir,
        run_dir=settings.run_dir,
        binary=settings.binary,
        packages=settings.packages,
    )
