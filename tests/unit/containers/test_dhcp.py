"""``dhcp: true`` attachments: the pillar keys, the derived MAC, the DHCP client the Attacher
runs in the container's netns, what it does with the lease (or without one), idempotence."""

from __future__ import annotations

import dataclasses
import hashlib
import ipaddress
import subprocess

import pytest

from saltmesh.containers import attach, dhcp, names, ports
from saltmesh.discovery.mac import derived_mac
from saltmesh.errors import CommandError, PillarError, SaltmeshError
from saltmesh.inventory import parse
from saltmesh.inventory.containers import dhcp_macs, parse_container
from saltmesh.ovs.schema import Interface, Port
from tests.unit.containers.fakes import spec
from tests.unit.containers.test_attach import FakeOvsdb, attacher, owned

LEASE_OUT = (
    "saltmesh-lease.ip=192.168.77.201\nsaltmesh-lease.subnet=255.255.255.0\n"
    "saltmesh-lease.mask=24\nsaltmesh-lease.router=192.168.77.1\n"
    "saltmesh-lease.dns=192.168.77.2 192.168.77.3\nsaltmesh-lease.domain=mesh.internal\n"
    "saltmesh-lease.lease=3600\n"
)
NSENTER = ["nsenter", "-t", "42", "-n"]


def dhcp_net(**extra):
    return spec(networks=[{"bridge": "br0", "dhcp": True, **extra}]).networks


# --------------------------------------------------------------------------- pillar


def test_dhcp_network_parses_without_ip_and_refuses_ip_or_pool():
    (net,) = parse_container({"image": "a", "networks": [{"bridge": "br0", "dhcp": True}]}).networks
    assert net.dhcp is True and net.ip is None and net.mac is None
    with pytest.raises(PillarError) as err:
        parse_container(
            {"image": "a", "networks": [{"bridge": "br0", "dhcp": True, "ip": "10.0.0.2/24"},
                                        {"bridge": "br1", "dhcp": "yes"}]}
        )  # fmt: skip
    assert err.value.problems == [
        ("container:networks:0:ip", "dhcp: true gives the address; remove ip or dhcp"),
        ("container:networks:1:dhcp", "must be true or false, got 'yes'"),
    ]


def test_dns_keys_parse_and_name_bad_entries():
    s = parse_container({"image": "a", "dns": "192.168.77.2", "dns_search": ["mesh.internal"]})
    assert s.dns == ("192.168.77.2",) and s.dns_search == ("mesh.internal",)
    with pytest.raises(PillarError) as err:
        parse_container({"image": "a", "dns": ["192.168.77.2", "ns1"], "dns_search": [3]})
    assert err.value.problems == [
        ("container:dns:1", "'ns1' is not an IP address"),
        ("container:dns_search", "must be a string or a list of strings"),
    ]


def test_the_mac_is_derived_from_the_name_unless_given():
    s = parse_container({"image": "a", "networks": [{"bridge": "br0", "dhcp": True},
                                                    {"bridge": "br1", "dhcp": True,
                                                     "mac": "02:00:00:00:00:01"},
                                                    {"bridge": "br2"}]})  # fmt: skip
    macs = [n.mac for n in dhcp_macs("db01", s).networks]
    assert macs == [derived_mac("db01"), "02:00:00:00:00:01", None]
    assert derived_mac("db01") == "02:21:c0:96:fb:3f"  # the server side's dhcp-host key
    assert dhcp_macs("db01", dhcp_macs("db01", s)) == dhcp_macs("db01", s)


def test_the_inventory_gives_each_dhcp_container_and_app_instance_its_mac_and_no_address():
    pillar = {
        "servers": {
            "docker01": {"node_type": "docker_host", "address": "10.0.0.11",
                         "overlay_address": "192.168.77.2/24"},
            "db01": {"node_type": "container", "parents": "docker01",
                     "container": {"image": "a", "networks": [{"bridge": "br-mesh",
                                                               "dhcp": True}]}},
            "web": {"node_type": "app", "instances": 2,
                    "container": {"image": "a", "networks": [{"bridge": "br-mesh",
                                                              "dhcp": True}]}},
        },
        "saltmesh": {"placement": {"web-1": "docker01", "web-2": "docker01"},
                     "discovery": {"dhcp_range": ["192.168.77.200", "192.168.77.249"]}},
    }  # fmt: skip
    inv = parse(pillar)
    for name in ("db01", "web-1", "web-2"):
        (net,) = inv.servers[name].container.networks
        assert net.dhcp and net.mac == derived_mac(name), name


