"""The ``servers`` pillar: every server, its parents and what must be unique, in one pass."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.errors import PillarError
from saltmesh.inventory import apps, discovery, pools, resolvers, rules
from saltmesh.inventory.containers import (
    container_name_problem,
    container_settings,
    container_spec,
    dhcp_macs,
)
from saltmesh.inventory.mesh_settings import mesh_settings
from saltmesh.inventory.model import Inventory, Server, as_ip, with_
from saltmesh.inventory.reader import NAME_RE, Reader

NODE_TYPES = ("docker_host", "container", "server", "app")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)

_SERVER_KEYS = (
    "node_type", "address", "use", "parents", "hostgroups", "minion_id", "alias",
    "services", "container", "zone", "rack", "labels", "capacity", "instances", "constraints",
    "reserve", "overlay_address",
)  # fmt: skip
# Directly under ``saltmesh``: the pillar's sections, the placement runner's inputs, the heal
# schedule, and the minion options (config.get finds them in the pillar too). Not
# ``placement_file``: a master option, of no effect in a pillar.
_SALTMESH_KEYS = (
    "mesh", "discovery", "containers", "nagios", "pools", "allocations", "placement",
    "placement_hosts", "placement_weights", "placement_capacity", "heal_minutes", "heal_seconds",
    "ovsdb", "ovsdb_timeout", "ovs_rundir", "ovs_batch", "netns", "docker_url", "minion_dir",
    "garp", "lock_timeout",
)  # fmt: skip
_TYPE_KEYS = {
    "container": ("container", "app"),
    "constraints": ("container", "app"),
    "reserve": ("container", "app"),
    "instances": ("app",),
    "zone": ("docker_host",),
    "rack": ("docker_host",),
    "labels": ("docker_host",),
    "capacity": ("docker_host",),
    "overlay_address": ("docker_host",),
}


def parse_services(r: Reader, raw: Any, path: str) -> tuple:
    """``{description: {directive: value}}`` at ``path`` as sorted ``(description, pairs)``.

    ``pairs`` is None for a ``null`` entry: that service is left out (a default one too, see
    ``saltmesh:nagios:default_services``). Problems are named ``<path>:<desc>[:<directive>]``.
    """
    out = []
    for desc, directives in sorted((r.mapping(raw, path) or {}).items()):
        spath = f"{path}:{desc}"
        if directives is None:
            out.append((desc, None))
        elif not isinstance(directives, Mapping):
            kind = type(directives).__name__
            r.bad(spath, f"must be a mapping of directives (null leaves it out), got {kind}")
        else:
            pairs = r.str_map({desc: directives}, desc, path)
            if pairs is not None:
                out.append((desc, pairs))
    return tuple(out)


def _type_keys(r: Reader, data: Mapping[str, Any], node_type: str, path: str) -> None:
    """Keys that only some node types take."""
    for key, types in _TYPE_KEYS.items():
        if key in data and node_type not in types:
            if key == "container":
                msg = "only servers with node_type: container or app take a container spec"
            else:
                msg = f"only node_type {' or '.join(types)} takes {key}"
            r.bad(f"{path}:{key}", msg)


def _address(r: Reader, data: Mapping[str, Any], path: str, optional: bool) -> str | None:
    address = r.string(data, "address", path)
    if not address:
        if not optional:
            r.bad(f"{path}:address", "is required")
    elif as_ip(address) is None and (
        not _HOSTNAME_RE.match(address) or re.fullmatch(r"[\d.]+", address)
    ):
        r.bad(f"{path}:address", f"{address!r} is neither an IP address nor a host name")
    return address


def _server(r: Reader, name: str, raw: Any, placement: Mapping[str, str]) -> Server | None:
    """One ``servers`` entry; for an app, the template its instances are made from."""
    path = f"servers:{name}"
    if not NAME_RE.match(name):
        r.bad(path, f"{name!r} is not a valid name (letters, digits, '_', '.', '-'; max 63)")
        return None
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _SERVER_KEYS, path)
    node_type = r.choice(data, "node_type", path, NODE_TYPES, "server")
    _type_keys(r, data, node_type, path)
    container = None
    if node_type in ("container", "app"):
        problem = container_name_problem(name)
        if problem:
            r.bad(path, problem)
        if "container" in data:
            container = container_spec(r, data["container"], f"{path}:container")
        elif node_type == "app":
            r.bad(f"{path}:container", "is required for an app")
    # a pool or DHCP gives the address (DHCP: Nagios checks <name>.<domain>, filled in later)
    has_pool = bool(container and any(net.pool or net.dhcp for net in container.networks))
    if node_type == "app":
        for key in ("address", "parents", "minion_id"):
            if key in data:
                r.bad(f"{path}:{key}", f"an app's instances have their own {key}")
        address, parents = "", ()
    else:
        address = _address(r, data, path, optional=node_type == "container" and has_pool)
        parents = r.names(data, "parents", path)
    if node_type == "container" and not parents and name in placement:
        parents = (placement[name],)
    zone, rack, labels = rules.host_attributes(r, data, path)
    minion_id = r.string(data, "minion_id", path, name) if node_type != "app" else name
    if container is not None and container.minion is not None:
        if node_type == "app":
            r.bad(f"{path}:container:minion", "an app's instances cannot be minions (yet)")
        elif not NAME_RE.match(minion_id or ""):
            r.bad(f"{path}:minion_id", f"{minion_id!r} is not a valid minion id for a container")
        minion = dataclasses.replace(container.minion, id=minion_id or name)
        container = dataclasses.replace(container, minion=minion)
    return Server(
        name=name,
        node_type=node_type,
        address=address or "",
        minion_id=minion_id,
        use=r.names(data, "use", path),
        parents=parents,
        hostgroups=r.names(data, "hostgroups", path),
        alias=r.string(data, "alias", path),
        services=parse_services(r, data.get("services"), f"{path}:services"),
        container=container,
        zone=zone,
        rack=rack,
        labels=labels,
        capacity=rules.resources(r, data.get("capacity"), f"{path}:capacity", positive=True),
        constraints=rules.constraints(r, data.get("constraints"), f"{path}:constraints"),
        reserve=rules.resources(r, data.get("reserve"), f"{path}:reserve", positive=False),
        overlay_address=discovery.overlay_address(r, data, path),
    )


def _servers(
    r: Reader, raw_servers: Mapping[str, Any], placement: Mapping[str, str]
) -> tuple[dict[str, Server], dict[str, tuple[str, ...]]]:
    """Every entry, apps expanded into their instances; and each app's instance names."""
    servers: dict[str, Server] = {}
    templates: list[tuple[Server, int]] = []
    for name, raw in raw_servers.items():
        server = _server(r, name, raw, placement)
        if server is None:
            continue
        if server.node_type == "app":
            count = r.integer(raw, "instances", f"servers:{name}", 0, apps.INSTANCES_MAX, 1)
            templates.append((server, count))
        else:
            servers[name] = server
    taken = {n.lower() for n in raw_servers if isinstance(n, str)}
    app_names: dict[str, tuple[str, ...]] = {}
    for template, count in templates:
        instances = apps.expand(r, template, count, taken)
        app_names[template.name] = tuple(s.name for s in instances)
        for server in instances:
            if server.name in placement:
                server = with_(server, parents=(placement[server.name],))
            servers[server.name] = server
            taken.add(server.name.lower())
    return servers, app_names


