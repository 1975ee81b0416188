"""A host's dnsmasq brought to its plan: the OVS port, its address, the files, the process.

:func:`ensure` reads what is there, compares it with the plan and, unless ``test``, makes it
so, in this order: the internal port ``smdns-<hex>`` on the mesh bridge (``external_ids``
``saltmesh-role=dns``, ``saltmesh-mesh=<mesh>``) and its address, in the netns where
ovs-vswitchd runs; the rendered files, checked first by ``dnsmasq --test`` on a staged copy
(a configuration dnsmasq refuses never replaces a working one) and then each replaced
atomically only when its text changed; then the daemon: started when not running, restarted
when the main configuration changed, sent SIGHUP when only the hosts files changed, left alone
otherwise. ``test`` runs the same comparison and the same ``dnsmasq --test`` (in a temporary
folder) and touches nothing.

A docker host that no longer runs one (discovery off, or its ``overlay_address`` removed) gets
:func:`remove`: the daemon stopped, the port removed, the files deleted.
"""

from __future__ import annotations

import contextlib
import os
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from saltmesh import fileio, proc, stateret
from saltmesh.discovery import render
from saltmesh.discovery.plan import ROLE, HostPlan, file_path
from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.ovs.ovsdb import Ovsdb

Runner = Callable[..., Any]


class DiscoveryError(SaltmeshError):
    """dnsmasq or its port could not be brought to the plan; the message says why."""


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def _count(text: str | None) -> int:
    return sum(1 for line in (text or "").splitlines() if line and not line.startswith("#"))


def _entries(text: str | None) -> set[str]:
    """``name.domain address`` of each addn-hosts line."""
    out = set()
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) >= 2 and not line.startswith("#"):
            out.add(f"{parts[1]} {parts[0]}")
    return out