def test_two_dhcp_networks_of_one_container_on_one_bridge_collide_by_mac():
    pillar = {
        "servers": {
            "docker01": {"node_type": "docker_host", "address": "10.0.0.11"},
            "db01": {"node_type": "container", "parents": "docker01",
                     "container": {"image": "a", "networks": [
                         {"bridge": "br0", "dhcp": True},
                         {"bridge": "br0", "dhcp": True, "interface": "eth1"}]}},
        }
    }  # fmt: skip
    with pytest.raises(PillarError) as err:
        parse(pillar)
    assert ("servers:db01:container:networks:1:mac") in [p for p, _ in err.value.problems]


# --------------------------------------------------------------------------- the client


def test_parse_lease():
    lease = dhcp.parse_lease("udhcpc: noise\n" + LEASE_OUT)
    assert lease == dhcp.Lease(
        ip=ipaddress.IPv4Interface("192.168.77.201/24"),
        router=ipaddress.IPv4Address("192.168.77.1"),
        dns=("192.168.77.2", "192.168.77.3"),
        domain="mesh.internal",
    )
    assert dhcp.parse_lease("saltmesh-lease.ip=\n") is None
    assert dhcp.parse_lease("saltmesh-lease.ip=10.0.0.9\nsaltmesh-lease.subnet=255.255.0.0\n").ip \
        == ipaddress.IPv4Interface("10.0.0.9/16")  # fmt: skip


