"""A generated fleet for the slicing tests and bench/pillar.py: docker hosts, containers on
OVS with fixed addresses, apps whose instances are placed (and given pool addresses) by the
placement planner, containers without ``parents`` placed by it, a Nagios server, a monitored
router that is the docker hosts' parent, and a container that is a minion."""

from __future__ import annotations

from typing import Any

from saltmesh.placement import fleet as placement

SERVICES = {"HTTP": {"check_command": "check_http"}, "Disk": {"check_command": "check_disk"}}


def pillar(hosts: int, containers: int, apps: int = 0, instances: int = 3) -> dict[str, Any]:
    """``hosts`` docker hosts and ``containers`` containers (one in ten without ``parents``,
    placed), plus ``apps`` apps of ``instances``, with the placement records written in."""
    servers: dict[str, Any] = {
        "nagios01": {"node_type": "server", "address": "172.16.0.2", "use": ["linux-server"]},
        "router01": {"node_type": "server", "address": "172.16.0.1", "services": SERVICES},
    }
    for i in range(hosts):
        servers[f"docker{i:04d}"] = {
            "node_type": "docker_host",
            "address": f"10.{i >> 8}.{i & 255}.1",
            "minion_id": f"docker{i:04d}.example.net",
            "parents": ["router01"],
            "zone": f"z{i % 4}",
            "hostgroups": ["docker-hosts"],
            "services": SERVICES,
        }
    for c in range(containers):
        host = f"docker{(c * 7) % hosts:04d}"
        ip = 0x0A400000 + 10 + c  # 10.64.0.10 ...
        entry: dict[str, Any] = {
            "node_type": "container",
            "address": f"10.64.{(ip >> 8) & 255}.{ip & 255}",
            "hostgroups": ["web"],
            "container": {
                "image": "local/busybox:latest",
                "memory": "64m",
                "networks": [
                    {
                        "bridge": "br-mesh",
                        "ip": f"10.64.{(ip >> 8) & 255}.{ip & 255}/16",
                        "mac": f"02:00:{(c >> 16) & 255:02x}:{(c >> 8) & 255:02x}:{c & 255:02x}:01",
                        "mtu": 1450,
                    }
                ],
            },
        }
        if c % 10 != 9:  # one in ten is placed by the planner
            entry["parents"] = [host]
        servers[f"web{c:05d}"] = entry
    servers["minionbox"] = {
        "node_type": "container",
        "address": "10.65.0.2",
        "parents": ["docker0000"],
        "minion_id": "minionbox.example.net",
        "container": {"image": "local/minion:latest", "minion": {"master": "172.16.0.3"}},
    }
    for a in range(apps):
        servers[f"app{a:03d}"] = {
            "node_type": "app",
            "instances": instances,
            "constraints": [{"unique": "host"}],
            "container": {
                "image": "local/busybox:latest",
                "networks": [{"bridge": "br-mesh", "pool": "overlay"}],
            },
        }
    saltmesh: dict[str, Any] = {
        "mesh": {"bridge": "br-mesh", "key": 5000, "subnet": "10.64.0.0/10"},
        "nagios": {"servers": ["nagios01"]},
        "pools": {"overlay": {"subnet": "10.96.0.0/16", "range": ["10.96.0.10", "10.96.255.250"]}},
    }
    data = {"servers": servers, "saltmesh": saltmesh}
    plan = placement.plan(data, grains={})
    saltmesh.update(
        placement=plan.placement(),
        allocations=plan.allocations(),
        placement_hosts=plan.usable_hosts(),
    )
    return data
