"""The bad-input corpus through real states and runners: each fails naming its culprit, no
traceback, nothing touched (no bridge, no container)."""

from __future__ import annotations

import json

import pytest
import salt.config
import salt.runner

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
    def state():
        """What must not change: the minion's OVS bridges and the containers we could make."""
        return ovs.vsctl("list-br").split(), d.docker(
            "ps", "-aq", "--filter", "label=saltmesh.managed"
        )

    return state


@pytest.mark.parametrize(("expect", "pillar"), cases("inventory", "containers", "mesh"))
def test_states_refuse_bad_pillar(expect, pillar, salt_cli, salt_minion, untouched):
    before = untouched()
    ret = salt_cli.run(
        "state.apply", "mesh,containers", f"pillar={json.dumps(pillar)}", minion_tgt=salt_minion.id
    )
    assert "Traceback" not in ret.stdout + ret.stderr, ret
    results = list(ret.data.values()) if isinstance(ret.data, dict) else []
    assert len(results) == 2, ret  # one state per SLS, each a clean failure
    for result in results:
        assert result["result"] is False, result
        assert expect in result["comment"], result
    assert untouched() == before


@pytest.mark.parametrize(
    ("expect", "pillar"), cases("inventory", "containers", "mesh", "placement")
)
def test_runners_refuse_bad_pillar(expect, pillar, runner, pillar_tree):
    area_runners = ("placement.plan",) if "placement" in expect else ("mesh.plan", "placement.plan")
    (pillar_tree / "saltmesh_test.sls").write_text(json.dumps(pillar))
    try:
        for fun in area_runners:
            answer = runner.cmd(fun, [])
            assert isinstance(answer, dict) and answer.get("retcode") == 1, (fun, answer)
            assert expect in answer["error"], (fun, answer)
    finally:
        (pillar_tree / "saltmesh_test.sls").write_text("{}\n")
