"""The mesh runner at its boundary: bad pillar, a minion that does not answer, no master."""

from __future__ import annotations

import time
import uuid

import pytest
import yaml

from tests.conftest import REPO

pytestmark = pytest.mark.reliability


def assert_clean(ret, *needles):
    """An answer, not a crash: exit 1, an ``error`` naming each needle, no traceback anywhere."""
    out = ret.stdout + ret.stderr
    assert ret.returncode == 1, ret
    assert "Traceback" not in out and "Exception occurred" not in out, out
    assert isinstance(ret.data, dict) and set(ret.data) == {"error", "retcode"}, ret
    for needle in needles:
        assert needle in ret.data["error"], ret.data


def test_bad_pillar_is_one_answer_naming_the_path(mesh_lab):
    mesh_lab.set_pillar(mesh_lab.hosts[:2], tunnel="vxlan", mtu=1600)
    for fun in ("mesh.plan", "mesh.diff", "mesh.verify", "mesh.graph"):
        assert_clean(mesh_lab.salt_run_cli.run(fun), "saltmesh:mesh:mtu")
    assert_clean(mesh_lab.salt_run_cli.run("mesh.graph", "format=gif"), "format must be")


def test_minion_that_does_not_answer_is_reported_and_the_others_too(mesh_lab):
    hosts = mesh_lab.hosts[:2]
    mesh_lab.set_pillar(hosts, tunnel="vxlan")
    pillar = yaml.safe_load((mesh_lab.pillar_tree / "saltmesh_test.sls").read_text())
    pillar["servers"]["ghost"] = {
        "node_type": "docker_host",
        "address": "10.254.77.99",
        "minion_id": "smt-ghost-" + uuid.uuid4().hex[:6],  # no such minion
    }
    (mesh_lab.pillar_tree / "saltmesh_test.sls").write_text(yaml.safe_dump(pillar))
    ret = mesh_lab.run_on([mesh_lab.minions[h.name] for h in hosts], "state.sls", "mesh")
    assert ret.returncode == 0, ret

    verify = mesh_lab.salt_run_cli.run("mesh.verify", "timeout=10")
    assert verify.returncode == 0, verify
    assert verify.data["ghost"] == {"unreachable": "no answer"}
    for h in hosts:  # the others are reported, in sync (their tunnel to the ghost included)
        assert verify.data[h.name] == {}, verify.data
        assert f"vxlan-{0x0AFE4D63:08x}" in h.ovs.ports("br-mesh")

    diff = mesh_lab.salt_run_cli.run("mesh.diff", "timeout=10")
    assert diff.returncode == 0, diff
    assert diff.data["ghost"] == {"unreachable": "no answer"}
    assert all(diff.data[h.name] == {} for h in hosts), diff.data


def test_no_master_answering_is_one_line(salt_factories, tmp_path):
    """salt-run against a master that is not running: one line saying so, quickly."""
    pillar_root = tmp_path / "pillar"
    pillar_root.mkdir()
    (pillar_root / "top.sls").write_text("base:\n  '*':\n    - mesh\n")
    servers = {f"d{i}": {"node_type": "docker_host", "address": f"10.254.78.{i}"} for i in (1, 2)}
    (pillar_root / "mesh.sls").write_text(yaml.safe_dump({"servers": servers}))
    master = salt_factories.salt_master_daemon(
        "smt-nomaster-" + uuid.uuid4().hex[:6],
        overrides={
            "pillar_roots": {"base": [str(pillar_root)]},
            "runner_dirs": [str(REPO / "_runners")],
        },
    )  # never started
    run = master.salt_run_cli(timeout=120)
    plan = run.run("mesh.plan", "--out=json")  # needs no master daemon: pillar is compiled here
    assert plan.returncode == 0, plan
    started = time.monotonic()
    ret = run.run("mesh.verify", "timeout=5")
    assert_clean(ret, "master")
    assert "\n" not in ret.data["error"].strip(), ret.data  # one line saying so
    assert time.monotonic() - started < 90
