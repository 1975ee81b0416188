"""The flow topology: rule planner, OpenFlow rule diff, OVSDB reconcile (pure)."""

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.mesh import flowplan, planner, sync
from saltmesh.ovs.flows import Rule, diff_rules, parse_dump
from saltmesh.ovs.schema import Bridge, Interface, Port, Snapshot


def mac(i):
    return f"02:00:00:00:{i // 256:02x}:{i % 256:02x}"


def pillar(n=3, containers=2, **mesh):
    servers = {
        f"docker{i:02d}": {"node_type": "docker_host", "address": f"10.0.0.{i}"}
        for i in range(1, n + 1)
    }
    k = 0
    for i in range(1, n + 1):
        for _ in range(containers):
            k += 1
            servers[f"c{k:03d}"] = {
                "node_type": "container",
                "address": f"192.168.77.{k}",
                "parents": f"docker{i:02d}",
                "container": {
                    "image": "busybox",
                    "networks": [{"bridge": "br-mesh", "mac": mac(k)}],
                },
            }
    opts = {"tunnel": "vxlan", "key": 5000, "topology": "flow", **mesh}
    return {"servers": servers, "saltmesh": {"mesh": opts}}


def fleet(p):
    return planner.plan_fleet(inventory.parse(p))


def test_topology_default_full_and_unknown_value_named():
    hp = fleet(pillar(topology="full"))["docker01"]
    assert hp.topology == "full" and hp.flow is None and len(hp.tunnels) == 2
    assert fleet({**pillar(), "saltmesh": {"mesh": {}}})["docker01"].topology == "full"
    with pytest.raises(PillarError) as err:
        fleet(pillar(topology="star"))
    assert "saltmesh:mesh:topology: 'star' is not one of full, flow" in str(err.value)
    with pytest.raises(PillarError, match="saltmesh:mesh:bfd"):
        fleet(pillar(bfd=True))


def test_flow_plan_ports_and_rules():
    hp = fleet(pillar(3))["docker01"]
    assert hp.tunnels == () and hp.topology == "flow"
    fp = hp.flow
    assert (fp.bridge, fp.patch_mesh, fp.patch_tunnel, fp.port) == (
        "br-mesh-tun", "br-mesh-pt", "br-mesh-pm", "vxlan-flow",
    )  # fmt: skip
    assert all(len(n) <= 15 for n in (fp.bridge, fp.patch_mesh, fp.patch_tunnel, fp.port))
    assert hp.flow_options() == {"remote_ip": "flow", "local_ip": "10.0.0.1", "key": "5000"}
    assert fp.cookie >> 48 == 0x5A17 and fp.cookie == flowplan.cookie("br-mesh")
    rules = fp.rules()
    assert len(rules) == fp.rule_count() == 1 + 4 + 1  # from tunnel, 4 remote MACs, flood
    assert Rule(100, "in_port=2", "output:1") in rules
    assert Rule(50, f"in_port=1,dl_dst={mac(3)}", "set_field:10.0.0.2->tun_dst,output:2") in rules
    assert Rule(50, f"in_port=1,dl_dst={mac(6)}", "set_field:10.0.0.3->tun_dst,output:2") in rules
    assert not any(mac(1) in r.match or mac(2) in r.match for r in rules)  # local MACs
    flood = Rule(
        10, "in_port=1", "set_field:10.0.0.2->tun_dst,output:2,set_field:10.0.0.3->tun_dst,output:2"
    )
    assert flood in rules
    assert hp.peer_ports() == {"docker02": "vxlan-flow", "docker03": "vxlan-flow"}
    assert hp.to_dict()["flow"]["rules"] == 6


def test_rules_deterministic_whatever_the_pillar_order():
    p = pillar(4)
    reordered = {**p, "servers": dict(reversed(list(p["servers"].items())))}
    a, b = fleet(p), fleet(reordered)
    assert {h: hp.flow.rules() for h, hp in a.items()} == {
        h: hp.flow.rules() for h, hp in b.items()
    }


