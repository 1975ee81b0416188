"""``saltmesh:mesh:topology: flow`` on the 4-host lab: real Salt, real OVS, real OpenFlow rules.

Each host's overlay endpoint ``ov0`` gets a fixed MAC that the pillar places on that host (as a
container's ``mac:``), so unicast between hosts follows the per-MAC rules and broadcast (ARP)
follows the replication rule. A foreign port (``ov0``) and foreign rules (no cookie of ours) on
both bridges must survive every apply, and the foreign rows of ``foreign_mesh`` are checked
after the test by the suite's fixture.
"""

from __future__ import annotations

import pytest

from tests.integration.mesh.test_mesh import (
    BRIDGE,
    apply,
    assert_all_ok,
    no_storm,
    overlay_ip,
    tunnel_ports,
)
from tests.support.ovs import run

TUN = "br-mesh-tun"
FOREIGN_RULE = "priority=7,dl_type=0x88b5 actions=drop"  # an ethertype no test traffic uses
MOVED_IP, MOVED_MAC = "192.168.77.100", "02:77:00:00:01:00"


def ofctl(h, bridge, *args) -> str:
    mgmt = f"unix:{h.ovs.dir / bridge}.mgmt"
    return run(["ovs-ofctl", "-O", "OpenFlow14", "--no-names", *args[:1], mgmt, *args[1:]]).stdout


def rules(h, bridge=TUN, stats=False) -> list[str]:
    """Every rule of ``bridge`` (any cookie) as ``cookie=..., priority=...`` lines."""
    out = ofctl(h, bridge, "dump-flows", *([] if stats else ["--no-stats"]))
    return sorted(line.strip() for line in out.splitlines() if " actions=" in line)


def mac_of(h) -> str:
    return f"02:77:00:00:00:{h.index:02x}"


def containers(hosts, moved_to=None) -> dict:
    """One pillar container per host with ``ov0``'s MAC; ``moved_to``: the host of the extra
    endpoint ``mv0`` (``MOVED_MAC``)."""
    out = {
        f"{h.name}-ov": {
            "node_type": "container",
            "address": overlay_ip(h),
            "parents": h.name,
            "container": {"image": "busybox", "networks": [{"bridge": BRIDGE, "mac": mac_of(h)}]},
        }
        for h in hosts
    }
    if moved_to is not None:
        out["flowmv"] = {
            "node_type": "container",
            "address": MOVED_IP,
            "parents": moved_to.name,
            "container": {"image": "busybox", "networks": [{"bridge": BRIDGE, "mac": MOVED_MAC}]},
        }
    return out


def endpoint(h, name, ip, mac) -> None:
    h.add_endpoint(BRIDGE, f"{ip}/24", name=name)
    h.ns("ip", "link", "set", name, "address", mac)


def ping_failures(hosts) -> list:
    return [
        (a.name, b.name)
        for a in hosts
        for b in hosts
        if a is not b and not (a.ping(overlay_ip(b), 2) or a.ping(overlay_ip(b), 2))
    ]


