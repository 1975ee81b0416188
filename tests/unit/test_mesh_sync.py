"""Reconciling a host's planned tunnels with a snapshot of its OVSDB (no OVS needed)."""

import pytest

from saltmesh import inventory
from saltmesh.mesh import graph, planner, report, sync
from saltmesh.ovs.schema import Bridge, Interface, Port, Snapshot


def host_plan(n=3, host="docker01", **mesh_opts):
    servers = {
        f"docker{i:02d}": {"node_type": "docker_host", "address": f"10.0.0.{i}"}
        for i in range(1, n + 1)
    }
    p = {"servers": servers, "saltmesh": {"mesh": {"tunnel": "vxlan", "key": 7, **mesh_opts}}}
    return planner.plan_host(inventory.parse(p), host)


def snapshot_of(plan, *, skip=(), extra_ports=(), mutate=None, mtu=None):
    """A snapshot in which ``plan`` is applied (minus ``skip``), plus foreign ports."""
    ports, ifaces = {}, {}
    names = []
    for t in plan.tunnels:
        if t.name in skip:
            continue
        spec = sync.port_spec(plan, t)
        port = Port(
            t.name,
            f"uuid-{t.name}",
            plan.bridge,
            (t.name,),
            protected=True,
            external_ids=dict(spec.external_ids),
        )
        iface = Interface(t.name, f"iuuid-{t.name}", plan.type, dict(spec.options), port=t.name)
        if mutate:
            port, iface = mutate(port, iface)
        ports[t.name], ifaces[t.name] = port, iface
        names.append(t.name)
    ports[plan.bridge] = Port(plan.bridge, "u-br", plan.bridge, (plan.bridge,))
    ifaces[plan.bridge] = Interface(
        plan.bridge,
        "iu-br",
        "internal",
        port=plan.bridge,
        mtu_request=plan.mtu if mtu is None else mtu,
    )
    names.append(plan.bridge)
    for name, ext in extra_ports:
        ports[name] = Port(name, f"uuid-{name}", plan.bridge, (name,), external_ids=ext)
        ifaces[name] = Interface(name, f"iuuid-{name}", "internal", port=name)
        names.append(name)
    bridge = Bridge(plan.bridge, "b-uuid", tuple(sorted(names)), datapath_type=plan.datapath_type)
    return Snapshot(bridges={plan.bridge: bridge}, ports=ports, interfaces=ifaces)


def test_in_sync_means_no_clauses():
    plan = host_plan()
    assert sync.reconcile(plan, snapshot_of(plan)) == ([], {})


def test_fresh_host_creates_bridge_ports_and_mtu_in_one_transaction():
    plan = host_plan()
    clauses, changes = sync.reconcile(plan, Snapshot())
    assert changes["added"] == ["vxlan-0a000002", "vxlan-0a000003"]
    assert changes["mtu"] == {"old": None, "new": 1450}
    assert "bridge" in changes
    flat = [" ".join(c) for c in clauses]
    assert flat[0].startswith("add-br br-mesh")
    adds = [c for c in clauses if c[0] == "add-port"]
    assert len(adds) == 2
    for add in adds:  # protected and identity are set with the port, never after
        assert "protected=true" in add
        assert any(a.startswith("external_ids:saltmesh-mesh=") for a in add)


def test_missing_port_is_added_and_others_untouched():
    plan = host_plan()
    clauses, changes = sync.reconcile(plan, snapshot_of(plan, skip={"vxlan-0a000003"}))
    assert changes == {"added": ["vxlan-0a000003"]}
    assert all("vxlan-0a000002" not in c for c in clauses)


def test_stale_owned_port_removed_foreign_kept():
    plan = host_plan()
    snap = snapshot_of(
        plan,
        extra_ports=[
            ("vxlan-0a000009", {"saltmesh-mesh": "br-mesh", "saltmesh-peer": "gone"}),
            ("ov0", {}),
            ("vxlan-0a00000a", {"saltmesh-mesh": "another-mesh"}),
        ],
    )
    clauses, changes = sync.reconcile(plan, snap)
    assert changes == {"removed": ["vxlan-0a000009"]}
    assert clauses == [("del-port", "br-mesh", "vxlan-0a000009")]


def test_drifted_options_corrected_in_place():
    plan = host_plan()

    def drift(port, iface):
        opts = {**iface.options, "key": "99", "stale": "x"}
        return port, Interface(iface.name, iface.uuid, iface.type, opts, port=iface.port)

    clauses, changes = sync.reconcile(plan, snapshot_of(plan, mutate=drift))
    assert sorted(changes["updated"]) == ["vxlan-0a000002", "vxlan-0a000003"]
    upd = changes["updated"]["vxlan-0a000002"]["options"]
    assert upd["old"]["key"] == "99" and upd["new"]["key"] == "7" and "stale" not in upd["new"]
    assert not any(c[0] in ("add-port", "del-port") for c in clauses)


def test_unprotected_port_gets_protected():
    plan = host_plan()

    def unprotect(port, iface):
        return Port(
            port.name, port.uuid, port.bridge, port.interfaces, external_ids=port.external_ids
        ), iface

    _, changes = sync.reconcile(plan, snapshot_of(plan, mutate=unprotect))
    assert changes["updated"]["vxlan-0a000002"]["protected"] == {"old": False, "new": True}