class Host:
    """The docker host's side: OVSDB, the netns of ovs-vswitchd, processes."""

    def __init__(
        self, ovsdb: str | None = None, netns: str | None = None, runner: Runner = proc.run
    ):
        self.ovs = Ovsdb(ovsdb)
        self.netns = netns or None
        self.run = runner

    def ip(self, *args: str) -> list[str]:
        return ["ip", "-n", self.netns, *args] if self.netns else ["ip", *args]

    def in_netns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    # ------------------------------------------------------------------ reads
    def port(self, plan: HostPlan) -> str:
        """``absent``, ``ours`` or ``foreign`` (a port of that name without our identity)."""
        out = self.ovs.run("--if-exists", "get", "Port", plan.port, "external_ids").strip()
        if not out:
            return "absent"
        pairs = {k.strip(): v.strip().strip('"') for k, _, v in
                 (item.partition("=") for item in out.strip("{}").split(","))}  # fmt: skip
        return "ours" if pairs.get("saltmesh-role") == ROLE else "foreign"

    def addresses(self, plan: HostPlan) -> tuple[list[str], bool]:
        """The IPv4 addresses on the port and whether its link is up."""
        res = self.run(self.ip("-o", "-4", "addr", "show", "dev", plan.port), check=False)
        addrs = sorted(
            p[i + 1] for p in (line.split() for line in res.stdout.splitlines())
            for i, w in enumerate(p) if w == "inet" and i + 1 < len(p)
        )  # fmt: skip
        link = self.run(self.ip("-o", "link", "show", "dev", plan.port), check=False).stdout
        flags = link.split("<", 1)[-1].split(">", 1)[0].split(",") if "<" in link else []
        return addrs, "UP" in flags

    def pid(self, plan: HostPlan) -> int | None:
        """The running dnsmasq of this plan (pid file, process alive, our conf file), or None."""
        return self.pid_of(plan.path("pid"), plan.path("conf"))

    @staticmethod
    def pid_of(pid_path: str, conf_path: str) -> int | None:
        text = _read(pid_path)
        if not text or not text.strip().isdigit():
            return None
        pid = int(text.strip())
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as fh:
                argv = fh.read().split(b"\0")
        except OSError:
            return None
        if f"--conf-file={conf_path}".encode() not in argv:
            return None
        return pid

    def our_ports(self, mesh: str) -> list[str]:
        """The ports saltmesh made for a dnsmasq of ``mesh`` (by their ``external_ids``)."""
        out = self.ovs.run(
            "--bare", "--columns=name", "find", "Port",
            f"external_ids:saltmesh-role={ROLE}", f"external_ids:saltmesh-mesh={mesh}",
        )  # fmt: skip
        return sorted(out.split())

    # ------------------------------------------------------------------ writes
    def ensure_port(self, plan: HostPlan) -> None:
        port = plan.port
        self.ovs.transact([
            ("--may-exist", "add-port", plan.bridge, port),
            ("set", "Interface", port, "type=internal"),
            ("set", "Port", port, f"external_ids:saltmesh-role={ROLE}",
             f"external_ids:saltmesh-mesh={plan.mesh}"),
        ])  # fmt: skip

    def ensure_address(self, plan: HostPlan, have: list[str]) -> None:
        for addr in have:
            if addr != str(plan.address):
                self.run(self.ip("addr", "del", addr, "dev", plan.port))
        if str(plan.address) not in have:
            self.run(self.ip("addr", "add", str(plan.address), "dev", plan.port))
        self.run(self.ip("link", "set", "dev", plan.port, "up"))

    def check(self, plan: HostPlan, texts: dict[str, str]) -> None:
        """``dnsmasq --test`` on staged copies; :class:`DiscoveryError` with its words."""
        with tempfile.TemporaryDirectory(prefix="saltmesh-dnsmasq-") as tmp:
            hosts, dhcp, conf = (os.path.join(tmp, n) for n in ("hosts", "dhcp", "conf"))
            for path, key in ((hosts, "hosts"), (dhcp, "dhcp")):
                with open(path, "w", encoding="utf-8") as fh:
                    fh.write(texts.get(key, ""))
            with open(conf, "w", encoding="utf-8") as fh:
                fh.write(render.render_conf(plan, hosts=hosts, dhcp=dhcp))
                fh.write(render.inline_dhcp(plan))
            res = self.run([plan.binary, "--test", f"--conf-file={conf}"], check=False)
        if res.returncode != 0:
            words = " ".join((res.stderr or res.stdout).replace(conf, "<conf>").split())
            raise DiscoveryError(f"dnsmasq refuses the new configuration, kept the old: {words}")

    def start(self, plan: HostPlan) -> int:
        os.makedirs(plan.run_dir, exist_ok=True)
        self.run(self.in_netns([plan.binary, f"--conf-file={plan.path('conf')}"]))
        return self._wait(lambda: self.pid(plan), "start")

    def remove_ports(self, names: Sequence[str]) -> None:
        self.ovs.transact([("--if-exists", "del-port", name) for name in names])

    def stop(self, pid: int) -> None:
        os.kill(pid, signal.SIGTERM)
        self._wait(lambda: None if os.path.exists(f"/proc/{pid}") else True, "stop")

    @staticmethod
    def _wait(probe: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
        deadline = time.monotonic() + timeout
        while True:
            value = probe()
            if value:
                return value
            if time.monotonic() > deadline:
                raise DiscoveryError(f"dnsmasq did not {what} within {timeout:g} s")
            time.sleep(0.05)


def _failed(host: str, err: Exception, done: dict[str, Any] | None = None) -> dict[str, Any]:
    """A failed state return: what failed, on one line, and what was ``done`` before."""
    return stateret.failed(host, f"dnsmasq of {host}: {' '.join(str(err).split())}", done)


def _file_changes(plan: HostPlan, texts: dict[str, str], old: dict[str, str | None]) -> dict:
    changes: dict[str, Any] = {}
    if texts["conf"] != old["conf"]:
        changes["config"] = {
            "old": "absent" if old["conf"] is None else "other",
            "new": plan.path("conf"),
        }
    if texts["hosts"] != old["hosts"]:
        before, after = _entries(old["hosts"]), _entries(texts["hosts"])
        rec: dict[str, Any] = {"old": _count(old["hosts"]), "new": _count(texts["hosts"])}
        if after - before:
            rec["added"] = sorted(after - before)
        if before - after:
            rec["removed"] = sorted(before - after)
        changes["records"] = rec
    if "dhcp" in texts and texts["dhcp"] != old["dhcp"]:
        changes["dhcp_hosts"] = {"old": _count(old["dhcp"]), "new": _count(texts["dhcp"])}
    return changes


def ensure(plan: HostPlan, host: Host, *, test: bool) -> dict[str, Any]:
    """Bring ``plan`` about; a state return (see the module doc)."""
    texts = render.render(plan)
    old = {k: _read(plan.path(k)) for k in ("conf", "hosts", "dhcp")}
    changes: dict[str, Any] = {}
    try:
        port = host.port(plan)
        if port == "foreign":
            raise DiscoveryError(f"port {plan.port} on {plan.bridge} exists and is not saltmesh's")
        addrs, up = host.addresses(plan) if port == "ours" else ([], False)
        if port == "absent":
            changes["port"] = {"old": None, "new": plan.port}
        if addrs != [str(plan.address)] or not up:
            changes["address"] = {"old": addrs, "new": [str(plan.address)]}
        changes.update(_file_changes(plan, texts, old))
        pid = host.pid(plan)
        if pid is None:
            daemon = "running"
        elif "config" in changes:
            daemon = "restarted"
        elif "records" in changes or "dhcp_hosts" in changes:
            daemon = "reloaded"
        else:
            daemon = None
        if daemon:
            changes["dnsmasq"] = {"old": "stopped" if pid is None else "running", "new": daemon}
        summary = f"dnsmasq of {plan.host} on {plan.port} {plan.address}: {_count(texts['hosts'])} records"
        if not changes:
            return stateret.state_ret(plan.host, comment=f"{summary}, as planned")
        if {"config", "records", "dhcp_hosts"} & set(changes):
            host.check(plan, texts)
        if test:
            return stateret.state_ret(
                plan.host, changes=changes, comment=f"{summary}: would update", test=True
            )
    except (CommandError, OSError) as err:
        return _failed(plan.host, err)
    except DiscoveryError as err:
        return stateret.failed(plan.host, str(err))
    done: dict[str, Any] = {}
    try:
        _apply(plan, host, texts, old, changes, addrs, pid, done)
    except (CommandError, OSError, DiscoveryError) as err:
        return _failed(plan.host, err, done)
    return stateret.state_ret(plan.host, changes=changes, comment=f"{summary}, updated")


def _apply(
    plan: HostPlan,
    host: Host,
    texts: dict[str, str],
    old: dict[str, str | None],
    changes: dict[str, Any],
    addrs: list[str],
    pid: int | None,
    done: dict[str, Any],
) -> None:
    """The writes of :func:`ensure`, in order; ``done`` gets each change once it is made."""
    if "port" in changes:
        host.ensure_port(plan)
        done["port"] = changes["port"]
    if "address" in changes:
        host.ensure_address(plan, addrs)
        done["address"] = changes["address"]
    os.makedirs(plan.conf_dir, exist_ok=True)
    for key, change in (("dhcp", "dhcp_hosts"), ("hosts", "records"), ("conf", "config")):
        if change in changes:
            fileio.write_atomic(plan.path(key), texts[key].encode(), mode=0o644)
            done[change] = changes[change]
    daemon = changes.get("dnsmasq", {}).get("new")
    if daemon == "running":
        host.start(plan)
    elif daemon == "restarted" and pid is not None:
        host.stop(pid)
        host.start(plan)
    elif daemon == "reloaded" and pid is not None:
        os.kill(pid, signal.SIGHUP)
    if daemon:
        done["dnsmasq"] = changes["dnsmasq"]


@dataclass(frozen=True)
class Leftover:
    """Where a docker host that runs no dnsmasq (any more) may still have one of saltmesh's:
    discovery turned off, or the host's ``overlay_address`` removed."""

    host: str
    mesh: str
    conf_dir: str
    run_dir: str

    def path(self, kind: str) -> str:
        return file_path(self.conf_dir, self.run_dir, self.host, kind)

    def files(self) -> list[str]:
        """Our configuration files still there: while one is, there may be more to remove."""
        return [self.path(k) for k in ("conf", "hosts", "dhcp") if os.path.exists(self.path(k))]


def remove(left: Leftover, host: Host, *, test: bool, why: str) -> dict[str, Any]:
    """Stop the dnsmasq a plan left, remove its OVS port(s) and its files, in that order (the
    files go last: while one is there, the next run finishes the job). Nothing to do (no
    file of ours): the state says ``why``, with no process or OVSDB read."""
    files = left.files()
    if not files:
        return stateret.state_ret(left.host, comment=why)
    changes: dict[str, Any] = {}
    try:
        pid = host.pid_of(left.path("pid"), left.path("conf"))
        ports = host.our_ports(left.mesh)
    except (CommandError, OSError) as err:
        return _failed(left.host, err)
    if ports:
        changes["port"] = {"old": ports[0] if len(ports) == 1 else ports, "new": None}
    if pid is not None:
        changes["dnsmasq"] = {"old": "running", "new": "stopped"}
    changes["files"] = {"old": files, "new": []}
    if test:
        return stateret.state_ret(
            left.host, changes=changes, comment=f"{why}: would remove its dnsmasq", test=True
        )
    done: dict[str, Any] = {}
    try:
        if pid is not None:
            host.stop(pid)
            done["dnsmasq"] = changes["dnsmasq"]
        if ports:
            host.remove_ports(ports)
            done["port"] = changes["port"]
        for kind in ("pid", "leases", "dhcp", "hosts", "conf"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(left.path(kind))
        done["files"] = changes["files"]
    except (CommandError, OSError, DiscoveryError) as err:
        return _failed(left.host, err, done)
    return stateret.state_ret(left.host, changes=changes, comment=f"{why}: removed its dnsmasq")