@pytest.mark.parametrize("n", [2, 3, 5])
def test_loop_free_nothing_from_a_tunnel_goes_to_a_tunnel(n):
    for hp in fleet(pillar(n)).values():
        for rule in hp.flow.rules():
            outputs = [a for a in rule.actions.split(",") if a.startswith("output:")]
            if f"in_port={flowplan.TUNNEL_OFPORT}" in rule.match.split(","):
                assert outputs == [f"output:{flowplan.PATCH_OFPORT}"], rule
            else:  # from the mesh bridge: only to the tunnel, never back to the patch port
                assert rule.match.startswith(f"in_port={flowplan.PATCH_OFPORT}"), rule
                assert set(outputs) == {f"output:{flowplan.TUNNEL_OFPORT}"}, rule
                assert f"set_field:{hp.local_ip}->" not in rule.actions, rule


def test_host_join_changes_only_rules_naming_the_new_host():
    before, after = fleet(pillar(4)), fleet(pillar(5))
    new_ip = "10.0.0.5"
    for host in before:
        old, new = set(before[host].flow.rules()), set(after[host].flow.rules())
        changed = old ^ new
        assert changed, host
        assert all(new_ip in r.actions for r in new - old), host  # each names docker05
        assert all(r.priority == flowplan.PRIO_FLOOD for r in old - new), host
        assert len(new - old) == 1 + 2  # the new flood rule, docker05's two containers


def test_ipv6_underlay_uses_tun_ipv6_dst():
    p = pillar(2)
    p["servers"]["docker01"]["address"] = "fd00::1"
    p["servers"]["docker02"]["address"] = "fd00::2"
    rules = fleet(p)["docker01"].flow.rules()
    assert Rule(10, "in_port=1", "set_field:fd00::2->tun_ipv6_dst,output:2") in rules


DUMP = """\
 cookie=0x5a17000000000001, priority=100,in_port=2 actions=output:1
 cookie=0x5a17000000000001, priority=50,in_port=1,dl_dst=02:00:00:00:00:01 actions=set_field:10.0.0.2->tun_dst,output:2
 cookie=0x5a17000000000001, priority=10,in_port=1 actions=set_field:10.0.0.2->tun_dst,output:2
"""


def test_parse_dump_and_diff():
    have = parse_dump("OFPST_FLOW reply (OF1.4) (xid=0x2):\n" + DUMP)
    assert have[0] == Rule(100, "in_port=2", "output:1")
    assert diff_rules(1, have, have) == ([], {})
    want = [
        have[0],
        Rule(50, "in_port=1,dl_dst=02:00:00:00:00:02", "set_field:10.0.0.3->tun_dst,output:2"),
        Rule(
            10,
            "in_port=1",
            "set_field:10.0.0.2->tun_dst,output:2,set_field:10.0.0.3->tun_dst,output:2",
        ),
    ]
    lines, changes = diff_rules(0x5A17000000000001, want, have)
    assert lines == [
        "delete_strict cookie=0x5a17000000000001/-1,priority=50,in_port=1,dl_dst=02:00:00:00:00:01",
        "add cookie=0x5a17000000000001,priority=10,in_port=1,actions="
        "set_field:10.0.0.2->tun_dst,output:2,set_field:10.0.0.3->tun_dst,output:2",
        "add cookie=0x5a17000000000001,priority=50,in_port=1,dl_dst=02:00:00:00:00:02,actions="
        "set_field:10.0.0.3->tun_dst,output:2",
    ]
    assert changes == {
        "old": [
            "priority=10,in_port=1 actions=set_field:10.0.0.2->tun_dst,output:2",
            "priority=50,in_port=1,dl_dst=02:00:00:00:00:01 actions=set_field:10.0.0.2->tun_dst,output:2",
        ],
        "new": [
            "priority=10,in_port=1 actions=set_field:10.0.0.2->tun_dst,output:2,set_field:10.0.0.3->tun_dst,output:2",
            "priority=50,in_port=1,dl_dst=02:00:00:00:00:02 actions=set_field:10.0.0.3->tun_dst,output:2",
        ],
    }