def test_flow_topology_and_switching(mesh_lab):
    hosts = mesh_lab.hosts[:4]
    pillar = containers(hosts)

    # start from today's full mesh, with a foreign endpoint and a foreign rule on br-mesh
    mesh_lab.set_pillar(hosts, pillar, tunnel="vxlan")
    assert_all_ok(apply(mesh_lab, hosts))
    for h in hosts:
        endpoint(h, "ov0", overlay_ip(h), mac_of(h))
        ofctl(h, BRIDGE, "add-flow", FOREIGN_RULE)
    foreign_before = {h.name: [r for r in rules(h, BRIDGE) if "0x88b5" in r] for h in hosts}
    assert all(len(v) == 1 for v in foreign_before.values()), foreign_before

    # full -> flow: predicted exactly, then applied
    mesh_lab.set_pillar(hosts, pillar, tunnel="vxlan", topology="flow")
    predicted = apply(mesh_lab, hosts, test=True)
    for h in hosts:
        assert predicted[h.name]["result"] is None
        assert TUN not in h.ovs.vsctl("list-br").split()  # test=True touched nothing
        assert len(tunnel_ports(h)) == 3  # the full mesh's ports are still there
    applied = apply(mesh_lab, hosts)
    assert_all_ok(applied)
    for h in hosts:
        ch = applied[h.name]["changes"]
        assert ch == predicted[h.name]["changes"]
        assert len(ch["removed"]) == 3 and all(p.startswith("vxlan-0a") for p in ch["removed"])
        assert ch["added"] == ["br-mesh-pm", "br-mesh-pt", "vxlan-flow"]
        assert ch["tunnel_bridge"]["bridge"] == {"old": None, "new": TUN}
        assert ch["flows"]["old"] == [] and len(ch["flows"]["new"]) == 1 + 3 + 1
        assert tunnel_ports(h) == {}  # no per-peer port left on the mesh bridge
        ours = [r for r in rules(h) if "0x88b5" not in r]
        assert sorted(r.split(", ", 1)[1] for r in ours) == sorted(ch["flows"]["new"])
        assert all(r.startswith("cookie=0x5a17") for r in ours)
        peers = [o for o in hosts if o is not h]
        for o in peers:  # the unicast rule of each peer's MAC sends to that peer only
            want = f"dl_dst={mac_of(o)} actions=set_field:{o.underlay_ip}->tun_dst,output:2"
            assert any(want in r for r in ours), (want, ours)
        iface = h.ovs.table("Interface", "name", "options", "ofport")
        flow_port = next(i for i in iface if i["name"] == "vxlan-flow")
        assert dict(flow_port["options"][1])["remote_ip"] == "flow"
        assert flow_port["ofport"] == 2

    # a foreign rule on the tunnel bridge survives further runs
    for h in hosts:
        ofctl(h, TUN, "add-flow", FOREIGN_RULE)
    again = apply(mesh_lab, hosts)
    assert_all_ok(again)
    assert all(r["changes"] == {} for r in again.values()), again

    # data plane: every endpoint reaches every other; unicast used the per-MAC rules
    assert ping_failures(hosts) == []
    h0 = hosts[0]
    hits = {
        o.name: next(r for r in rules(h0, stats=True) if f"dl_dst={mac_of(o)}" in r)
        for o in hosts[1:]
    }
    assert all("n_packets=0," not in r for r in hits.values()), hits
    no_storm(mesh_lab, hosts)

    # a moved container: its MAC's rules follow the pillar on the next run
    src, old, new = hosts[0], hosts[1], hosts[2]
    endpoint(old, "mv0", MOVED_IP, MOVED_MAC)
    mesh_lab.set_pillar(hosts, containers(hosts, moved_to=old), tunnel="vxlan", topology="flow")
    assert_all_ok(apply(mesh_lab, hosts))
    assert src.ping(MOVED_IP, 2) or src.ping(MOVED_IP, 2)
    old.ovs.vsctl("del-port", BRIDGE, "mv0")
    endpoint(new, "mv0", MOVED_IP, MOVED_MAC)
    mesh_lab.set_pillar(hosts, containers(hosts, moved_to=new), tunnel="vxlan", topology="flow")
    moved = apply(mesh_lab, hosts)
    assert_all_ok(moved)
    for h in hosts:
        flows = moved[h.name]["changes"]["flows"]
        assert all(MOVED_MAC in r for r in flows["old"] + flows["new"]), flows
    assert moved[src.name]["changes"]["flows"] == {
        "old": [f"priority=50,in_port=1,dl_dst={MOVED_MAC} actions=set_field:{old.underlay_ip}->tun_dst,output:2"],
        "new": [f"priority=50,in_port=1,dl_dst={MOVED_MAC} actions=set_field:{new.underlay_ip}->tun_dst,output:2"],
    }  # fmt: skip
    assert moved[new.name]["changes"]["flows"]["new"] == []  # now local: no rule for it
    assert all(any("0x88b5" in r for r in rules(h)) for h in hosts)  # foreign rule kept
    assert src.ping(MOVED_IP, 2) or src.ping(MOVED_IP, 2) or src.ping(MOVED_IP, 2)
    new.ovs.vsctl("del-port", BRIDGE, "mv0")
    mesh_lab.set_pillar(hosts, pillar, tunnel="vxlan", topology="flow")
    assert_all_ok(apply(mesh_lab, hosts))

    # the runner understands flow: plan, verify, diff after a rule is deleted behind our back
    run = mesh_lab.salt_run_cli
    table = run.run("mesh.plan", "--out=txt")
    assert table.returncode == 0, table
    assert "4 hosts, 4 tunnel ports, 20 OpenFlow rules" in table.stdout
    verify = run.run("mesh.verify")
    assert verify.data == {h.name: {} for h in hosts}, verify
    victim_host = hosts[3]
    victim = next(r for r in rules(victim_host) if "priority=100" in r).split(", ", 1)[1]
    ofctl(victim_host, TUN, "del-flows", "--strict", "priority=100,in_port=2")
    verify = run.run("mesh.verify")
    assert verify.data[victim_host.name] == {"flows": {"missing": [victim]}}, verify
    assert verify.data[hosts[0].name] == {}
    diff = run.run("mesh.diff")
    assert diff.data[victim_host.name] == {"flows": {"old": [], "new": [victim]}}, diff
    assert diff.data[hosts[0].name] == {}
    dot = run.run("mesh.graph", "status=True", "containers=False", "--out=txt")
    assert dot.returncode == 0, dot
    assert dot.stdout.count(" -- ") == 6 and "color=darkorange" in dot.stdout
    assert_all_ok(apply(mesh_lab, [victim_host]))
    assert run.run("mesh.verify").data == {h.name: {} for h in hosts}

    # flow -> full: the flow port, patch pair and tunnel bridge go, per-peer ports come back
    mesh_lab.set_pillar(hosts, pillar, tunnel="vxlan")
    predicted = apply(mesh_lab, hosts, test=True)
    back = apply(mesh_lab, hosts)
    assert_all_ok(back)
    for h in hosts:
        ch = back[h.name]["changes"]
        assert ch == predicted[h.name]["changes"]
        assert ch["removed"] == ["br-mesh-pm", "br-mesh-pt", "vxlan-flow"]
        assert ch["tunnel_bridge"] == {"old": TUN, "new": None}
        assert len(ch["added"]) == 3 and "flows" not in ch
        assert TUN not in h.ovs.vsctl("list-br").split()
        assert len(tunnel_ports(h)) == 3
        assert "ov0" in h.ovs.ports(BRIDGE)  # the foreign port
        assert [r for r in rules(h, BRIDGE) if "0x88b5" in r] == foreign_before[h.name]
    assert all(r["changes"] == {} for r in apply(mesh_lab, hosts).values())
    assert ping_failures(hosts) == []
    no_storm(mesh_lab, hosts)


@pytest.mark.parametrize("tunnel_type", ["gre", "geneve"])
def test_flow_topology_other_tunnel_types(mesh_lab, tunnel_type):
    """The same flow-based port and rules carry GRE and Geneve (3 hosts: a cycle)."""
    hosts = mesh_lab.hosts[:3]
    mesh_lab.set_pillar(hosts, containers(hosts), tunnel=tunnel_type, topology="flow")
    first = apply(mesh_lab, hosts)
    assert_all_ok(first)
    for h in hosts:
        assert first[h.name]["changes"]["added"] == [
            "br-mesh-pm",
            "br-mesh-pt",
            f"{tunnel_type}-flow",
        ]
        endpoint(h, "ov0", overlay_ip(h), mac_of(h))
    assert all(r["changes"] == {} for r in apply(mesh_lab, hosts).values())
    assert ping_failures(hosts) == []
    no_storm(mesh_lab, hosts)
