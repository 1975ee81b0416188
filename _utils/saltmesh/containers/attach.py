"""Access layer: pipework done right, a container's netns plugged into an OVS bridge by a veth.

For each ``NetworkAttachment`` of a running container:

* host side ``vsm<12 hex>`` (:mod:`~saltmesh.containers.names`), created in the namespace where
  ovs-vswitchd runs (``netns``; ``None`` = root namespace) and added to the bridge as a port
  whose ``external_ids`` name the container and interface (:mod:`~saltmesh.containers.ports`);
* container side created as ``vsp<12 hex>`` directly in the container's netns, then renamed to
  the declared interface and given its MAC, address, MTU, default route; transmit checksum
  offload is switched off there (userspace OVS forwards unfinished checksums: TCP dies);
* ``dhcp: true``: once the port is on the bridge, the address is asked from the DHCP server
  on the bridge (busybox ``udhcpc`` in the container's netns, :mod:`~saltmesh.containers.dhcp`)
  and applied like a static one; the MAC is derived from the container's name when not given;
* once the port is on the bridge, the address is announced: ``arp_notify`` on and the
  interface bounced, so the kernel sends a gratuitous ARP (pipework's ``arping -A``) and the
  bridges of the mesh learn where the MAC is now (it stays the same when a container moves).
  ``announce=False`` (minion option ``saltmesh:garp: false``) leaves it out: for measuring
  what it buys, never for production.

A network's ``rate``/``burst`` become limits on the host-side port
(:mod:`~saltmesh.containers.rates`): created with the port, changed in place afterwards.

Whether an attachment is intact is read without entering the container. A ``docker restart``
changes the PID and destroys the veth, so the next run re-attaches. Ports carrying our
``external_ids`` whose container is gone (or no longer belongs here) are orphans and are removed.

All OVSDB access goes through :mod:`saltmesh.ovs.ovsdb` and the diffs of :mod:`saltmesh.ovs`; processes are
argument lists (``ip``, ``nsenter``, ``ethtool``) run by :mod:`saltmesh.proc`, never a shell.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from saltmesh import proc
from saltmesh.containers import dhcp, rates
from saltmesh.containers.iproute import (
    announce_batch,
    arp_notify,
    inside_batch,
    ip,
    link_names,
    veth_add,
)
from saltmesh.containers.names import host_ifname, peer_ifname
from saltmesh.containers.ports import EXT_IFACE, check, describe, owned_ports, port_spec
from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.inventory import NetworkAttachment
from saltmesh.inventory.containers import dhcp_macs
from saltmesh.inventory.model import ContainerSpec
from saltmesh.ovs.ovsdb import VSCTL, Ovsdb
from saltmesh.ovs.port import diff_port, remove_port
from saltmesh.ovs.schema import Snapshot

Runner = Callable[[Sequence[str], str | None], str]


def run(argv: Sequence[str], stdin: str | None = None) -> str:
    """Run ``argv`` (no shell); return stdout or raise CommandError (also on a timeout)."""
    return proc.output(argv, stdin=stdin)


def _nsenter(pid: int) -> list[str]:
    """The prefix running a command in the network namespace of process ``pid``."""
    return ["nsenter", "-t", str(pid), "-n"]


def have_ovs() -> bool:
    """Whether the Open vSwitch client is installed here."""
    return shutil.which(VSCTL) is not None


class Attacher:
    """Attachments on one Docker host: its OVSDB and the netns where ovs-vswitchd runs.

    Reads happen once and lazily (one ovs-vsctl snapshot, one link listing), so checking N
    containers costs the same as checking one.
    """

    def __init__(
        self,
        ovsdb: str | None = None,
        netns: str | None = None,
        runner: Runner = run,
        announce: bool = True,
    ):
        self.ovsdb = Ovsdb(ovsdb)
        self.netns = netns or None
        self.run = runner
        self.announce = announce
        self._snap: Snapshot | None = None
        self._links: set[str] | None = None
        self._rates: rates.Rates | None = None

    # -- reads
    @property
    def snap(self) -> Snapshot:
        if self._snap is None:
            self._snap = self.ovsdb.snapshot()
        return self._snap

    @property
    def limits(self) -> rates.Rates:
        """Policing, QoS references and QoS rows (:mod:`~saltmesh.containers.rates`)."""
        if self._rates is None:
            self._rates = rates.parse(self.ovsdb.run(*rates.READ_ARGS))
        return self._rates

    @property
    def links(self) -> set[str]:
        if self._links is None:
            if self.netns is None:
                self._links = set(os.listdir("/sys/class/net"))
            else:
                self._links = link_names(self.run(ip(self.netns, "-o", "link", "show"), None))
        return self._links

    def ports_of(self, container: str) -> list[str]:
        """The OVS ports attaching ``container``."""
        return list(owned_ports(self.snap, container))

    # -- planning
    def validate(self, container: str, networks: Iterable[NetworkAttachment]) -> None:
        for net in networks:
            if net.bridge not in self.snap.bridges:
                raise SaltmeshError(
                    f"container {container}: bridge {net.bridge} does not exist on this host's "
                    f"Open vSwitch ({self.ovsdb.db or 'default socket'})"
                )
            if net.rate and shutil.which("tc") is None:
                raise SaltmeshError(
                    f"container {container} {net.interface}: rate needs tc (iproute2) on the "
                    "docker host for the shaper inside the container; install iproute2"
                )
            if net.dhcp and dhcp.busybox() is None:
                raise SaltmeshError(
                    f"container {container} {net.interface}: dhcp: true needs busybox (its "
                    "udhcpc is the DHCP client) on the docker host; install busybox"
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
        """Attach what is missing; return ``{interface: {"old": reason, "new": settings}}``
        (a ``dhcp: true`` attachment's ``new`` has the leased ``ip``, except in test mode).
        Intact attachments get their ``rate``/``burst`` in place, in one transaction:
        ``{interface: {"rate": {"old", "new"}, "burst": ...}}``."""
        networks = dhcp_macs(container, ContainerSpec("", networks=tuple(networks))).networks
        self.validate(container, networks)
        changes: dict[str, Any] = {}
        declared = {host_ifname(container, net.interface) for net in networks}
        stale = [p for p in self.ports_of(container) if p not in declared]
        for port in stale:  # an interface dropped from the declaration
            iface = self.snap.ports[port].external_ids.get(EXT_IFACE, port)
            changes[iface] = {"old": "attached", "new": None}
        self.detach(stale, test)
        pending = self.pending(container, networks, pid)
        redo = {net.interface for net, _ in pending}
        changes.update(
            self._rates_of(container, [n for n in networks if n.interface not in redo], pid, test)
        )
        for net, reason in pending:
            changes[net.interface] = {"old": reason, "new": describe(net)}
            if not test:
                leased = self._attach(container, net, pid)
                if leased is not None:
                    changes[net.interface]["new"]["ip"] = str(leased)
        return changes

    def _rates_of(
        self, container: str, networks: Sequence[NetworkAttachment], pid: int, test: bool
    ) -> dict[str, Any]:
        """Bring the rates of intact attachments to their declaration, as ONE transaction
        (with our orphaned QoS rows of ``container`` destroyed), then their shapers inside the
        container; ``{interface: changes}``."""
        clauses, changes = rates.orphans(container, self.limits)
        shapers = []
        for i, net in enumerate(networks):
            cl, ch = rates.diff_rate(container, net, self.limits, ref=f"@smq{i}")
            clauses += cl
            if pid and rates.limited(container, net, self.limits):
                have = rates.shaper_of(self.run([*_nsenter(pid), *rates.shaper_read(net)], None))
                argv = rates.shaper_argv(net, have)
                if argv:
                    shapers.append([*_nsenter(pid), *argv])
                    want = rates.shaper_want(net)
                    ch["shaper"] = {"old": rates.shaper_view(have), "new": rates.shaper_view(want)}
            if ch:
                changes.setdefault(net.interface, {}).update(ch)
        if not test:
            if clauses:
                self.ovsdb.transact(clauses)
                self._rates = None
            for argv in shapers:
                self.run(argv, None)
        return changes

    def _drop_port(self, name: str) -> None:
        """Delete port ``name`` and our QoS row of it, in one transaction."""
        clauses, _ = remove_port(name, self.snap)
        self.ovsdb.transact(clauses + rates.drop_qos([name], self.limits) if clauses else [])
        self._rates = None
        ports = {k: v for k, v in self.snap.ports.items() if k != name}
        ifaces = {k: v for k, v in self.snap.interfaces.items() if k != name}
        self._snap = dataclasses.replace(self.snap, ports=ports, interfaces=ifaces)

    def _attach(self, container: str, net: NetworkAttachment, pid: int) -> Any:
        """Plug ``net`` in; return the leased address of a ``dhcp: true`` network."""
        if not pid:
            raise SaltmeshError(f"container {container} is not running; cannot attach it")
        host, peer = host_ifname(container, net.interface), peer_ifname(container, net.interface)
        if host in self.snap.ports:  # a stale row (restart): delete first, in its own txn
            self._drop_port(host)
        if host in self.links:
            self.run(ip(self.netns, "link", "del", host), None)
            self.links.discard(host)
        self.run(veth_add(self.netns, host, peer, net.mtu, pid), None)
        self.links.add(host)
        nsenter = _nsenter(pid)
        self.run([*nsenter, "ip", "-batch", "-"], inside_batch(peer, net))
        if shutil.which("ethtool"):
            self.run([*nsenter, "ethtool", "-K", net.interface, "tx", "off"], None)
        shaper = rates.shaper_argv(net, None)
        if shaper:
            self.run([*nsenter, *shaper], None)
        self.run(ip(self.netns, "link", "set", "dev", host, "up"), None)
        clauses, _ = diff_port(port_spec(container, net, pid), self.snap)
        limits, _ = rates.diff_rate(container, net, self.limits, new_port=True)
        self.ovsdb.transact(clauses + limits)  # the limits come with the port, never after
        self._snap = self._rates = None  # re-read lazily if another container needs it
        address, gateway, lease = net.ip, net.gateway, None
        if net.dhcp:
            lease = self._lease(container, net, pid)
            address, gateway = lease.ip, net.gateway or lease.router
            self.run(
                [*nsenter, "ip", "-batch", "-"], dhcp.lease_batch(net.interface, lease, gateway)
            )
        if (
            self.announce
            and address is not None
            and address.version == 4
            and shutil.which("sysctl")
        ):
            # announce the address now that the port is on the bridge (pipework's arping -A):
            # a container moved to this host keeps its MAC, and every bridge of the mesh still
            # sends that MAC towards the old host until it hears from it
            self.run([*nsenter, "sysctl", "-q", "-w", arp_notify(net.interface)], None)
            self.run([*nsenter, "ip", "-batch", "-"], announce_batch(net, gateway))
        return lease.ip if lease is not None else None

    def _lease(self, container: str, net: NetworkAttachment, pid: int) -> dhcp.Lease:
        """Ask the DHCP server on the bridge (the port is on it now). Without a lease the port
        is taken off again, so the next run re-attaches instead of keeping an addressless one."""
        busybox = dhcp.busybox() or dhcp.BUSYBOX
        with tempfile.TemporaryDirectory(prefix="saltmesh-dhcp-") as tmp:
            argv = dhcp.client_argv(busybox, pid, net.interface, dhcp.write_script(tmp))
            try:
                said, lease = "", dhcp.parse_lease(self.run(argv, None))
            except CommandError as err:
                said, lease = err.stderr, None
        if lease is None:
            self._drop_port(host_ifname(container, net.interface))
            raise SaltmeshError(dhcp.describe_failure(container, net.interface, net.bridge, said))
        return lease

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
                    self.run(ip(self.netns, "link", "del", name), None)
                self.links.discard(name)
        return removed

    def prune(self, keep: Mapping[str, Iterable[str]] | set[str], test: bool) -> list[str]:
        """Remove owned ports whose container is not in ``keep`` (container names)."""
        keep = set(keep)
        return self.detach([p for p, c in owned_ports(self.snap).items() if c not in keep], test)