def _snap_from(clauses_plan):
    """A snapshot holding what a flow plan's first reconcile creates (ofports pinned)."""
    hp = clauses_plan
    fp = hp.flow
    ids = {"saltmesh-mesh": "br-mesh"}
    ports, ifaces = {}, {}
    for spec, ofport in sync.planned_ports(hp):
        ports[spec.name] = Port(spec.name, uuid=spec.name, bridge=spec.bridge,
                                interfaces=(spec.name,), external_ids=dict(spec.external_ids),
                                interface_uuids={spec.name: "i" + spec.name})  # fmt: skip
        ifaces[spec.name] = Interface(spec.name, uuid="i" + spec.name, port=spec.name,
                                      type=spec.type, options=dict(spec.options), ofport=ofport)  # fmt: skip
    ifaces["br-mesh"] = Interface("br-mesh", uuid="ib", port="br-mesh", type="internal",
                                  mtu_request=hp.mtu)  # fmt: skip
    bridges = {
        "br-mesh": Bridge("br-mesh", uuid="b1", datapath_type="system",
                          ports=(fp.patch_mesh, "ov0")),
        fp.bridge: Bridge(fp.bridge, uuid="b2", datapath_type="system", fail_mode="secure",
                          ports=(fp.patch_tunnel, fp.port), external_ids=ids),
    }  # fmt: skip
    ports["ov0"] = Port("ov0", uuid="ov0", bridge="br-mesh", interfaces=("ov0",))
    ifaces["ov0"] = Interface("ov0", uuid="iov0", port="ov0", type="internal")
    return Snapshot(bridges=bridges, ports=ports, interfaces=ifaces)


def test_reconcile_fresh_flow_host_and_switch_back_to_full():
    p = pillar(3)
    hp = fleet(p)["docker01"]
    clauses, changes = sync.reconcile(hp, Snapshot())
    assert changes["added"] == ["br-mesh-pm", "br-mesh-pt", "vxlan-flow"]
    assert changes["tunnel_bridge"]["bridge"] == {"old": None, "new": "br-mesh-tun"}
    flat = [" ".join(c) for c in clauses]
    assert "set Interface br-mesh-pm ofport_request=1" in flat
    assert "set Interface vxlan-flow ofport_request=2" in flat

    snap = _snap_from(hp)
    assert sync.reconcile(hp, snap) == ([], {})

    full = fleet({**p, "saltmesh": {"mesh": {**p["saltmesh"]["mesh"], "topology": "full"}}})
    clauses, changes = sync.reconcile(full["docker01"], snap)
    assert changes["removed"] == ["br-mesh-pm", "br-mesh-pt", "vxlan-flow"]
    assert changes["added"] == ["vxlan-0a000002", "vxlan-0a000003"]
    assert changes["tunnel_bridge"] == {"old": "br-mesh-tun", "new": None}
    assert ("del-br", "br-mesh-tun") in clauses
    assert ("del-port", "br-mesh", "br-mesh-pt") in clauses
    assert not any("ov0" in c for c in clauses)  # the foreign port


def test_pinned_ofport_drift_is_corrected():
    hp = fleet(pillar(2))["docker01"]
    snap = _snap_from(hp)
    ifaces = dict(snap.interfaces)
    ifaces["vxlan-flow"] = ifaces["vxlan-flow"].__class__(
        **{**ifaces["vxlan-flow"].__dict__, "ofport": 7}
    )
    snap = Snapshot(bridges=snap.bridges, ports=snap.ports, interfaces=ifaces)
    clauses, changes = sync.reconcile(hp, snap)
    assert clauses == [("set", "Interface", "vxlan-flow", "ofport_request=2")]
    assert changes == {"updated": {"vxlan-flow": {"ofport": {"old": 7, "new": 2}}}}


def test_foreign_tunnel_bridge_is_an_error():
    hp = fleet(pillar(2))["docker01"]
    snap = Snapshot(bridges={"br-mesh-tun": Bridge("br-mesh-tun", uuid="x")})
    with pytest.raises(sync.PortConflict, match="bridge br-mesh-tun exists but is not managed"):
        sync.reconcile(hp, snap)


