"""The bad-input corpus through real states and runners: each fails naming its culprit, no
traceback, nothing touched (no bridge, no container)."""

from __future__ import annotations

import copy
import json

import pytest
import salt.config
import salt.runner

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.mesh import planner
from saltmesh.placement import fleet
from tests.reliability.corpus import cases
from tests.support import docker as d

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def runner(salt_master, salt_run_cli, salt_minion):
    """The master's runners, called in this process (the same loader and pillar as salt-run)."""
    ret = salt_run_cli.run("saltutil.sync_all")
    assert ret.returncode == 0, ret
    return salt.runner.RunnerClient(salt.config.master_config(salt_master.config_file))


@pytest.fixture(scope="module")
def untouched(ovs):
    def state(pillar):
        """What must not change: the minion's OVS bridges, and no container of the case exists."""
        servers = pillar.get("servers") if isinstance(pillar.get("servers"), dict) else {}
        names = set(d.docker("ps", "-a", "--format", "{{.Names}}").split())
        return ovs.vsctl("list-br").split(), sorted(names & set(servers))

    return state


@pytest.mark.parametrize(
    ("expect", "pillar"), cases("inventory", "containers", "mesh", "discovery")
)
def test_states_refuse_bad_pillar(expect, pillar, salt_cli, salt_minion, untouched):
    """Applied on docker host d1 (this minion): the states that read the culprit fail naming it;
    the others have nothing to do."""
    servers = pillar.get("servers")
    if isinstance(servers, dict) and (servers.get("d1") or {}).get("node_type") == "docker_host":
        servers["d1"] = {**servers["d1"], "minion_id": salt_minion.id}
    before = untouched(pillar)
    ret = salt_cli.run(
        "state.apply", "mesh,containers", f"pillar={json.dumps(pillar)}", minion_tgt=salt_minion.id
    )
    assert "Traceback" not in ret.stdout + ret.stderr, ret
    results = {r["__id__"]: r for r in ret.data.values()} if isinstance(ret.data, dict) else {}
    ids = ["saltmesh-containers", "saltmesh-discovery", "saltmesh-mesh"]
    assert sorted(results) == ids, ret
    # mesh.discovery requires the mesh state, which every case fails: it does nothing
    discovery = results.pop("saltmesh-discovery")
    assert discovery["result"] is False and discovery["changes"] == {}, discovery
    assert "requisite" in discovery["comment"].lower(), discovery
    try:  # a problem the inventory sees fails both; one only the mesh planner sees, the mesh
        inventory.parse(pillar)
        failing = ["saltmesh-mesh"]
    except PillarError:
        failing = sorted(results)
    for state_id, result in results.items():
        if state_id in failing:
            assert result["result"] is False and expect in result["comment"], result
        else:
            assert result["result"] is True and result["changes"] == {}, result
    assert untouched(pillar) == before == (before[0], [])


@pytest.mark.parametrize(
    ("expect", "pillar"), cases("inventory", "containers", "mesh", "placement", "discovery")
)
def test_runners_refuse_bad_pillar(expect, pillar, runner, pillar_tree):
    """Each runner that reads the culprit answers with an error naming it: ``mesh.plan``
    when the inventory or the mesh planner refuses it, ``placement.plan`` when the inventory
    or the placement planner does (rules that fit nowhere, an exhausted pool...)."""
    area_runners = []
    for fun, check in (
        ("mesh.plan", lambda p: planner.plan_fleet(inventory.parse(p))),
        ("placement.plan", fleet.plan),
    ):
        try:
            check(copy.deepcopy(pillar))
        except PillarError:
            area_runners.append(fun)
    assert area_runners, "a corpus case no runner refuses"
    (pillar_tree / "saltmesh_test.sls").write_text(json.dumps(pillar))
    try:
        for fun in area_runners:
            answer = runner.cmd(fun, [])
            assert isinstance(answer, dict) and answer.get("retcode") == 1, (fun, answer)
            assert expect in answer["error"], (fun, answer)
    finally:
        (pillar_tree / "saltmesh_test.sls").write_text("{}\n")
