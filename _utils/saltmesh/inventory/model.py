"""The inventory model: frozen objects built from the ``servers`` and ``saltmesh:mesh`` pillar."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

T = TypeVar("T")

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


def with_(obj: T, **changes: Any) -> T:
    """A copy of dataclass ``obj`` with ``changes`` (``dataclasses.replace``, 5x cheaper)."""
    return type(obj)(**{**obj.__dict__, **changes})


def as_ip(value: str) -> IP | None:
    """``value`` as an IP address, or None when it is not one."""
    try:
        return ipaddress.ip_address(value)
    except ValueError:
        return None


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
    pool: str | None = None  # address and MAC come from this pool (saltmesh:pools)
    dhcp: bool = False  # the address comes from the mesh's DHCP server (saltmesh:discovery)
    rate: int | None = None  # kbps, both directions of the host-side OVS port
    burst: int | None = None  # kb, of the ingress policer (None: Open vSwitch's default)


@dataclass(frozen=True)
class MinionSpec:
    """``container:minion``: the container runs a salt-minion of ``master``.

    ``id`` is the server's ``minion_id`` (default: its name), filled in by the servers parser.
    """

    master: str
    master_port: int | None = None
    id: str = ""


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
    network_mode: str | None = None  # none (default with networks) | bridge (Docker's, too)
    minion: MinionSpec | None = None
    dns: tuple[str, ...] | None = None  # resolvers (IPs); default: the mesh's, with discovery
    dns_search: tuple[str, ...] | None = None  # search domains; default: the mesh domain


CONTAINER_KEYS = tuple(f.name for f in fields(ContainerSpec))  # the pillar keys of a spec


@dataclass(frozen=True)
class Resources:
    """CPUs and memory (bytes): a docker host's capacity, or what a container reserves."""

    cpus: float | None = None
    memory: int | None = None


@dataclass(frozen=True)
class Constraint:
    """One placement rule of a container or app (``servers:<name>:constraints:<i>``).

    ``kind``: ``unique`` and ``max_per`` (at most ``count`` per value of ``attribute``),
    ``spread`` (even over its values), ``match``/``avoid`` (only on / never on hosts whose
    ``attribute`` is one of ``values``), ``prefer`` (soft: ``weight`` added to matching hosts).
    ``attribute``: ``host``, ``zone``, ``rack`` or ``labels.<key>``.
    """

    kind: str
    attribute: str
    values: tuple[str, ...] = ()
    count: int = 0
    weight: int = 0
    path: str = ""

    def describe(self) -> str:
        """The rule as a reader would write it: ``unique host``, ``match zone=a|b``."""
        if self.kind in ("unique", "spread"):
            return f"{self.kind} {self.attribute}"
        if self.kind == "max_per":
            return f"max_per {self.attribute} {self.count}"
        text = f"{self.kind} {self.attribute}={'|'.join(self.values)}"
        return f"{text} ({self.weight:+d})" if self.kind == "prefer" else text


@dataclass(frozen=True)
class Pool:
    """An address pool (``saltmesh:pools:<name>``): containers' IPs and MACs come from it."""

    name: str
    subnet: ipaddress.IPv4Network
    first: ipaddress.IPv4Address
    last: ipaddress.IPv4Address
    gateway: ipaddress.IPv4Address | None = None

    @property
    def size(self) -> int:
        return int(self.last) - int(self.first) + 1


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
    # (description, directives); directives None: ``services: {desc: null}``, left out
    services: tuple[tuple[str, tuple[tuple[str, str], ...] | None], ...] = ()
    container: ContainerSpec | None = None
    # placement: a docker host's attributes and capacity ...
    zone: str | None = None
    rack: str | None = None
    labels: tuple[tuple[str, str], ...] = ()
    capacity: Resources | None = None
    # ... and a container's rules, its reservation, and the app it is an instance of
    constraints: tuple[Constraint, ...] = ()
    reserve: Resources | None = None
    app: str | None = None
    # a docker host's DNS/DHCP server address on the mesh bridge (saltmesh:discovery)
    overlay_address: ipaddress.IPv4Interface | None = None

    @property
    def ip(self) -> IP | None:
        return as_ip(self.address)

    def attribute(self, name: str) -> str | None:
        """A docker host's value of a rule's attribute: ``host``, ``zone``, ``rack``,
        ``labels.<key>``; None when the host has none."""
        if name == "host":
            return self.name
        if name in ("zone", "rack"):
            return getattr(self, name)
        if name.startswith("labels."):
            return dict(self.labels).get(name[len("labels.") :])
        return None

    @property
    def demand(self) -> Resources:
        """What a container reserves: ``reserve`` where given, else its limits, else 0."""
        spec = self.container
        reserve = self.reserve or Resources()
        cpus = reserve.cpus if reserve.cpus is not None else (spec.cpus if spec else None)
        memory = reserve.memory if reserve.memory is not None else (spec.memory if spec else None)
        return Resources(cpus or 0.0, memory or 0)


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
    domain: str = "mesh.internal"  # every server and container is <name>.<domain>
    topology: str = "full"  # full: a tunnel port per peer; flow: one flow-based port + rules
    macs: tuple[tuple[str, str], ...] = ()  # (MAC, docker host): known MACs that are no container

    @property
    def mesh_name(self) -> str:
        return self.name or self.bridge


PRUNE_MODES = (True, False, "stop")


@dataclass(frozen=True)
class ContainerSettings:
    """``saltmesh:containers``: what a docker host does with managed containers it no longer runs.

    ``prune``: ``True`` removes them (with their OVS ports), ``"stop"`` only stops them, ``False``
    leaves them alone, except that a container moved to another docker host is always stopped
    (its IP and MAC must not live twice). ``prune_max``: more removals than this in one run
    remove none and fail the state (None: no limit).
    """

    prune: bool | str = True
    prune_max: int | None = None


@dataclass(frozen=True)
class DiscoverySettings:
    """``saltmesh:discovery``: one dnsmasq per docker host with an ``overlay_address``.

    ``dhcp``: each ``dhcp: true`` container's address, allocated from ``dhcp_range`` by
    :func:`saltmesh.inventory.discovery.allocate` (name -> address, sorted by name).
    """

    enabled: bool = False
    dhcp_range: tuple[ipaddress.IPv4Address, ipaddress.IPv4Address] | None = None
    upstream: tuple[str, ...] = ()  # empty: the host's resolv.conf
    conf_dir: str = "/etc/saltmesh/dnsmasq"
    run_dir: str = "/run/saltmesh/dnsmasq"
    binary: str = "/usr/sbin/dnsmasq"
    packages: tuple[str, ...] = ("dnsmasq-base",)
    dhcp: tuple[tuple[str, ipaddress.IPv4Address], ...] = ()


@dataclass(frozen=True)
class Inventory:
    servers: Mapping[str, Server]
    mesh: MeshSettings = field(default_factory=MeshSettings)
    containers: ContainerSettings = field(default_factory=ContainerSettings)
    pools: Mapping[str, Pool] = field(default_factory=dict)
    # containers that wait for a pool address (not yet recorded by ``placement.apply``): no
    # state runs them and Nagios does not see them until they have one
    pending: Mapping[str, Server] = field(default_factory=dict)
    apps: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # app -> instance names
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)

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