def _status(hp, rules):
    ports = {
        spec.name: {
            "peer": spec.external_ids["saltmesh-peer"],
            "type": spec.type,
            "options": dict(spec.options),
            "bridge": spec.bridge,
            "protected": False,
            "link_state": "up",
        }
        for spec, _ in sync.planned_ports(hp)
    }
    return {"host": hp.host, "bridge": hp.bridge, "mesh": hp.mesh, "ports": ports, "flows": rules}


def test_verify_plan_table_and_graph_understand_flow():
    from saltmesh.mesh import graph, report

    plans = fleet(pillar(3))
    hp = plans["docker01"]
    texts = sorted(r.text() for r in hp.flow.rules())
    assert report.verify_host(hp, _status(hp, texts)) == {}
    foreign_extra = "priority=1,in_port=1 actions=drop"
    assert report.verify_host(hp, _status(hp, texts[1:] + [foreign_extra])) == {
        "flows": {"missing": [texts[0]], "extra": [foreign_extra]}
    }
    status = _status(hp, texts)
    del status["ports"]["vxlan-flow"]
    status["ports"]["br-mesh-pm"]["options"] = {"peer": "elsewhere"}
    assert report.verify_host(hp, status) == {
        "missing": ["vxlan-flow"],
        "drifted": {"br-mesh-pm": ["options"]},
    }

    table = report.plan_table(plans)
    assert "docker01  vxlan-flow  vxlan  2 peers, 6 rules  10.0.0.1  flow    5000" in table
    assert table.endswith("3 hosts, 3 tunnel ports, 18 OpenFlow rules")

    reports = {h: {} for h in plans}
    reports["docker02"] = {"flows": {"missing": ["x"]}}
    edges = graph.tunnels(plans, reports)
    assert [(e.a, e.b, e.status) for e in edges] == [
        ("docker01", "docker02", graph.DRIFTED),
        ("docker01", "docker03", graph.OK),
        ("docker02", "docker03", graph.DRIFTED),
    ]
    assert "flow-based mesh" in graph.to_dot(plans)


def test_ofctl_finds_the_instance_like_the_ovsdb_option():
    from saltmesh.ovs.openflow import Ofctl

    def opts(**o):
        return lambda key, default=None: o.get(key.split(":")[1], default)

    of = Ofctl.from_options(opts(ovsdb="unix:/run/h1/db.sock", ovsdb_timeout=7))
    assert of.argv("dump-flows", "br-mesh-tun", "cookie=0x1/-1", options=["--no-stats"]) == [
        "ovs-ofctl", "--timeout=7", "-O", "OpenFlow14", "--no-names", "--no-stats",
        "dump-flows", "unix:/run/h1/br-mesh-tun.mgmt", "cookie=0x1/-1",
    ]  # fmt: skip
    assert Ofctl.from_options(opts(ovsdb="unix:/a/db.sock", ovs_rundir="/b")).target("br") == (
        "unix:/b/br.mgmt"
    )
    assert Ofctl.from_options(opts(ovsdb="tcp:127.0.0.1:6640")).target("br") == "br"
    assert Ofctl.from_options(opts()).target("br") == "br"


class _FakeDb:
    db = "unix:/x/db.sock"

    def __init__(self, bridges):
        self.bridges = bridges

    def snapshot(self):
        return Snapshot(bridges={b: Bridge(b, uuid=b) for b in self.bridges})


class _FakeOfctl:
    def __init__(self, rules):
        self.rules, self.dumps, self.bundles = list(rules), 0, []

    def dump_text(self, bridge, cookie):
        self.dumps += 1
        header = "OFPST_FLOW reply (OF1.4) (xid=0x2):\n"
        return header + "".join(f" cookie={cookie:#x}, {r.text()}\n" for r in self.rules)

    def target(self, bridge):
        return f"unix:/x/{bridge}.mgmt"

    def bundle(self, bridge, lines):
        self.bundles.append(list(lines))