def _check_graph(r: Reader, servers: Mapping[str, Server], external: set[str]) -> None:
    for name, server in sorted(servers.items()):
        # an instance's parent comes from the placement record
        base = f"saltmesh:placement:{name}" if server.app else f"servers:{name}:parents"
        for i, parent in enumerate(server.parents):
            ppath = base if server.app else f"{base}:{i}"
            if parent == name:
                r.bad(ppath, f"{name!r} cannot be its own parent")
            elif parent not in servers and parent not in external:
                r.bad(ppath, f"unknown parent {parent!r}")
        if server.node_type == "container":
            if len(server.parents) > 1:
                r.bad(base, "a container runs on exactly one docker host")
            elif server.parents and server.parents[0] in servers:
                parent = servers[server.parents[0]]
                if parent.node_type != "docker_host":
                    r.bad(
                        base if server.app else f"{base}:0",
                        f"{parent.name!r} is a {parent.node_type}, not a docker_host",
                    )
    # cycles: depth-first search with colours, reported once per cycle
    state: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = 1
        for parent in servers[node].parents:
            if parent not in servers:
                continue
            if state.get(parent) == 1:
                cycle = stack[stack.index(parent) :] + [parent]
                r.bad(f"servers:{node}:parents", "parent cycle: " + " -> ".join(cycle))
            elif parent not in state:
                visit(parent, stack + [parent])
        state[node] = 2

    for name in sorted(servers):
        if name not in state:
            visit(name, [name])


