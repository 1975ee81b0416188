"""Pipework done right: plug a container's netns into an OVS bridge with a veth pair.

For each ``NetworkAttachment`` of a running container:

* host side ``vsm<12 hex>`` (a stable hash of container + interface, 15 bytes, never the PID),
  created in the namespace where ovs-vswitchd runs (``netns``; ``None`` = root namespace) and
  added to the bridge as a port whose ``external_ids`` name the container and interface;
* container side created as ``vsp<12 hex>`` directly in the container's netns, then renamed to
  the declared interface and given its MAC, address, MTU, default route; transmit checksum
  offload is switched off there (userspace OVS forwards unfinished checksums: TCP dies).

Whether an attachment is intact is read without entering the container: the OVS port must exist
with our ``external_ids`` recording the container's current PID and a fingerprint of the
declared settings, and the host-side veth must exist. A ``docker restart`` changes the PID and
destroys the veth, so the next run re-attaches. Ports carrying our ``external_ids`` whose
container is gone (or no longer belongs here) are orphans and are removed.

All OVSDB access goes through :mod:`saltmesh.ovsdb` / :mod:`saltmesh.ovsdiff`; processes are
argument lists (``ip``, ``nsenter``, ``ethtool``), never a shell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.inventory import NetworkAttachment
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.port import diff_port, remove_port
from saltmesh.ovs.schema import Snapshot
from saltmesh.ovs.spec import PortSpec

EXT_CONTAINER = "saltmesh-container"
EXT_IFACE = "saltmesh-iface"
EXT_PID = "saltmesh-pid"
EXT_CONFIG = "saltmesh-config"
DEFAULT_MTU = 1500

Runner = Callable[[Sequence[str], str | None], str]


def _digest(container: str, interface: str) -> str:
    return hashlib.sha256(f"{container}/{interface}".encode()).hexdigest()[:12]


def host_ifname(container: str, interface: str) -> str:
    """Host-side veth name: ``vsm`` + 12 hex of sha256(container/interface), 15 bytes."""
    return "vsm" + _digest(container, interface)


def peer_ifname(container: str, interface: str) -> str:
    """Temporary container-side name, before the rename to ``interface``."""
    return "vsp" + _digest(container, interface)


def fingerprint(net: NetworkAttachment) -> str:
    """A short hash of every declared setting: a change means re-attach."""
    text = "|".join(
        str(v) for v in (net.bridge, net.interface, net.ip, net.mac, net.gateway, net.mtu, net.vlan)
    )
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe(net: NetworkAttachment) -> dict[str, Any]:
    """The attachment as reported in ``changes``."""
    out: dict[str, Any] = {"bridge": net.bridge}
    for key in ("ip", "mac", "gateway", "vlan", "mtu"):
        value = getattr(net, key)
        if value is not None:
            out[key] = str(value) if key in ("ip", "gateway") else value
    return out


def port_spec(container: str, net: NetworkAttachment, pid: int) -> PortSpec:
    name = host_ifname(container, net.interface)
    return PortSpec(
        name=name,
        bridge=net.bridge,
        tag=net.vlan,
        external_ids={EXT_CONTAINER: container, EXT_IFACE: net.interface},
        iface_external_ids={
            "container_id": container,  # the keys ovs-docker uses, so its tools find ours
            "container_iface": net.interface,
            EXT_CONTAINER: container,
            EXT_IFACE: net.interface,
            EXT_PID: str(pid),
            EXT_CONFIG: fingerprint(net),
        },
    )


def check(
    container: str, net: NetworkAttachment, pid: int, snap: Snapshot, links: set[str]
) -> str | None:
    """Pure: why the attachment must be (re)done, or None when it is intact."""
    name = host_ifname(container, net.interface)
    port = snap.ports.get(name)
    iface = snap.interfaces.get(name)
    if port is None or iface is None:
        return "not attached"
    ext = iface.external_ids
    if ext.get(EXT_CONTAINER) != container:
        return "port belongs to another container"
    if ext.get(EXT_CONFIG) != fingerprint(net) or port.bridge != net.bridge:
        return "settings changed"
    if ext.get(EXT_PID) != str(pid):
        return "container restarted"
    if name not in links:
        return "host veth missing"
    return None


def owned_ports(snap: Snapshot) -> dict[str, str]:
    """Ports carrying our container external_ids: port name -> container name."""
    return {
        name: port.external_ids[EXT_CONTAINER]
        for name, port in sorted(snap.ports.items())
        if port.external_ids.get(EXT_CONTAINER)
    }


# --------------------------------------------------------------------------- processes


def run(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run ``argv`` (no shell); return stdout or raise CommandError with stderr."""
    if shutil.which(argv[0]) is None:
        raise CommandError(list(argv), 127, f"{argv[0]} not found on PATH")
    proc = subprocess.run(
        list(argv),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        env={**os.environ, "LC_ALL": "C"},
    )
    if proc.returncode != 0:
        raise CommandError(list(argv), proc.returncode, proc.stderr or proc.stdout)
    return proc.stdout


_LINK_RE = re.compile(r"^\d+:\s+([^:@\s]+)")