def test_sync_flows_test_mode_no_op_and_missing_bridge():
    from saltmesh.ovs.reconcile import Reconciler

    want = [Rule(100, "in_port=2", "output:1"), Rule(10, "in_port=1", "drop")]
    # test mode on a host where the tunnel bridge does not exist yet: all rules predicted
    of = _FakeOfctl([])
    out = Reconciler(_FakeDb([]), {}).sync_flows(of, "br-t", 5, want, test=True)
    assert of.dumps == 0 and of.bundles == []
    assert out["changes"] == {"flows": {"old": [], "new": sorted(r.text() for r in want)}}
    # a real run writes exactly the predicted lines, once
    of = _FakeOfctl([Rule(100, "in_port=2", "output:1")])
    predicted = Reconciler(_FakeDb(["br-t"]), {}).sync_flows(of, "br-t", 5, want, test=True)
    assert of.bundles == []
    real = Reconciler(_FakeDb(["br-t"]), {}).sync_flows(of, "br-t", 5, want)
    assert real == predicted and of.bundles == [real["lines"]]
    assert real["lines"] == ["add cookie=0x5,priority=10,in_port=1,actions=drop"]
    # in sync: nothing written, nothing reported
    of = _FakeOfctl(want)
    assert Reconciler(_FakeDb(["br-t"]), {}).sync_flows(of, "br-t", 5, want) == {
        "changes": {},
        "lines": [],
    }
    assert of.bundles == []


def test_sync_flows_does_not_parse_a_dump_already_found_in_sync(tmp_path, monkeypatch):
    from saltmesh.ovs import reconcile
    from saltmesh.ovs.reconcile import Reconciler

    want = [Rule(100, "in_port=2", "output:1"), Rule(10, "in_port=1", "drop")]
    of = _FakeOfctl(want)
    rec = Reconciler(_FakeDb(["br-t"]), {}, cachedir=str(tmp_path))
    marks = tmp_path / "saltmesh" / "flows"
    assert rec.sync_flows(of, "br-t", 5, want, test=True)["lines"] == []
    assert not marks.exists()  # test mode writes nothing
    assert rec.sync_flows(of, "br-t", 5, want)["lines"] == []
    assert len(list(marks.iterdir())) == 1

    parsed = []
    real_parse = reconcile.parse_dump
    monkeypatch.setattr(reconcile, "parse_dump", lambda t: parsed.append(t) or real_parse(t))
    # the same bytes for the same rules: in sync, not parsed
    assert rec.sync_flows(of, "br-t", 5, want) == {"changes": {}, "lines": []}
    assert parsed == []
    # the same rules printed in another order: parsed, in sync, marked again
    of.rules.reverse()
    assert rec.sync_flows(of, "br-t", 5, want)["lines"] == [] and len(parsed) == 1
    assert rec.sync_flows(of, "br-t", 5, want)["lines"] == [] and len(parsed) == 1
    # drift (an action rewritten by hand) is parsed and repaired
    of.rules[0] = Rule(10, "in_port=1", "output:3")
    fixed = rec.sync_flows(of, "br-t", 5, want)
    assert len(parsed) == 2
    assert fixed["lines"] == ["add cookie=0x5,priority=10,in_port=1,actions=drop"]
    # other wanted rules with the old dump bytes: parsed
    of.rules = list(want)
    rec.sync_flows(of, "br-t", 5, want)
    count = len(parsed)
    other = [*want, Rule(5, "", "drop")]
    assert rec.sync_flows(of, "br-t", 5, other)["lines"] == [
        "add cookie=0x5,priority=5,actions=drop"
    ]
    assert len(parsed) == count + 1


class _Early:
    """A dump started before the reconciler ran (saltmesh.proc.Pending's interface)."""

    def __init__(self, text=None, error=None):
        self.text, self.error = text, error

    def output(self):
        if self.error:
            raise self.error
        return self.text