def _check_unique(r: Reader, servers: Mapping[str, Server]) -> None:
    seen: dict[tuple, str] = {}

    def claim(kind: tuple, path: str, what: str) -> None:
        if kind in seen:
            r.bad(path, f"{what} is already used at {seen[kind]}")
        else:
            seen[kind] = path

    for name, server in sorted(servers.items()):
        entry = f"servers:{server.app}:instances" if server.app else f"servers:{name}"
        claim(("name", name.lower()), entry, f"name {name!r} (case-insensitive)")
        claim(
            ("minion", server.minion_id),
            entry if server.app else f"servers:{name}:minion_id",
            f"minion_id {server.minion_id!r}",
        )
        if server.ip is not None and server.node_type != "container":
            claim(("ip", "", server.ip), f"servers:{name}:address", f"address {server.ip}")
    for name, server in sorted(servers.items()):
        if server.container is None:
            continue
        for i, net in enumerate(server.container.networks):
            path = f"servers:{server.app or name}:container:networks:{i}"
            ip_key, mac_key = ("pool", "pool") if net.pool else ("ip", "mac")
            segment = (net.bridge, net.vlan)
            who = f" ({name})" if server.app or net.pool else ""
            if net.ip is not None:
                claim(
                    ("ip", segment, net.ip.ip),
                    f"{path}:{ip_key}",
                    f"IP {net.ip.ip} on {net.bridge}{who}",
                )
            if net.mac is not None:
                claim(
                    ("mac", segment, net.mac),
                    f"{path}:{mac_key}",
                    f"MAC {net.mac} on {net.bridge}{who}",
                )


def parse(pillar: Mapping[str, Any], external_hosts: Iterable[str] = ()) -> Inventory:
    """Parse and validate ``pillar['servers']`` and ``pillar['saltmesh']``: apps expanded into
    their instances, recorded placement and pool addresses filled in.

    ``external_hosts`` are names that may be used as parents without being in ``servers``
    (e.g. hosts defined by hand in the Nagios configuration).
    """
    r = Reader()
    raw_servers = r.mapping(pillar.get("servers"), "servers") or {}
    saltmesh = r.mapping(pillar.get("saltmesh"), "saltmesh") or {}
    r.keys(saltmesh, _SALTMESH_KEYS, "saltmesh")
    placement = r.mapping(saltmesh.get("placement"), "saltmesh:placement") or {}
    every, app_names = _servers(r, raw_servers, placement)
    pool_map = pools.parse_pools(r, saltmesh.get("pools"))
    recorded = pools.parse_allocations(r, saltmesh.get("allocations"))
    servers: dict[str, Server] = {}
    pending: dict[str, Server] = {}
    for name, server in every.items():
        if server.container is not None:  # an app's instances each get their own MAC
            server = with_(server, container=dhcp_macs(name, server.container))
        server, waits = pools.resolve(r, server, pool_map, recorded)
        (pending if waits else servers)[name] = server
    _check_graph(r, {**servers, **pending}, set(external_hosts))
    _check_unique(r, servers)
    mesh = mesh_settings(r, saltmesh.get("mesh"), servers)
    containers = container_settings(r, saltmesh.get("containers"))
    found = discovery.discovery_settings(r, saltmesh.get("discovery"), servers, mesh)
    for name in dict(found.dhcp):
        if not servers[name].address:
            servers[name] = with_(servers[name], address=f"{name.lower()}.{mesh.domain}")
    servers = resolvers.with_dns_defaults(servers, mesh, found)
    if mesh.subnet is not None:
        for name, server in sorted(servers.items()):
            for i, net in enumerate(server.container.networks if server.container else ()):
                if (
                    net.bridge == mesh.bridge
                    and net.ip is not None
                    and net.ip.ip not in mesh.subnet
                ):
                    entry = server.app or name
                    r.bad(
                        f"servers:{entry}:container:networks:{i}:{'pool' if net.pool else 'ip'}",
                        f"{net.ip.ip} is outside the mesh subnet {mesh.subnet}",
                    )
    if r.problems:
        raise PillarError(r.problems)
    return Inventory(
        servers=dict(sorted(servers.items())),
        mesh=mesh,
        containers=containers,
        pools=pool_map,
        pending=dict(sorted(pending.items())),
        apps=app_names,
        discovery=found,
    )


# --------------------------------------------------------------------------- single specs