def test_script_prints_only_bound_leases(tmp_path):
    path = dhcp.write_script(str(tmp_path))
    env = {"ip": "10.0.0.9", "mask": "24", "router": "10.0.0.1", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([path, "bound"], env=env, capture_output=True, text=True, check=True)
    assert dhcp.parse_lease(out.stdout).ip == ipaddress.IPv4Interface("10.0.0.9/24")
    quiet = subprocess.run([path, "deconfig"], env=env, capture_output=True, text=True)
    assert quiet.returncode == 0 and quiet.stdout == ""


class LeaseRunner:
    """Answers udhcpc with ``answer`` (a lease's output, or a CommandError)."""

    def __init__(self, runner, answer):
        self.inner, self.answer = runner, answer

    def __call__(self, argv, stdin):
        if "udhcpc" in argv:
            self.inner.calls.append((list(argv), stdin))
            if isinstance(self.answer, Exception):
                raise self.answer
            return self.answer
        return self.inner(argv, stdin)


@pytest.fixture
def tools(monkeypatch):
    monkeypatch.setattr(attach.shutil, "which", lambda binary: f"/usr/bin/{binary}")
    monkeypatch.setattr(dhcp.shutil, "which", lambda binary: f"/usr/bin/{binary}")


class GrowingOvsdb(FakeOvsdb):
    """Its snapshot shows the ports added (a re-read after the attach sees the new port)."""

    def transact(self, clauses):
        super().transact(clauses)
        for clause in clauses:
            if clause[0] == "add-port":
                _, bridge, name = clause[:3]
                port = Port(name, f"p-{name}", bridge=bridge)
                self.snap = dataclasses.replace(
                    self.snap,
                    ports={**self.snap.ports, name: port},
                    interfaces={**self.snap.interfaces, name: Interface(name, f"i-{name}")},
                )


def dhcp_attacher(answer, *rows):
    a = attacher(*rows)
    a.ovsdb = GrowingOvsdb(a.ovsdb.snap)
    a.run = LeaseRunner(a.run, answer)
    return a


def test_attach_asks_the_lease_applies_it_and_announces_it(tools):
    a = dhcp_attacher(LEASE_OUT)
    changes = a.ensure("db01", dhcp_net(), 42, test=False)
    mac = derived_mac("db01")
    assert changes == {"eth0": {"old": "not attached", "new": {
        "bridge": "br0", "mac": mac, "dhcp": True, "ip": "192.168.77.201/24"}}}  # fmt: skip
    calls = a.run.inner.calls
    argvs = [argv for argv, _ in calls]
    peer = names.peer_ifname("db01", "eth0")
    assert f"link set dev eth0 address {mac}\n" in calls[2][1] and peer in calls[2][1]
    (txn,) = a.ovsdb.transactions  # the port is on the bridge before the DHCP client runs
    client = next(i for i, argv in enumerate(argvs) if "udhcpc" in argv)
    assert argvs[client][:9] == [*NSENTER, "/usr/bin/busybox", "udhcpc", "-f", "-q", "-n"]
    assert argvs[client][-2] == "-s" and argvs[client][-1].endswith("/udhcpc-lease.sh")
    assert calls[client + 1:] == [
        ([*NSENTER, "ip", "-batch", "-"],
         "addr replace 192.168.77.201/24 dev eth0\n"
         "route replace default via 192.168.77.1 dev eth0\n"),
        ([*NSENTER, "sysctl", "-q", "-w", "net/ipv4/conf/eth0/arp_notify=1"], None),
        ([*NSENTER, "ip", "-batch", "-"],
         "link set dev eth0 down\nlink set dev eth0 up\n"
         "route replace default via 192.168.77.1 dev eth0\n"),
    ]  # fmt: skip


def test_a_declared_gateway_wins_and_garp_can_be_switched_off(tools):
    a = dhcp_attacher(LEASE_OUT)
    a.announce = False
    a.ensure("db01", dhcp_net(gateway="192.168.77.254"), 42, test=False)
    calls = a.run.inner.calls
    assert calls[-1][1] == (
        "addr replace 192.168.77.201/24 dev eth0\n"
        "route replace default via 192.168.77.254 dev eth0\n"
    )
    assert not any("sysctl" in argv for argv, _ in calls)


def test_test_mode_runs_no_client_and_says_dhcp(tools):
    a = dhcp_attacher(LEASE_OUT)
    changes = a.ensure("db01", dhcp_net(), 42, test=True)
    assert changes == {"eth0": {"old": "not attached", "new": {
        "bridge": "br0", "mac": derived_mac("db01"), "dhcp": True}}}  # fmt: skip
    assert not any("udhcpc" in argv for argv, _ in a.run.inner.calls)
    assert a.ovsdb.transactions == []


@pytest.mark.parametrize("answer", ["", CommandError(["nsenter"], 1, "udhcpc: no lease, failing")])
def test_no_lease_takes_the_port_off_again_and_names_the_attachment(tools, answer):
    a = dhcp_attacher(answer)
    with pytest.raises(SaltmeshError, match=r"container db01 eth0: no DHCP lease on bridge br0"):
        a.ensure("db01", dhcp_net(), 42, test=False)
    add, drop = a.ovsdb.transactions
    host = names.host_ifname("db01", "eth0")
    assert add[0][:3] == ["add-port", "br0", host]
    assert drop == [["del-port", "br0", host]]


def test_an_intact_dhcp_attachment_asks_nothing(tools):
    (net,) = dhcp_macs("db01", spec(networks=[{"bridge": "br0", "dhcp": True}])).networks
    host = names.host_ifname("db01", "eth0")
    port, iface = owned("db01", "eth0")
    ext = dict(ports.port_spec("db01", net, 42).iface_external_ids)
    iface = type(iface)(iface.name, iface.uuid, external_ids=ext, port=iface.port)
    a = dhcp_attacher(LEASE_OUT, (port, iface))
    a.run.inner.links.add(host)
    assert a.ensure("db01", dhcp_net(), 42, test=False) == {}
    assert a.run.inner.calls == [(["ip", "-n", "hostA", "-o", "link", "show"], None)]


def test_a_dhcp_network_needs_busybox(monkeypatch):
    monkeypatch.setattr(dhcp.shutil, "which", lambda binary: None)
    with pytest.raises(SaltmeshError, match="dhcp: true needs busybox"):
        attacher().validate("db01", dhcp_net())


def test_static_fingerprints_are_unchanged_by_the_dhcp_field():
    (net,) = spec(
        networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "mac": "02:00:00:00:00:02"}]
    ).networks
    text = "br0|eth0|10.0.0.2/24|02:00:00:00:00:02|None|None|None"
    assert ports.fingerprint(net) == hashlib.sha256(text.encode()).hexdigest()[:16]
