"""salt-run placement.plan / placement.apply through a real master."""

from __future__ import annotations

import pytest
import yaml


@pytest.fixture(scope="module", autouse=True)
def _master_synced(salt_run_cli):
    """The master runs runners from its extmods: sync them (and the core) first."""
    ret = salt_run_cli.run("saltutil.sync_all")
    assert ret.returncode == 0, ret


def test_plan_and_apply(salt_run_cli, pillar, prefix, tmp_path):
    hosts = [f"{prefix}d{i}" for i in range(3)]
    servers = {
        h: {"node_type": "docker_host", "address": f"10.252.0.{i + 1}"} for i, h in enumerate(hosts)
    }
    names = [f"{prefix}c{i:02d}" for i in range(12)]
    for i, c in enumerate(names):
        servers[c] = {"node_type": "container", "address": f"10.252.1.{i + 1}"}
    servers[names[0]]["parents"] = hosts[0]
    pillar.set({"servers": servers, "saltmesh": {"placement_weights": {hosts[2]: 0}}})

    ret = salt_run_cli.run("placement.plan", "--out=json")
    assert ret.returncode == 0, ret
    data = ret.data  # one mapping per container
    assert sorted(data) == sorted(names)
    assert (data[names[0]]["host"], data[names[0]]["how"]) == (hosts[0], "pinned")
    assert {d["how"] for c, d in data.items() if c != names[0]} == {"placed"}
    assert {d["host"] for d in data.values()} <= set(hosts[:2])
    assert all(d["move"] is None and d["reasons"] for d in data.values())
    rows = {c: [d["host"], d["how"]] for c, d in data.items()}

    text = salt_run_cli.run("placement.plan", "--out=txt")
    assert text.returncode == 0, text
    assert "CONTAINER" in text.stdout and "USED/TOTAL" in text.stdout  # pprint may split lines

    path = tmp_path / "saltmesh_placement.sls"
    ret = salt_run_cli.run("placement.apply", f"path={path}", "test=True")
    assert ret.returncode == 0 and len(ret.data["changes"]) == 11 and not path.exists()
    ret = salt_run_cli.run("placement.apply", f"path={path}")
    assert ret.returncode == 0 and len(ret.data["changes"]) == 11
    written = yaml.safe_load(path.read_text())["saltmesh"]["placement"]
    assert written == {c: rows[c][0] for c in names[1:]}
    again = salt_run_cli.run("placement.apply", f"path={path}")
    assert again.data["changes"] == {}


def test_plan_bad_pillar(salt_run_cli, pillar, prefix):
    pillar.set({"servers": {f"{prefix}c": {"node_type": "container", "address": "10.0.0.9",
                                           "parents": "ghost"}}})  # fmt: skip
    ret = salt_run_cli.run("placement.plan")
    assert ret.returncode == 1, ret  # an answer, not a traceback
    assert "Traceback" not in ret.stdout + ret.stderr
    assert f"servers:{prefix}c:parents:0: unknown parent 'ghost'" in ret.data["error"]
