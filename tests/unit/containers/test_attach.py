"""The Attacher over a recording runner and an in-memory OVSDB: what it runs, in which order."""

from __future__ import annotations

import json
import subprocess

import pytest

from saltmesh import proc
from saltmesh.containers import attach, names, ports, rates
from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.ovs.schema import Bridge, Interface, Port, Snapshot
from tests.unit.containers.fakes import spec

NET = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "mtu": 1450}]).networks


def rates_text(ports=(), ifaces=(), qos=()):
    """What ovs-vsctl answers to rates.READ_ARGS: rows in OVSDB JSON."""
    tables = (
        (["name", "qos"], ports),
        (["name", "ingress_policing_rate", "ingress_policing_burst"], ifaces),
        (["_uuid", "type", "other_config", "external_ids"], qos),
    )
    return "\n".join(json.dumps({"headings": h, "data": list(rows)}) for h, rows in tables)


class FakeOvsdb:
    db = None

    def __init__(self, snap, limits=""):
        self.snap = snap
        self.limits = limits or rates_text()
        self.transactions = []

    def snapshot(self):
        return self.snap

    def run(self, *args):
        assert args == rates.READ_ARGS
        return self.limits

    def transact(self, clauses):
        self.transactions.append([list(c) for c in clauses])


class Runner:
    def __init__(self, links=(), fail=()):
        self.calls = []
        self.links = set(links)
        self.fail = set(fail)

    def __call__(self, argv, stdin):
        self.calls.append((list(argv), stdin))
        if argv[-1] in self.fail:
            raise CommandError(list(argv), 1, "Cannot find device")
        if argv[-3:] == ["-o", "link", "show"]:
            return "".join(f"{i}: {n}: <UP> mtu 1500\n" for i, n in enumerate(self.links, 1))
        return ""


def owned(container, interface, pid=42):
    name = names.host_ifname(container, interface)
    same = [n for n in NET if n.interface == interface]  # as declared: only the PID may differ
    net = (
        same[0] if same else spec(networks=[{"bridge": "br0", "interface": interface}]).networks[0]
    )
    ext = ports.port_spec(container, net, pid).iface_external_ids
    port = Port(name, f"p-{name}", bridge="br0", external_ids={ports.EXT_CONTAINER: container,
                                                               ports.EXT_IFACE: interface})  # fmt: skip
    return port, Interface(name, f"i-{name}", external_ids=dict(ext), port=name)


def attacher(*rows, links=(), fail=()):
    snap = Snapshot(
        bridges={"br0": Bridge("br0", "b0", ports=tuple(p.name for p, _ in rows))},
        ports={p.name: p for p, _ in rows},
        interfaces={i.name: i for _, i in rows},
    )
    a = attach.Attacher(netns="hostA", runner=Runner(links, fail))
    a.ovsdb = FakeOvsdb(snap)
    return a


@pytest.fixture(autouse=True)
def _no_ethtool(monkeypatch):
    monkeypatch.setattr(attach.shutil, "which", lambda name: None)


def test_validate_names_the_missing_bridge():
    a = attacher()
    a.validate("web01", NET)
    other = spec(networks=[{"bridge": "br-x"}]).networks
    with pytest.raises(SaltmeshError, match="bridge br-x does not exist .*default socket"):
        a.validate("web01", other)


def test_test_mode_only_reads():
    a = attacher()
    changes = a.ensure("web01", NET, 0, test=True)
    assert changes == {"eth0": {"old": "not attached", "new": ports.describe(NET[0])}}
    assert [argv for argv, _ in a.run.calls] == [["ip", "-n", "hostA", "-o", "link", "show"]]
    assert a.ovsdb.transactions == []


