"""The highstate heals drift by itself: the schedule that mesh.heal registers re-applies it."""

from __future__ import annotations

import time

import pytest
import yaml

from tests.integration.mesh.test_mesh import BRIDGE, tunnel_ports

pytestmark = pytest.mark.reliability


def test_scheduled_highstate_repairs_a_deleted_tunnel(mesh_lab):
    hosts = mesh_lab.hosts[:2]
    mesh_lab.set_pillar(hosts, tunnel="vxlan")
    pillar = mesh_lab.pillar_tree / "saltmesh_test.sls"
    data = yaml.safe_load(pillar.read_text())
    data["saltmesh"]["heal_seconds"] = 3
    pillar.write_text(yaml.safe_dump(data))
    h0, minion = hosts[0], mesh_lab.minions[hosts[0].name]
    ret = mesh_lab.run_on([minion], "saltutil.refresh_pillar", "wait=True")
    assert ret.returncode == 0, ret
    try:
        applied = mesh_lab.run_on([minion], "state.apply")  # the highstate of salt/top.sls
        assert applied.returncode == 0, applied
        ids = sorted(r["__id__"] for r in applied.data[minion.id].values())
        assert ids == [
            "saltmesh-containers", "saltmesh-discovery", "saltmesh-heal", "saltmesh-mesh",
        ], ids  # fmt: skip
        (port,) = tunnel_ports(h0)

        h0.ovs.vsctl("del-port", BRIDGE, port)  # drift, by hand
        assert tunnel_ports(h0) == {}
        started = time.monotonic()
        while time.monotonic() - started < 90 and port not in tunnel_ports(h0):
            time.sleep(0.5)
        assert port in tunnel_ports(h0), "the scheduled highstate did not put the port back"
        print(f"healed in {time.monotonic() - started:.1f} s")
    finally:
        stop_heal(mesh_lab, minion)


def stop_heal(mesh_lab, minion, timeout=120):
    """Delete the schedule for good. A scheduled highstate still under way when it is deleted
    puts it back (mesh.heal is part of the highstate) and keeps re-applying the highstate every
    few seconds under the next tests' feet: delete until no state run is left and it stays gone."""
    deadline = time.monotonic() + timeout
    while True:
        mesh_lab.run_on([minion], "schedule.delete", "saltmesh-heal")
        jobs = mesh_lab.run_on([minion], "saltutil.running").data.get(minion.id) or []
        listed = mesh_lab.run_on([minion], "schedule.list", "return_yaml=False")
        states = [j for j in jobs if str(j.get("fun", "")).startswith("state.")]
        if not states and "saltmesh-heal" not in (listed.data.get(minion.id) or {}):
            return
        assert time.monotonic() < deadline, ("saltmesh-heal keeps coming back", states)
        time.sleep(1)
