"""The inventory model: frozen objects built from the ``servers`` and ``saltmesh:mesh`` pillar."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass, field, fields

IP = ipaddress.IPv4Address | ipaddress.IPv6Address
Interface = ipaddress.IPv4Interface | ipaddress.IPv6Interface


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
    minion: MinionSpec | None = None


CONTAINER_KEYS = tuple(f.name for f in fields(ContainerSpec))  # the pillar keys of a spec


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

    @property
    def ip(self) -> IP | None:
        return as_ip(self.address)


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
class Inventory:
    servers: Mapping[str, Server]
    mesh: MeshSettings = field(default_factory=MeshSettings)
    containers: ContainerSettings = field(default_factory=ContainerSettings)

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