def test_foreign_port_squatting_a_planned_name_is_an_error():
    plan = host_plan()
    snap = snapshot_of(plan, skip={"vxlan-0a000002"}, extra_ports=[("vxlan-0a000002", {})])
    with pytest.raises(sync.PortConflict, match="vxlan-0a000002 on bridge br-mesh exists"):
        sync.reconcile(plan, snap)


def test_bfd_enabled():
    plan = host_plan(bfd=True)
    _, changes = sync.reconcile(plan, snapshot_of(plan))
    assert changes["updated"]["vxlan-0a000002"]["bfd"] == {"old": {}, "new": {"enable": "true"}}


def test_mtu_drift():
    plan = host_plan()
    clauses, changes = sync.reconcile(plan, snapshot_of(plan, mtu=1500))
    assert changes == {"mtu": {"old": 1500, "new": 1450}}
    assert clauses == [("set", "Interface", "br-mesh", "mtu_request=1450")]


def test_verify_and_dot():
    plans = planner.plan_fleet(
        inventory.parse(
            {
                "servers": {
                    f"d{i}": {"node_type": "docker_host", "address": f"10.0.0.{i}"}
                    for i in (1, 2, 3)
                }
            }
        )
    )
    hp = plans["d1"]
    status = {
        "ports": {
            hp.tunnels[0].name: {
                "type": "vxlan",
                "options": hp.options(hp.tunnels[0]),
                "protected": True,
                "bridge": "br-mesh",
                "link_state": "up",
            },
            "vxlan-0a000063": {
                "type": "vxlan",
                "options": {},
                "protected": True,
                "bridge": "br-mesh",
            },
        }
    }
    found = report.verify_host(hp, status)
    assert found == {"missing": [hp.tunnels[1].name], "extra": ["vxlan-0a000063"]}
    assert report.verify_host(hp, None) == {"unreachable": "no answer"}
    dot = graph.to_dot(plans, {"d1": found, "d2": {}, "d3": {}})
    assert dot.count(" -- ") == 3
    assert '"d1" -- "d3"' in dot and "color=red" in dot
    table = report.plan_table(plans)
    assert table.splitlines()[-1] == "3 hosts, 6 tunnel ports"


def _in_sync_status(hp, **port_fields):
    ports = {
        t.name: {"type": "vxlan", "options": hp.options(t), "protected": True,
                 "bridge": "br-mesh", "link_state": "up", "ofport": 1 + i, **port_fields}
        for i, t in enumerate(hp.tunnels)
    }  # fmt: skip
    return {"ports": ports}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"ofport": None}, report.NO_OFPORT),  # vswitchd could not open the bridge's datapath
        ({"ofport": -1}, report.NO_OFPORT),  # it tried to add the port and failed
        ({"ofport": -1, "error": "could not add"}, "error: could not add"),
        ({"link_state": "down"}, "link down"),
    ],
)
def test_verify_reports_a_port_vswitchd_has_not_set_up_as_down(fields, why):
    hp = host_plan(3)
    assert report.verify_host(hp, _in_sync_status(hp)) == {}
    assert report.verify_host(hp, _in_sync_status(hp, **fields)) == {
        "down": {t.name: why for t in hp.tunnels}
    }


def test_verify_does_not_judge_ofport_a_status_does_not_carry():
    """A minion whose modules predate ``ofport`` in ``ovs_mesh.status``."""
    hp = host_plan(3)
    status = _in_sync_status(hp)
    for port in status["ports"].values():
        del port["ofport"]
    assert report.verify_host(hp, status) == {}


@pytest.mark.parametrize(
    ("answer", "row"),
    [
        (
            {"ovs_mesh_|-x_|-x_|-managed": {"result": None, "changes": {"added": ["p"]}}},
            {"added": ["p"]},
        ),
        ({"ovs_mesh_|-x_|-x_|-managed": {"result": True, "changes": {}}}, {}),
        (
            {"ovs_mesh_|-x_|-x_|-managed": {"result": False, "comment": "bad pillar"}},
            {"error": "bad pillar"},
        ),
        (None, {"unreachable": "no answer"}),
        (False, {"unreachable": "no answer"}),
        (
            "Minion did not return. [No response]",
            {"unreachable": "no answer"},
        ),
        (
            {"x": ["'ovs_mesh.managed' is not available."]},
            {"error": "{'x': [\"'ovs_mesh.managed' is not available.\"]}"},
        ),
    ],
)
def test_dry_run_answer(answer, row):
    assert report.dry_run_answer(answer) == row


@pytest.mark.parametrize(
    ("answer", "row"),
    [
        (None, {"unreachable": "no answer"}),
        ({}, {"unreachable": "no answer"}),
        (
            "Minion did not return. [No response]\nThe minions may not have...\n",
            {"unreachable": "no answer"},
        ),
        ("'ovs_mesh.status' is not available.", {"error": "'ovs_mesh.status' is not available."}),
        ({"ports": {}}, None),
    ],
)
def test_no_answer(answer, row):
    assert report.no_answer(answer) == row
