"""The proof: real Salt master, one minion per simulated Docker host, real OVS data plane.

Each host is a network namespace with its own ovsdb-server/ovs-vswitchd; its minion points at
that OVSDB. ``state.sls mesh`` is applied from the master; traffic crosses real GRE/VXLAN
tunnels between the namespaces.
"""

from __future__ import annotations

import json
import time

from tests.conftest import state_ret

BRIDGE = "br-mesh"


def overlay_ip(h) -> str:
    return f"192.168.77.{h.index}"


def tunnel_ports(h) -> dict[str, dict]:
    """Tunnel ports on the mesh bridge: name -> {uuid, peer, options, protected}."""
    ports = {
        p["name"]: p for p in h.ovs.table("Port", "_uuid", "name", "protected", "external_ids")
    }
    on_bridge = set(h.ovs.ports(BRIDGE)) if BRIDGE in h.ovs.vsctl("list-br").split() else set()
    out = {}
    for row in h.ovs.table("Interface", "name", "type", "options"):
        if row["type"] in ("gre", "vxlan", "geneve") and row["name"] in on_bridge:
            port = ports[row["name"]]
            out[row["name"]] = {
                "uuid": port["_uuid"][1],
                "protected": port["protected"],
                "ids": dict(port["external_ids"][1]),
                "options": dict(row["options"][1]),
            }
    return out


def apply(mesh_lab, hosts, **kwargs) -> dict[str, dict]:
    """``salt <hosts> state.sls mesh``: the ovs_mesh result per host name (its other state,
    ``saltmesh-discovery``, has nothing to do here: this pillar has no overlay_address; it fails
    only as a requisite of a failed mesh state)."""
    by_id = {mesh_lab.minions[h.name].id: h.name for h in hosts}
    ret = mesh_lab.run_on([mesh_lab.minions[h.name] for h in hosts], "state.sls", "mesh", **kwargs)
    assert ret.returncode in (0, 1), ret
    out = {}
    for mid, data in ret.data.items():
        results = {r["__id__"]: r for r in state_ret(type("R", (), {"data": data})())}
        assert sorted(results) == ["saltmesh-discovery", "saltmesh-mesh"], data
        quiet = results["saltmesh-discovery"]
        assert quiet["changes"] == {}, quiet
        if results["saltmesh-mesh"]["result"] is False:  # it requires the mesh state
            assert quiet["result"] is False and "requisite" in quiet["comment"].lower(), quiet
        else:
            assert quiet["result"] is True and "discovery is off" in quiet["comment"], quiet
        out[by_id[mid]] = results["saltmesh-mesh"]
    assert sorted(out) == sorted(by_id.values()), ret
    return out


def no_storm(mesh_lab, hosts) -> None:
    """An unanswered ARP is replicated once to every host, then the tunnels go quiet."""
    hosts[0].ping("192.168.77.250", 2)
    time.sleep(1)
    before = mesh_lab.tunnel_rx(hosts)
    time.sleep(3)
    after = mesh_lab.tunnel_rx(hosts)
    assert after - before < 50, (before, after)


def assert_all_ok(results: dict[str, dict]) -> None:
    for host, r in results.items():
        assert r["result"] is True, (host, r["comment"])


def test_mesh_data_plane(mesh_lab, tunnel):
    hosts = mesh_lab.hosts[:4]  # 4 hosts: a full mesh with cycles of 3 and 4
    mesh_lab.set_pillar(hosts, tunnel=tunnel)

    predicted = apply(mesh_lab, hosts, test=True)
    for h in hosts:
        assert predicted[h.name]["result"] is None
        assert sorted(predicted[h.name]["changes"]["added"]) == sorted(
            f"{tunnel}-{int.from_bytes(bytes(map(int, o.underlay_ip.split('.'))), 'big'):08x}"
            for o in hosts
            if o is not h
        )
        assert BRIDGE not in h.ovs.vsctl("list-br").split()  # test=True touched nothing

    applied = apply(mesh_lab, hosts)
    assert_all_ok(applied)
    for h in hosts:
        assert applied[h.name]["changes"] == predicted[h.name]["changes"]
        ports = tunnel_ports(h)
        assert len(ports) == len(hosts) - 1
        assert all(p["protected"] for p in ports.values())
        assert {p["ids"]["saltmesh-peer"] for p in ports.values()} == {
            o.name for o in hosts if o is not h
        }

    again = apply(mesh_lab, hosts)
    assert_all_ok(again)
    assert all(r["changes"] == {} for r in again.values()), again

    # an endpoint on every host's overlay; every one pings every other over the tunnels
    for h in hosts:
        h.add_endpoint(BRIDGE, f"{overlay_ip(h)}/24")
    failures = [
        (a.name, b.name)
        for a in hosts
        for b in hosts
        if a is not b and not (a.ping(overlay_ip(b), 3) or a.ping(overlay_ip(b), 3))
    ]
    assert failures == []

    # broadcasts do not storm: an unanswered ARP is flooded to every host once, then the
    # tunnels go quiet (a loop would keep thousands of packets a second circulating)
    no_storm(mesh_lab, hosts)

    # the foreign endpoint survives another apply
    assert all(r["changes"] == {} for r in apply(mesh_lab, hosts).values())
    for h in hosts:
        assert "ov0" in h.ovs.ports(BRIDGE)