def test_sync_flows_early_dump_ends_the_run_only_when_found_in_sync(tmp_path):
    from saltmesh.errors import CommandError
    from saltmesh.ovs.reconcile import Reconciler

    want = [Rule(100, "in_port=2", "output:1"), Rule(10, "in_port=1", "drop")]
    of = _FakeOfctl(want)
    rec = Reconciler(_FakeDb(["br-t"]), {}, cachedir=str(tmp_path))
    in_sync = of.dump_text("br-t", 5)
    # not marked yet: read again under the lock, found in sync, marked
    assert rec.sync_flows(of, "br-t", 5, want, early=_Early(in_sync))["lines"] == []
    assert of.dumps == 2
    # marked: the early dump is the answer, no other read
    assert rec.sync_flows(of, "br-t", 5, want, early=_Early(in_sync)) == {
        "changes": {},
        "lines": [],
    }
    assert of.dumps == 2
    # an early dump that differs (or failed) is dropped: the write plans on a fresh read
    of.rules = want[:1]
    stale = _Early(in_sync.replace("output:1", "output:9"))
    fixed = rec.sync_flows(of, "br-t", 5, want, early=stale)
    assert fixed["lines"] == ["add cookie=0x5,priority=10,in_port=1,actions=drop"]
    assert of.dumps == 3 and of.bundles == [fixed["lines"]]
    failed = _Early(error=CommandError(["ovs-ofctl"], 1, "no such bridge"))
    assert rec.sync_flows(of, "br-t", 5, want, early=failed)["lines"] == fixed["lines"]
    assert of.dumps == 4


def test_early_dump_follows_the_plan_and_the_last_read(tmp_path):
    from saltmesh.ovs import flowmark

    started, closed = [], []

    class Read:
        def __init__(self, target):
            self.target = target

        def close(self):
            closed.append(self.target)

    def start(bridge, cookie):
        started.append((bridge, cookie))
        return Read((bridge, cookie))

    who, cache = "ovs_mesh.managed\0m1\0mesh\0None", str(tmp_path)
    assert flowmark.last_read(cache, who) is None and flowmark.last_read(None, who) is None
    early = flowmark.EarlyDump(start)
    early.want(flowmark.last_read(cache, who))  # nothing known: nothing started
    assert started == [] and early.pending is None
    early.want(("br-t", 5))
    early.want(("br-t", 5))  # the same target: the read already running is kept
    assert started == [("br-t", 5)] and early.pending.target == ("br-t", 5)
    early.want(("br-u", 6))  # the plan says otherwise: that one is ended, the right one started
    assert closed == [("br-t", 5)] and early.pending.target == ("br-u", 6)
    early.want(None)
    assert closed == [("br-t", 5), ("br-u", 6)] and early.pending is None
    early.close()  # nothing left to end
    assert len(closed) == 2

    flowmark.note_read(cache, who, "br-u", 6)
    assert flowmark.last_read(cache, who) == ("br-u", 6)
    assert flowmark.last_read(cache, who.replace("m1", "m2")) is None
    blocked = tmp_path / "a-file"  # a cache directory that cannot hold one: no error, no hint
    blocked.write_text("")
    flowmark.note_read(str(blocked), who, "br-v", 7)
    assert flowmark.last_read(str(blocked), who) is None


def test_macs_listed_behind_a_host_get_unicast_rules():
    p = pillar(macs={"docker02": ["02:AA:00:00:00:01"]})
    hp = fleet(p)["docker01"]
    assert ("02:aa:00:00:00:01", "docker02") in hp.flow.macs
    assert any("dl_dst=02:aa:00:00:00:01" in r.match for r in hp.flow.rules())


@pytest.mark.parametrize(
    "macs, message",
    [
        ({"nowhere": ["02:aa:00:00:00:01"]}, "saltmesh:mesh:macs:nowhere: unknown server"),
        ({"c001": ["02:aa:00:00:00:01"]}, "saltmesh:mesh:macs:c001: 'c001' is a container"),
        ({"docker02": "02:aa:00:00:00:01"}, "saltmesh:mesh:macs:docker02: must be a list"),
        ({"docker02": ["01:00:5e:00:00:01"]}, "'01:00:5e:00:00:01' is not a unicast MAC"),
        ({"docker02": ["nope"]}, "'nope' is not a unicast MAC"),
        ({"docker02": [mac(1)]}, f"MAC {mac(1)} is already the container 'c001'"),
        (
            {"docker02": ["02:aa:00:00:00:01"], "docker03": ["02:aa:00:00:00:01"]},
            "saltmesh:mesh:macs:docker03: MAC 02:aa:00:00:00:01 is already listed under 'docker02'",
        ),
    ],
)
def test_bad_macs_are_named(macs, message):
    with pytest.raises(PillarError) as err:
        fleet(pillar(macs=macs))
    assert message in str(err.value)
