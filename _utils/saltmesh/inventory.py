"""Inventory model: the ``servers`` and ``saltmesh:mesh`` pillar parsed into frozen objects.

Every feature (mesh, containers, Nagios) reads the inventory through :func:`parse`, which
validates everything up front and raises one :class:`PillarError` listing each problem with
its pillar path (``servers:web01:container:networks:0:ip``). Nothing here touches the system.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saltmesh.errors import PillarError

NODE_TYPES = ("docker_host", "container", "server")
TUNNEL_TYPES = ("gre", "vxlan", "geneve")
DATAPATH_TYPES = ("system", "netdev")
IFNAMSIZ = 15  # visible bytes of a Linux interface name
RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")

# Names travel into Docker, OVS external_ids and Nagios: keep them boringly safe.
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")
_HOSTNAME_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
_MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


@dataclass(frozen=True)
class NetworkAttachment:
    """One container interface plugged into an OVS bridge (pipework style)."""

    bridge: str
    ip: Interface | None = None
    mac: str | None = None
    gateway: IP | None = None
    vlan: int | None = None
    mtu: int | None = None
    interface: str = "eth0"


@dataclass(frozen=True)
class ContainerSpec:
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: tuple[tuple[str, str], ...] | None = None
    labels: tuple[tuple[str, str], ...] | None = None
    ports: tuple[tuple[str, str], ...] | None = None
    volumes: tuple[str, ...] | None = None
    restart: str | None = None
    hostname: str | None = None
    user: str | None = None
    workdir: str | None = None
    memory: int | None = None
    cpus: float | None = None
    networks: tuple[NetworkAttachment, ...] = ()


@dataclass(frozen=True)
class Server:
    name: str
    node_type: str
    address: str
    minion_id: str
    use: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()
    hostgroups: tuple[str, ...] = ()
    alias: str | None = None
    services: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = ()
    container: ContainerSpec | None = None

    @property
    def ip(self) -> IP | None:
        return _as_ip(self.address)


@dataclass(frozen=True)
class MeshSettings:
    bridge: str = "br-mesh"
    name: str = ""  # identity of the mesh in external_ids; defaults to the bridge name
    datapath_type: str = "system"
    tunnel: str = "vxlan"
    key: int | None = None
    dst_port: int | None = None
    mtu: int | None = None
    underlay_mtu: int = 1500
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    underlay: tuple[tuple[str, str], ...] = ()  # host name -> underlay IP
    options: tuple[tuple[str, str], ...] = ()
    bfd: bool = False

    @property
    def mesh_name(self) -> str:
        return self.name or self.bridge


@dataclass(frozen=True)
class Inventory:
    servers: Mapping[str, Server]
    mesh: MeshSettings = field(default_factory=MeshSettings)

    def by_type(self, node_type: str) -> list[Server]:
        return [s for _, s in sorted(self.servers.items()) if s.node_type == node_type]

    @property
    def docker_hosts(self) -> list[Server]:
        return self.by_type("docker_host")

    def containers_on(self, host: str) -> list[Server]:
        return [s for s in self.by_type("container") if s.parents and s.parents[0] == host]

    def server_for_minion(self, minion_id: str) -> Server | None:
        for _, server in sorted(self.servers.items()):
            if server.minion_id == minion_id:
                return server
        return None


# --------------------------------------------------------------------------- parsing


def _as_ip(value: str) -> IP | None:
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


class _Reader:
    """Collects problems while walking pillar data; every read names its path."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def bad(self, path: str, msg: str) -> None:
        self.problems.append((path, msg))

    def mapping(self, value: Any, path: str) -> Mapping[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(path, f"must be a mapping, got {type(value).__name__}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.bad(path, f"key {key!r} must be a string")
                return None
        return value

    def keys(self, data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
        allowed = set(allowed)
        for key in sorted(set(data) - allowed):
            self.bad(f"{path}:{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, data: Mapping[str, Any], key: str, path: str, default: Any = None) -> Any:
        value = data.get(key, default)
        if value is default:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.bad(f"{path}:{key}", f"must be a string, got {type(value).__name__}")
            return default
        value = str(value)
        if any(c in value for c in "\n\r\0"):
            self.bad(f"{path}:{key}", "must not contain line breaks or NUL")
            return default
        return value

    def integer(
        self, data: Mapping[str, Any], key: str, path: str, lo: int, hi: int, default: Any = None
    ) -> Any:
        value = data.get(key, default)
        if value is default:
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(f"{path}:{key}", f"must be an integer, got {type(value).__name__}")
            return default
        if not lo <= value <= hi:
            self.bad(f"{path}:{key}", f"{value} is out of range {lo}..{hi}")
            return default
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.bad(f"{path}:{key}", f"must be true or false, got {value!r}")
            return default
        return value

    def choice(self, data: Mapping[str, Any], key: str, path: str, choices, default=None):
        value = self.string(data, key, path, default)
        if value is not default and value not in choices:
            self.bad(f"{path}:{key}", f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def names(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        """A string or a list of strings, kept in order, duplicates dropped."""
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")] if "," in value else [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(f"{path}:{key}", "must be a string or a list of strings")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if not _NAME_RE.match(item):
                self.bad(f"{path}:{key}:{i}", f"{item!r} is not a valid name")
            elif item not in out:
                out.append(item)
        return tuple(out)

    def str_map(self, data: Mapping[str, Any], key: str, path: str) -> tuple | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, list) and key == "env":  # docker-style ["K=V", ...]
            pairs = {}
            for i, item in enumerate(value):
                if not isinstance(item, str) or "=" not in item:
                    self.bad(f"{path}:{key}:{i}", "must be a KEY=VALUE string")
                    continue
                k, v = item.split("=", 1)
                pairs[k] = v
            value = pairs
        value = self.mapping(value, f"{path}:{key}")
        if value is None:
            return None
        out = []
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.bad(f"{path}:{key}:{k}", "must be a string or a number")
            elif any(c in str(v) for c in "\n\r\0"):
                self.bad(f"{path}:{key}:{k}", "must not contain line breaks or NUL")
            else:
                out.append((k, str(v)))
        return tuple(sorted(out))

    def argv(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            return tuple(str(v) for v in value)
        self.bad(f"{path}:{key}", "must be a string or a list of strings")
        return None


_SERVER_KEYS = (
    "node_type", "address", "use", "parents", "hostgroups", "minion_id", "alias",
    "services", "container",
)  # fmt: skip
_CONTAINER_KEYS = (
    "image", "command", "entrypoint", "env", "labels", "ports", "volumes", "restart",
    "hostname", "user", "workdir", "memory", "cpus", "networks",
)  # fmt: skip
_NETWORK_KEYS = ("bridge", "ip", "mac", "gateway", "vlan", "mtu", "interface")
_MESH_KEYS = (
    "bridge", "name", "datapath_type", "tunnel", "key", "dst_port", "mtu", "underlay_mtu",
    "subnet", "underlay", "options", "bfd",
)  # fmt: skip
_MEMORY_RE = re.compile(r"^(\d+)([bkmg]?)$", re.I)
_MEMORY_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def _ifname(r: _Reader, value: Any, path: str) -> str | None:
    if not isinstance(value, str) or not value:
        r.bad(path, "must be a non-empty string")
        return None
    if len(value.encode()) > IFNAMSIZ:
        r.bad(path, f"{value!r} is {len(value.encode())} bytes; interface names fit in {IFNAMSIZ}")
        return None
    if not _IFNAME_RE.match(value):
        r.bad(path, f"{value!r} has characters not allowed in an interface name")
        return None
    return value


def _network(r: _Reader, raw: Any, path: str, index: int) -> NetworkAttachment | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _NETWORK_KEYS, path)
    bridge = _ifname(r, data.get("bridge"), f"{path}:bridge")
    ip = None
    if data.get("ip") is not None:
        text = r.string(data, "ip", path)
        try:
            ip = ipaddress.ip_interface(text) if text else None
            if text and "/" not in text:
                r.bad(f"{path}:ip", f"{text!r} needs a prefix length, e.g. {text}/24")
                ip = None
        except ValueError:
            r.bad(f"{path}:ip", f"{text!r} is not an IP address with prefix (a.b.c.d/nn)")
    mac = r.string(data, "mac", path)
    if mac is not None:
        mac = mac.lower()
        if not _MAC_RE.match(mac):
            r.bad(f"{path}:mac", f"{mac!r} is not a MAC address")
            mac = None
        elif int(mac[:2], 16) & 1:
            r.bad(f"{path}:mac", f"{mac!r} is a multicast address")
            mac = None
    gateway = None
    if data.get("gateway") is not None:
        text = r.string(data, "gateway", path)
        gateway = _as_ip(text or "")
        if gateway is None:
            r.bad(f"{path}:gateway", f"{text!r} is not an IP address")
        elif ip is not None and gateway not in ip.network:
            r.bad(f"{path}:gateway", f"{gateway} is outside {ip.network}")
    interface = data.get("interface", f"eth{index}")
    interface = _ifname(r, interface, f"{path}:interface")
    return NetworkAttachment(
        bridge=bridge or "",
        ip=ip,
        mac=mac,
        gateway=gateway,
        vlan=r.integer(data, "vlan", path, 1, 4094),
        mtu=r.integer(data, "mtu", path, 68, 65535),
        interface=interface or "eth0",
    )


def _memory(r: _Reader, value: Any, path: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    m = _MEMORY_RE.match(str(value).strip())
    if not m:
        r.bad(path, f"{value!r} is not a size like 256m or 1g")
        return None
    return int(m.group(1)) * _MEMORY_UNITS[m.group(2).lower()]


def _container(r: _Reader, raw: Any, path: str) -> ContainerSpec | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _CONTAINER_KEYS, path)
    image = r.string(data, "image", path)
    if not image:
        r.bad(f"{path}:image", "is required")
    networks = []
    raw_nets = data.get("networks") or []
    if not isinstance(raw_nets, list):
        r.bad(f"{path}:networks", "must be a list")
        raw_nets = []
    for i, item in enumerate(raw_nets):
        net = _network(r, item, f"{path}:networks:{i}", i)
        if net is not None:
            networks.append(net)
    seen_if: set[str] = set()
    for i, net in enumerate(networks):
        if net.interface in seen_if:
            r.bad(f"{path}:networks:{i}:interface", f"{net.interface!r} is used twice")
        seen_if.add(net.interface)
    volumes = data.get("volumes")
    if volumes is not None and not (
        isinstance(volumes, list) and all(isinstance(v, str) for v in volumes)
    ):
        r.bad(f"{path}:volumes", "must be a list of 'source:target[:mode]' strings")
        volumes = None
    cpus = data.get("cpus")
    if cpus is not None and (isinstance(cpus, bool) or not isinstance(cpus, (int, float))):
        r.bad(f"{path}:cpus", "must be a number")
        cpus = None
    return ContainerSpec(
        image=image or "",
        command=r.argv(data, "command", path),
        entrypoint=r.argv(data, "entrypoint", path),
        env=r.str_map(data, "env", path),
        labels=r.str_map(data, "labels", path),
        ports=r.str_map(data, "ports", path),
        volumes=tuple(volumes) if volumes is not None else None,
        restart=r.choice(data, "restart", path, RESTART_POLICIES),
        hostname=r.string(data, "hostname", path),
        user=r.string(data, "user", path),
        workdir=r.string(data, "workdir", path),
        memory=_memory(r, data.get("memory"), f"{path}:memory"),
        cpus=float(cpus) if cpus is not None else None,
        networks=tuple(networks),
    )


def _services(r: _Reader, data: Mapping[str, Any], path: str) -> tuple:
    raw = r.mapping(data.get("services"), f"{path}:services")
    out = []
    for desc, directives in sorted((raw or {}).items()):
        spath = f"{path}:services:{desc}"
        directives = r.mapping(directives, spath)
        if directives is None:
            continue
        out.append((desc, r.str_map({"d": directives}, "d", spath) or ()))
    return tuple(out)


def _server(r: _Reader, name: str, raw: Any, placement: Mapping[str, str]) -> Server | None:
    path = f"servers:{name}"
    if not _NAME_RE.match(name):
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
    elif _as_ip(address) is None and (
        not _HOSTNAME_RE.match(address) or re.fullmatch(r"[\d.]+", address)
    ):
        r.bad(f"{path}:address", f"{address!r} is neither an IP address nor a host name")
    parents = r.names(data, "parents", path)
    container = None
    if node_type == "container":
        if "container" in data:
            container = _container(r, data["container"], f"{path}:container")
        if not parents and name in placement:
            parents = (placement[name],)
    elif "container" in data:
        r.bad(f"{path}:container", "only servers with node_type: container take a container spec")
    minion_id = r.string(data, "minion_id", path, name)
    return Server(
        name=name,
        node_type=node_type,
        address=address or "",
        minion_id=minion_id,
        use=r.names(data, "use", path),
        parents=parents,
        hostgroups=r.names(data, "hostgroups", path),
        alias=r.string(data, "alias", path),
        services=_services(r, data, path),
        container=container,
    )


def _mesh(r: _Reader, raw: Any, servers: Mapping[str, Server]) -> MeshSettings:
    path = "saltmesh:mesh"
    data = r.mapping(raw, path)
    if data is None:
        return MeshSettings()
    r.keys(data, _MESH_KEYS, path)
    bridge = _ifname(r, data.get("bridge", "br-mesh"), f"{path}:bridge") or "br-mesh"
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
        if _as_ip(str(ip)) is None:
            r.bad(upath, f"{ip!r} is not an IP address")
        underlay.append((host, str(ip)))
    options = r.str_map(data, "options", path) or ()
    reserved = {"remote_ip", "local_ip", "key", "dst_port"}
    for k, _ in options:
        if k in reserved:
            r.bad(f"{path}:options:{k}", "is set by the mesh itself; use the mesh keys")
    if tunnel == "gre" and data.get("dst_port") is not None:
        r.bad(f"{path}:dst_port", "GRE has no destination port")
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
    )


def _check_graph(r: _Reader, servers: Mapping[str, Server], external: set[str]) -> None:
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


def _check_unique(r: _Reader, servers: Mapping[str, Server]) -> None:
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
    r = _Reader()
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
    mesh = _mesh(r, saltmesh.get("mesh"), servers)
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
    return Inventory(servers=dict(sorted(servers.items())), mesh=mesh)


# --------------------------------------------------------------------------- single specs
# (added for issue 5: container states validate their arguments with the same rules as pillar)


def parse_container(raw: Mapping[str, Any], path: str = "container") -> ContainerSpec:
    """Validate one container spec (the ``container:`` mapping of a server) on its own."""
    r = _Reader()
    spec = _container(r, raw, path)
    if r.problems or spec is None:
        raise PillarError(r.problems or [(path, "invalid container spec")])
    return spec