def test_mesh_churn_add_remove_heal(mesh_lab):
    hosts = mesh_lab.hosts[:3]
    mesh_lab.set_pillar(hosts, tunnel="vxlan")
    assert_all_ok(apply(mesh_lab, hosts))
    for h in hosts:
        h.add_endpoint(BRIDGE, f"{overlay_ip(h)}/24")
    uuids = {h.name: {n: p["uuid"] for n, p in tunnel_ports(h).items()} for h in hosts}

    # a 4th host: each existing host gains exactly one port, old ports keep their uuid
    four = mesh_lab.hosts[:4]
    mesh_lab.set_pillar(four, tunnel="vxlan")
    results = apply(mesh_lab, four)
    assert_all_ok(results)
    newcomer = mesh_lab.hosts[3]
    for h in hosts:
        assert list(results[h.name]["changes"]) == ["added"]
        assert len(results[h.name]["changes"]["added"]) == 1
        now = tunnel_ports(h)
        assert len(now) == 3
        for name, uuid in uuids[h.name].items():
            assert now[name]["uuid"] == uuid
    assert len(results[newcomer.name]["changes"]["added"]) == 3
    newcomer.add_endpoint(BRIDGE, f"{overlay_ip(newcomer)}/24")
    assert hosts[0].ping(overlay_ip(newcomer), 3) or hosts[0].ping(overlay_ip(newcomer), 3)

    # remove host 2 from pillar: the ports towards it vanish everywhere
    gone = mesh_lab.hosts[1]
    rest = [h for h in four if h is not gone]
    mesh_lab.set_pillar(rest, tunnel="vxlan")
    results = apply(mesh_lab, rest)
    assert_all_ok(results)
    for h in rest:
        assert list(results[h.name]["changes"]) == ["removed"]
        assert all(p["ids"]["saltmesh-peer"] != gone.name for p in tunnel_ports(h).values())
        assert len(tunnel_ports(h)) == 2

    # a tunnel deleted behind Salt's back comes back; drifted options are corrected
    h0 = rest[0]
    victim, other = sorted(tunnel_ports(h0))
    h0.ovs.vsctl("del-port", BRIDGE, victim)
    h0.ovs.vsctl("set", "Interface", other, "options:key=42", "options:ttl=9")
    predicted = apply(mesh_lab, [h0], test=True)[h0.name]
    assert predicted["result"] is None
    healed = apply(mesh_lab, [h0])[h0.name]
    assert healed["changes"] == predicted["changes"]
    assert healed["changes"]["added"] == [victim]
    assert set(healed["changes"]["updated"]) == {other}
    assert "ttl" not in tunnel_ports(h0)[other]["options"]
    assert "ov0" in h0.ovs.ports(BRIDGE)  # foreign port untouched
    assert all(r["changes"] == {} for r in apply(mesh_lab, rest).values())
    assert h0.ping(overlay_ip(rest[1]), 3) or h0.ping(overlay_ip(rest[1]), 3)


def test_bad_pillar_fails_before_touching_anything(mesh_lab):
    hosts = mesh_lab.hosts[:2]
    mesh_lab.set_pillar(hosts, tunnel="vxlan", mtu=1600)
    results = apply(mesh_lab, hosts)
    for h in hosts:
        assert results[h.name]["result"] is False
        assert "saltmesh:mesh:mtu" in results[h.name]["comment"]
        assert BRIDGE not in h.ovs.vsctl("list-br").split()


def test_runner_plan_diff_verify_graph(mesh_lab, tmp_path):
    hosts = mesh_lab.hosts[:3]
    mesh_lab.set_pillar(hosts, tunnel="gre")
    run = mesh_lab.salt_run_cli

    table = run.run("mesh.plan", "--out=txt")
    assert table.returncode == 0, table
    assert "3 hosts, 6 tunnel ports" in table.stdout

    data = run.run("mesh.plan", hosts[0].name, "--out=json")
    assert data.returncode == 0, data
    plan = json.loads(data.stdout)[hosts[0].name]
    assert {t["peer"] for t in plan["tunnels"]} == {hosts[1].name, hosts[2].name}
    assert all(t["type"] == "gre" for t in plan["tunnels"])

    diff = run.run("mesh.diff")
    assert diff.returncode == 0, diff
    for h in hosts:
        assert len(diff.data[h.name]["added"]) == 2
        assert BRIDGE not in h.ovs.vsctl("list-br").split()  # a dry run

    assert_all_ok(apply(mesh_lab, hosts))
    verify = run.run("mesh.verify")
    assert verify.returncode == 0, verify
    assert verify.data == {h.name: {} for h in hosts}

    victim = sorted(tunnel_ports(hosts[1]))[0]
    hosts[1].ovs.vsctl("del-port", BRIDGE, victim)
    verify = run.run("mesh.verify")
    assert verify.data[hosts[1].name] == {"missing": [victim]}
    assert verify.data[hosts[0].name] == {}

    dot = run.run("mesh.graph", "status=True", "--out=txt")
    assert dot.returncode == 0, dot
    text = dot.stdout
    assert text.count(" -- ") == 3 and "color=red" in text
    svg = tmp_path / "mesh.svg"
    pic = run.run("mesh.graph", "format=svg", f"path={svg}")
    assert pic.returncode == 0, pic
    assert svg.read_text().lstrip().startswith("<?xml")