def test_attach_runs_veth_nsenter_and_one_transaction():
    a = attacher()
    changes = a.ensure("web01", NET, 42, test=False)
    assert list(changes) == ["eth0"]
    host, peer = names.host_ifname("web01", "eth0"), names.peer_ifname("web01", "eth0")
    argvs = [argv for argv, _ in a.run.calls]
    assert argvs[1][:6] == ["ip", "-n", "hostA", "link", "add", host]
    assert argvs[1][-6:] == ["name", peer, "mtu", "1450", "netns", "42"]
    assert argvs[2] == ["nsenter", "-t", "42", "-n", "ip", "-batch", "-"]
    assert a.run.calls[2][1].startswith(f"link set dev {peer} name eth0\n")
    assert argvs[3] == ["ip", "-n", "hostA", "link", "set", "dev", host, "up"]
    (txn,) = a.ovsdb.transactions
    assert txn[0][:3] == ["add-port", "br0", host]


def test_attach_announces_the_address_once_on_the_bridge(monkeypatch):
    """After the port is on the bridge: arp_notify on, the interface bounced (a gratuitous
    ARP), the default route back; nothing to announce without an IPv4 address or sysctl."""
    monkeypatch.setattr(attach.shutil, "which", lambda binary: f"/usr/sbin/{binary}")
    net = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "gateway": "10.0.0.1",
                          "interface": "eth1"}]).networks  # fmt: skip
    a = attacher()
    a.ensure("web01", net, 42, test=False)
    nsenter = ["nsenter", "-t", "42", "-n"]
    assert a.run.calls[-2] == ([*nsenter, "sysctl", "-q", "-w",
                                "net/ipv4/conf/eth1/arp_notify=1"], None)  # fmt: skip
    assert a.run.calls[-1] == (
        [*nsenter, "ip", "-batch", "-"],
        "link set dev eth1 down\nlink set dev eth1 up\n"
        "route replace default via 10.0.0.1 dev eth1\n",
    )
    bare = attacher()
    bare.ensure("web01", spec(networks=[{"bridge": "br0"}]).networks, 42, test=False)
    assert not any("sysctl" in argv for argv, _ in bare.run.calls)
    monkeypatch.setattr(attach.shutil, "which", lambda binary: None)
    no_sysctl = attacher()
    no_sysctl.ensure("web01", net, 42, test=False)
    assert not any("sysctl" in argv for argv, _ in no_sysctl.run.calls)


def test_restart_replaces_stale_port_and_veth():
    a = attacher(owned("web01", "eth0", pid=41), links=[names.host_ifname("web01", "eth0")])
    assert a.ensure("web01", NET, 42, test=False)["eth0"]["old"] == "container restarted"
    host = names.host_ifname("web01", "eth0")
    assert a.ovsdb.transactions[0] == [["del-port", "br0", host]]
    assert ["ip", "-n", "hostA", "link", "del", host] in [argv for argv, _ in a.run.calls]
    assert len(a.ovsdb.transactions) == 2


def test_not_running_cannot_be_attached():
    with pytest.raises(SaltmeshError, match="not running"):
        attacher().ensure("web01", NET, 0, test=False)


def test_dropped_interface_is_detached():
    host0 = names.host_ifname("web01", "eth0")
    a = attacher(owned("web01", "eth0"), owned("web01", "eth1"), links=[host0])
    changes = a.ensure("web01", NET, 42, test=False)
    assert changes == {"eth1": {"old": "attached", "new": None}}
    assert a.ovsdb.transactions == [[["del-port", "br0", names.host_ifname("web01", "eth1")]]]


def test_prune_and_detach():
    keep, gone = owned("web01", "eth0"), owned("ghost", "eth0")
    a = attacher(keep, gone, links=[gone[0].name], fail=[gone[0].name])
    assert a.prune({"web01"}, test=True) == [gone[0].name]
    assert a.ovsdb.transactions == []
    assert a.prune({"web01"}, test=False) == [gone[0].name]  # link del failing is fine
    assert a.ovsdb.transactions == [[["del-port", "br0", gone[0].name]]]
    assert a.ports_of("ghost") == [] and a.ports_of("web01") == [keep[0].name]
    assert a.detach(["nosuchport"], test=False) == []


