"""The ``DNS`` service of every docker host that runs the mesh's DNS server (pure).

Each such host gets a service ``DNS`` whose check asks that host's server (its
``overlay_address``) for the host's own name, ``<name>.<domain>``, and expects the pillar
address: ``check_dns -H docker01.mesh.internal -s 192.168.77.2 -a 10.0.0.11``. The host's own
``services: {DNS: ...}`` replaces it (``null`` leaves it out). Every argument is a validated
DNS name or IP address, so nothing can reach the command line but the plugin's options.
"""

from __future__ import annotations

from saltmesh.discovery.plan import record_address
from saltmesh.inventory import Inventory

DNS_COMMAND = "saltmesh-check-dns"
DNS_SERVICE = "DNS"
DNS_FILE = "discovery.cfg"
# Debian's resource.cfg: $USER1$=/usr/lib/nagios/plugins (monitoring-plugins)
DNS_COMMAND_LINE = "'$USER1$/check_dns' -H '$ARG1$' -s '$ARG2$' -a '$ARG3$'"


def dns_services(inv: Inventory) -> dict[str, dict[str, str]]:
    """Docker host -> the directives of its ``DNS`` service (host_name and use left out)."""
    out = {}
    if not inv.discovery.enabled:
        return out
    for host in inv.docker_hosts:
        expected = record_address(inv, host)
        if host.overlay_address is None or expected is None:
            continue
        name = f"{host.name.lower()}.{inv.mesh.domain}"
        out[host.name] = {
            "service_description": DNS_SERVICE,
            "check_command": f"{DNS_COMMAND}!{name}!{host.overlay_address.ip}!{expected}",
        }
    return out
