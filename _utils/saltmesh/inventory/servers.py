"""The ``servers`` pillar: every server, its parents and what must be unique, in one pass."""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.errors import PillarError
from saltmesh.inventory.containers import (
    container_name_problem,
    container_settings,
    container_spec,
)
from saltmesh.inventory.mesh_settings import mesh_settings
from saltmesh.inventory.model import Inventory, Server, as_ip
from saltmesh.inventory.reader import NAME_RE, Reader

NODE_TYPES = ("docker_host", "container", "server")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)

_SERVER_KEYS = (
    "node_type", "address", "use", "parents", "hostgroups", "minion_id", "alias",
    "services", "container",
)  # fmt: skip


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


def _server(r: Reader, name: str, raw: Any, placement: Mapping[str, str]) -> Server | None:
    path = f"servers:{name}"
    if not NAME_RE.match(name):
        r.bad(path, f"{name!r} is not a valid name (letters, digits, '_', '.', '-'; max 63)")
        return None
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _SERVER_KEYS, path)
    node_type = r.choice(data, "node_type", path, NODE_TYPES, "server")
    address = r.string(data, "address", path)
    if not address:
        r.bad(f"{path}:address", "is required")
    elif as_ip(address) is None and (
        not _HOSTNAME_RE.match(address) or re.fullmatch(r"[\d.]+", address)
    ):
        r.bad(f"{path}:address", f"{address!r} is neither an IP address nor a host name")
    parents = r.names(data, "parents", path)
    container = None
    if node_type == "container":
        problem = container_name_problem(name)
        if problem:
            r.bad(path, problem)
        if "container" in data:
            container = container_spec(r, data["container"], f"{path}:container")
        if not parents and name in placement:
            parents = (placement[name],)
    elif "container" in data:
        r.bad(f"{path}:container", "only servers with node_type: container take a container spec")
    minion_id = r.string(data, "minion_id", path, name)
    if container is not None and container.minion is not None:
        if not NAME_RE.match(minion_id or ""):
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
    )


def _check_graph(r: Reader, servers: Mapping[str, Server], external: set[str]) -> None:
    for name, server in sorted(servers.items()):
        for i, parent in enumerate(server.parents):
            ppath = f"servers:{name}:parents:{i}"
            if parent == name:
                r.bad(ppath, f"{name!r} cannot be its own parent")
            elif parent not in servers and parent not in external:
                r.bad(ppath, f"unknown parent {parent!r}")
        if server.node_type == "container":
            if len(server.parents) > 1:
                r.bad(f"servers:{name}:parents", "a container runs on exactly one docker host")
            elif server.parents and server.parents[0] in servers:
                parent = servers[server.parents[0]]
                if parent.node_type != "docker_host":
                    r.bad(
                        f"servers:{name}:parents:0",
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
        claim(("name", name.lower()), f"servers:{name}", f"name {name!r} (case-insensitive)")
        claim(
            ("minion", server.minion_id),
            f"servers:{name}:minion_id",
            f"minion_id {server.minion_id!r}",
        )
        if server.ip is not None and server.node_type != "container":
            claim(("ip", "", server.ip), f"servers:{name}:address", f"address {server.ip}")
    for name, server in sorted(servers.items()):
        if server.container is None:
            continue
        for i, net in enumerate(server.container.networks):
            path = f"servers:{name}:container:networks:{i}"
            segment = (net.bridge, net.vlan)
            if net.ip is not None:
                claim(("ip", segment, net.ip.ip), f"{path}:ip", f"IP {net.ip.ip} on {net.bridge}")
            if net.mac is not None:
                claim(("mac", segment, net.mac), f"{path}:mac", f"MAC {net.mac} on {net.bridge}")


def parse(pillar: Mapping[str, Any], external_hosts: Iterable[str] = ()) -> Inventory:
    """Parse and validate ``pillar['servers']`` and ``pillar['saltmesh']['mesh']``.

    ``external_hosts`` are names that may be used as parents without being in ``servers``
    (e.g. hosts defined by hand in the Nagios configuration).
    """
    r = Reader()
    raw_servers = r.mapping(pillar.get("servers"), "servers") or {}
    saltmesh = r.mapping(pillar.get("saltmesh"), "saltmesh") or {}
    placement = r.mapping(saltmesh.get("placement"), "saltmesh:placement") or {}
    servers: dict[str, Server] = {}
    for name, raw in raw_servers.items():
        server = _server(r, name, raw, placement)
        if server is not None:
            servers[name] = server
    _check_graph(r, servers, set(external_hosts))
    _check_unique(r, servers)
    mesh = mesh_settings(r, saltmesh.get("mesh"), servers)
    containers = container_settings(r, saltmesh.get("containers"))
    if mesh.subnet is not None:
        for name, server in sorted(servers.items()):
            for i, net in enumerate(server.container.networks if server.container else ()):
                if (
                    net.bridge == mesh.bridge
                    and net.ip is not None
                    and net.ip.ip not in mesh.subnet
                ):
                    r.bad(
                        f"servers:{name}:container:networks:{i}:ip",
                        f"{net.ip.ip} is outside the mesh subnet {mesh.subnet}",
                    )
    if r.problems:
        raise PillarError(r.problems)
    return Inventory(servers=dict(sorted(servers.items())), mesh=mesh, containers=containers)


# --------------------------------------------------------------------------- single specs