def test_run_failures_are_command_errors(monkeypatch):
    with pytest.raises(CommandError, match="not found"):
        attach.run(["saltmesh-no-such-binary"])

    def hang(*args, **kwargs):
        raise subprocess.TimeoutExpired(args[0], 30)

    monkeypatch.setattr(attach.shutil, "which", lambda name: "/bin/" + name)
    monkeypatch.setattr(proc.subprocess, "run", hang)
    with pytest.raises(CommandError, match="timed out"):
        attach.run(["ip", "link", "show"])


def test_have_ovs(monkeypatch):
    assert attach.have_ovs() is False  # ``which`` finds nothing here
    monkeypatch.setattr(attach.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert attach.have_ovs() is True


def _tc_only(monkeypatch):
    monkeypatch.setattr(attach.shutil, "which", lambda name: "/sbin/tc" if name == "tc" else None)


def test_rate_of_an_intact_attachment_changes_in_place_in_one_transaction(monkeypatch):
    _tc_only(monkeypatch)
    host = names.host_ifname("web01", "eth0")
    rated = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "mtu": 1450,
                            "rate": 8000}]).networks  # fmt: skip
    a = attacher(owned("web01", "eth0"), links=[host])
    a.ovsdb.limits = rates_text([[host, ["set", []]]], [[host, 0, 0]])
    shaper = {"old": None, "new": {"rate": 8000, "burst": 100000}}
    want = {"eth0": {"rate": {"old": None, "new": 8000}, "shaper": shaper}}
    read = ["nsenter", "-t", "42", "-n", "tc", "-j", "qdisc", "show", "dev", "eth0"]
    assert a.ensure("web01", rated, 42, test=True) == want
    assert a.ovsdb.transactions == [] and a.run.calls == [
        (["ip", "-n", "hostA", "-o", "link", "show"], None), (read, None)]  # fmt: skip
    assert a.ensure("web01", rated, 42, test=False) == want
    (txn,) = a.ovsdb.transactions  # no re-attachment: no veth, no port change
    assert [c[:2] for c in txn] == [["set", "Interface"], ["--id=@smq0", "create"], ["set", "Port"]]
    assert not any("link" in argv and "add" in argv for argv, _ in a.run.calls)
    assert a.run.calls[-1][0] == [
        "nsenter", "-t", "42", "-n", "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf",
        "rate", "8000kbit", "burst", "100000", "latency", "50ms",
    ]  # fmt: skip


def test_validate_names_a_missing_tc_for_a_rate():
    rated = spec(networks=[{"bridge": "br0", "rate": 8000}]).networks
    with pytest.raises(SaltmeshError, match="web01 eth0: rate needs tc"):
        attacher().validate("web01", rated)


def test_a_deleted_port_takes_our_qos_row_along():
    keep, gone = owned("web01", "eth0"), owned("ghost", "eth0")
    a = attacher(keep, gone)
    ours = [["uuid", "q1"], "linux-htb", ["map", []],
            ["map", [["saltmesh-container", "ghost"], ["saltmesh-iface", "eth0"]]]]  # fmt: skip
    a.ovsdb.limits = rates_text([[gone[0].name, ["uuid", "q1"]]], [], [ours])
    assert a.prune({"web01"}, test=False) == [gone[0].name]
    assert a.ovsdb.transactions == [[["del-port", "br0", gone[0].name], ["destroy", "QoS", "q1"]]]


def test_a_new_port_comes_with_its_limits(monkeypatch):
    _tc_only(monkeypatch)
    rated = spec(networks=[{"bridge": "br0", "rate": 1000, "burst": 10}]).networks
    a = attacher()
    changes = a.ensure("web01", rated, 42, test=False)
    assert changes["eth0"]["new"] == {"bridge": "br0", "rate": 1000, "burst": 10}
    (txn,) = a.ovsdb.transactions
    assert txn[0][0] == "add-port" and ["set", "Port", txn[0][2], "qos=@smq"] in txn
    tbf = [argv for argv, _ in a.run.calls if "tbf" in argv]  # burst 10 kb: the floor, 3000 B
    assert tbf == [["nsenter", "-t", "42", "-n", "tc", "qdisc", "replace", "dev", "eth0", "root",
                    "tbf", "rate", "1000kbit", "burst", "3000", "latency", "50ms"]]  # fmt: skip
