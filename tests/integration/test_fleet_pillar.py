"""The ``saltmesh_fleet`` ext_pillar on a real master with two docker-host minions.

The master reads a generated fleet file (8 docker hosts, 48 containers, apps placed by the
planner); each minion's ``pillar.items`` is its slice only, its mesh plan (``ovs_mesh.plan``,
the planner ``ovs_mesh.managed`` applies) and its highstate are those of the whole fleet, and
``salt-run mesh.plan`` sees every host. With ``topology: flow`` a host's slice holds the MACs of the
containers elsewhere (``saltmesh:mesh:macs``), not the containers, and its flow plan is the
whole fleet's. A bad fleet file reaches every minion as ``_errors``
naming the file, and the runner refuses it.

Every daemon and CLI runs with this checkout's ``_utils`` first on PYTHONPATH, so the master
process (where ext_pillar runs) imports this checkout's ``saltmesh`` and not another install.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import uuid
from pathlib import Path

import pytest
import salt.version
import yaml

from saltmesh import fleet, inventory, roles
from saltmesh.mesh import planner
from tests.support import fleetgen

REPO = Path(__file__).resolve().parents[2]
# Salt 3008 masks pillar values in pillar.items' output; 3007 has no such argument
UNMASK = ("unmask=True",) if salt.version.__saltstack_version__.major >= 3008 else ()
HOSTS = ("docker0001", "docker0002")


@pytest.fixture(scope="module")
def fleet_lab(salt_factories, state_tree, tmp_path_factory):
    if not shutil.which("ovs-vsctl"):
        pytest.skip("ovs_mesh.plan needs the ovs module, which needs ovs-vsctl")
    prefix = "smt" + uuid.uuid4().hex[:5]
    root = tmp_path_factory.mktemp("fleet")
    pillar_roots = root / "pillar"
    pillar_roots.mkdir()
    (pillar_roots / "top.sls").write_text("base: {}\n")
    fleet_file = root / "fleet.yaml"
    raw = fleetgen.pillar(8, 48, apps=3, instances=2)
    ids = {host: f"{prefix}-{host}" for host in HOSTS}
    for host, mid in ids.items():
        raw["servers"][host]["minion_id"] = mid
    fleet_file.write_text(yaml.safe_dump(raw))
    pythonpath = str(REPO / "_utils")
    master = salt_factories.salt_master_daemon(
        f"{prefix}-master",
        overrides={
            "file_roots": {"base": [str(REPO / "salt"), str(state_tree)]},
            "pillar_roots": {"base": [str(pillar_roots)]},
            "fileserver_followsymlinks": True,
            "ext_pillar": [{"saltmesh_fleet": {"path": str(fleet_file)}}],
        },
    )
    master.environ["PYTHONPATH"] = pythonpath  # the CLIs it makes inherit its environment
    with contextlib.ExitStack() as stack:
        stack.enter_context(master.started())
        run = master.salt_run_cli(timeout=300)
        ret = run.run("saltutil.sync_all")  # _pillar, _utils, _runners to the master
        assert ret.returncode == 0, ret
        minions = {}
        for host, mid in ids.items():
            minion = master.salt_minion_daemon(mid)
            minion.environ["PYTHONPATH"] = pythonpath
            stack.enter_context(minion.started())
            call = minion.salt_call_cli(timeout=300)
            assert call.run("saltutil.sync_all").returncode == 0
            minions[host] = call
        yield raw, fleet_file, minions, run


def ids(raw):
    return {host: raw["servers"][host]["minion_id"] for host in HOSTS}


def _json(value):
    return json.loads(json.dumps(value))


def test_each_minion_receives_only_its_slice(fleet_lab):
    raw, _, minions, _ = fleet_lab
    whole = fleet.index(raw)
    for host, call in minions.items():
        ret = call.run("pillar.items")
        assert ret.returncode == 0, ret
        servers = set(ret.data["servers"])
        mid = raw["servers"][host]["minion_id"]
        assert servers == set(fleet.slice_for(whole, mid)["servers"])
        own = set(whole.members[host])
        assert own and own <= servers
        others = {s.name for s in whole.inv.by_type("container")} - own
        assert not others & servers, f"{host} received containers of other hosts"
        assert len(servers) < len(raw["servers"])


def test_the_slice_gives_each_minion_the_plan_and_highstate_of_the_whole_fleet(fleet_lab):
    raw, _, minions, _ = fleet_lab
    inv = inventory.parse(raw)
    for host, call in minions.items():
        ret = call.run("ovs_mesh.plan")
        assert ret.returncode == 0, ret
        assert ret.data == _json(planner.plan_host(inv, host).to_dict())
        assert len(ret.data["tunnels"]) == len(inv.docker_hosts) - 1
        ret = call.run("saltmesh.highstate_sls")
        mid = raw["servers"][host]["minion_id"]
        assert ret.data == roles.highstate_sls(inv, ("nagios01",), mid)
        assert "mesh" in ret.data and "nagios.nrpe" in ret.data


def test_the_runner_sees_the_whole_fleet(fleet_lab):
    raw, _, _, run = fleet_lab
    ret = run.run("mesh.plan")
    assert ret.returncode == 0, ret
    fleet_plans = planner.plan_fleet(inventory.parse(raw))
    assert ret.data == _json({h: hp.to_dict() for h, hp in fleet_plans.items()})
    assert len(ret.data) == 8
    # placement.plan (also compiled as '*') places every container of the fleet where the
    # records say, the app instances included: it reads the whole fleet and its records
    ret = run.run("placement.plan")
    assert ret.returncode == 0, ret
    inv = inventory.parse(raw)
    containers = {s.name: s.parents[0] for s in inv.by_type("container")}
    assert {name: row["host"] for name, row in ret.data.items()} == containers


@contextlib.contextmanager
def fleet_file_holds(fleet_file, data, raw):
    """The fleet file holds ``data`` for the block, then ``raw`` again."""
    fleet_file.write_text(yaml.safe_dump(data))
    try:
        yield
    finally:
        fleet_file.write_text(yaml.safe_dump(raw))


def test_with_flow_topology_each_host_gets_the_macs_and_the_same_flow_plan(fleet_lab):
    raw, fleet_file, minions, _ = fleet_lab
    flow = json.loads(json.dumps(raw))
    flow["saltmesh"]["mesh"]["topology"] = "flow"
    with fleet_file_holds(fleet_file, flow, raw):
        inv = inventory.parse(flow)
        whole = fleet.index(flow)
        for host, call in minions.items():
            ret = call.run("pillar.items", *UNMASK)
            assert ret.returncode == 0, ret
            assert set(ret.data["servers"]) == set(
                fleet.slice_for(whole, ids(flow)[host])["servers"]
            )
            elsewhere = {s.name for s in inv.by_type("container")} - set(whole.members[host])
            assert not elsewhere & set(ret.data["servers"]), "containers of other hosts"
            assert ret.data["saltmesh"]["mesh"]["macs"], "their MACs instead"
            ret = call.run("ovs_mesh.plan")
            assert ret.returncode == 0, ret
            want = _json(planner.plan_host(inv, host).to_dict())
            assert ret.data == want
            assert want["flow"]["rules"] > 40, "the plan has a rule per MAC elsewhere"


def test_a_bad_fleet_file_reaches_every_minion_as_errors_naming_it(fleet_lab):
    raw, fleet_file, minions, run = fleet_lab
    bad = json.loads(json.dumps(raw))
    bad["servers"]["docker0003"]["address"] = "not an address!"
    with fleet_file_holds(fleet_file, bad, raw):
        for call in minions.values():
            ret = call.run("pillar.items", *UNMASK)
            (error,) = ret.data["_errors"]
            assert str(fleet_file) in error and "servers:docker0003:address" in error
            assert "servers" not in ret.data
            ret = call.run("state.sls", "mesh", "test=True")
            assert ret.returncode != 0 and "Pillar failed to render" in str(ret.data), ret
        ret = run.run("mesh.plan")
        assert ret.returncode == 1
        assert str(fleet_file) in ret.data["error"] and "did not render" in ret.data["error"]
    ret = next(iter(minions.values())).run("pillar.items")
    assert "_errors" not in ret.data and ret.data["servers"]