class Attacher:
    """Attachments on one Docker host: its OVSDB and the netns where ovs-vswitchd runs.

    Reads happen once and lazily (one ovs-vsctl snapshot, one link listing), so checking N
    containers costs the same as checking one.
    """

    def __init__(self, ovsdb: str | None = None, netns: str | None = None, runner: Runner = run):
        self.ovsdb = Ovsdb(ovsdb)
        self.netns = netns or None
        self.run = runner
        self._snap: Snapshot | None = None
        self._links: set[str] | None = None

    # -- reads
    @property
    def snap(self) -> Snapshot:
        if self._snap is None:
            self._snap = self.ovsdb.snapshot()
        return self._snap

    @property
    def links(self) -> set[str]:
        if self._links is None:
            if self.netns is None:
                self._links = set(os.listdir("/sys/class/net"))
            else:
                out = self.run(["ip", "-n", self.netns, "-o", "link", "show"], None)
                self._links = {m.group(1) for m in map(_LINK_RE.match, out.splitlines()) if m}
        return self._links

    def _ip(self, *args: str) -> list[str]:
        return ["ip", "-n", self.netns, *args] if self.netns else ["ip", *args]

    # -- planning
    def validate(self, container: str, networks: Iterable[NetworkAttachment]) -> None:
        for net in networks:
            if net.bridge not in self.snap.bridges:
                raise SaltmeshError(
                    f"container {container}: bridge {net.bridge} does not exist on this host's "
                    f"Open vSwitch ({self.ovsdb.db or 'default socket'})"
                )

    def pending(
        self, container: str, networks: Iterable[NetworkAttachment], pid: int
    ) -> list[tuple[NetworkAttachment, str]]:
        """Attachments to (re)do, with the reason (pid 0: not started yet, in test mode)."""
        out = []
        for net in networks:
            reason = check(container, net, pid, self.snap, self.links)
            if reason:
                out.append((net, reason))
        return out

    # -- writes
    def ensure(
        self, container: str, networks: Sequence[NetworkAttachment], pid: int, test: bool
    ) -> dict[str, Any]:
        """Attach what is missing; return ``{interface: {"old": reason, "new": settings}}``."""
        self.validate(container, networks)
        changes: dict[str, Any] = {}
        declared = {host_ifname(container, net.interface) for net in networks}
        stale = [p for p in self.ports_of(container) if p not in declared]
        for port in stale:  # an interface dropped from the declaration
            iface = self.snap.ports[port].external_ids.get(EXT_IFACE, port)
            changes[iface] = {"old": "attached", "new": None}
        self.detach(stale, test)
        for net, reason in self.pending(container, networks, pid):
            changes[net.interface] = {"old": reason, "new": describe(net)}
            if not test:
                self._attach(container, net, pid)
        return changes

    def _drop_port(self, name: str) -> None:
        clauses, _ = remove_port(name, self.snap)
        self.ovsdb.transact(clauses)
        ports = {k: v for k, v in self.snap.ports.items() if k != name}
        ifaces = {k: v for k, v in self.snap.interfaces.items() if k != name}
        self._snap = dataclasses.replace(self.snap, ports=ports, interfaces=ifaces)

    def _attach(self, container: str, net: NetworkAttachment, pid: int) -> None:
        if not pid:
            raise SaltmeshError(f"container {container} is not running; cannot attach it")
        host, peer = host_ifname(container, net.interface), peer_ifname(container, net.interface)
        mtu = str(net.mtu or DEFAULT_MTU)
        if host in self.snap.ports:  # a stale row (restart): delete first, in its own txn
            self._drop_port(host)
        if host in self.links:
            self.run(self._ip("link", "del", host), None)
            self.links.discard(host)
        self.run(
            self._ip(
                "link", "add", host, "mtu", mtu, "type", "veth",
                "peer", "name", peer, "mtu", mtu, "netns", str(pid),
            ),
            None,
        )  # fmt: skip
        self.links.add(host)
        inside = [f"link set dev {peer} name {net.interface}"]
        if net.mac:
            inside.append(f"link set dev {net.interface} address {net.mac}")
        if net.ip is not None:
            inside.append(f"addr add {net.ip} dev {net.interface}")
        inside.append(f"link set dev {net.interface} up")
        if net.gateway is not None:
            inside.append(f"route replace default via {net.gateway} dev {net.interface}")
        nsenter = ["nsenter", "-t", str(pid), "-n"]
        self.run([*nsenter, "ip", "-batch", "-"], "\n".join(inside) + "\n")
        if shutil.which("ethtool"):
            self.run([*nsenter, "ethtool", "-K", net.interface, "tx", "off"], None)
        self.run(self._ip("link", "set", "dev", host, "up"), None)
        clauses, _ = diff_port(port_spec(container, net, pid), self.snap)
        self.ovsdb.transact(clauses)
        self._snap = None  # re-read lazily if another container needs it

    def detach(self, ports: Iterable[str], test: bool) -> list[str]:
        """Remove our ports (and their host veths); returns the names removed."""
        removed = []
        for name in sorted(set(ports)):
            if name not in self.snap.ports:
                continue
            removed.append(name)
            if test:
                continue
            self._drop_port(name)
            if name in self.links:
                with contextlib.suppress(CommandError):  # vanished with its container
                    self.run(self._ip("link", "del", name), None)
                self.links.discard(name)
        return removed

    def prune(self, keep: Mapping[str, Iterable[str]] | set[str], test: bool) -> list[str]:
        """Remove owned ports whose container is not in ``keep`` (container names)."""
        keep = set(keep)
        return self.detach(
            [port for port, ctr in owned_ports(self.snap).items() if ctr not in keep], test
        )

    def ports_of(self, container: str) -> list[str]:
        return [p for p, c in owned_ports(self.snap).items() if c == container]
