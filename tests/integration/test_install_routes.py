"""Both install routes: file_roots + saltutil.sync_all, and pip install with no sync."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support import wheel

pytestmark = pytest.mark.smoke


def test_sync_all_delivers_core_from_extmods(salt_call_cli):
    ret = salt_call_cli.run("saltmesh.version")
    assert ret.returncode == 0, ret
    assert "extmods" in ret.data["core"], ret.data


def test_inventory_check_names_pillar_path(salt_call_cli, pillar):
    pillar.set(
        {
            "servers": {
                "web01": {"node_type": "container", "address": "10.0.0.1", "parents": "nosuchhost"}
            }
        }
    )
    ret = salt_call_cli.run("saltmesh.inventory_check")
    assert ret.returncode != 0
    assert "servers:web01:parents:0: unknown parent 'nosuchhost'" in ret.stdout + ret.stderr


# Route 2: `pip install .` registers the loader folders through the salt.loader entry point,
# so a masterless `salt-call --local` finds every module with no file_roots and no sync.


@pytest.fixture(scope="module")
def salt_call_local(wheel_site, ovs, tmp_path_factory):
    conf = tmp_path_factory.mktemp("masterless")
    (conf / "minion").write_text(
        yaml.safe_dump(
            {
                "id": "smt-masterless",
                "file_client": "local",
                "root_dir": str(conf),
                "file_roots": {"base": [str(conf / "srv")]},
                "pillar_roots": {"base": [str(conf / "pillar")]},
                "extension_modules": str(conf / "extmods"),
                "saltmesh": {"ovsdb": ovs.db},
            }
        )
    )
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    salt_call = str(Path(sys.executable).parent / "salt-call")

    def call(*args):
        argv = [
            salt_call,
            "--local",
            f"--config-dir={conf}",
            "--out=json",
            "--log-level=quiet",
            *args,
        ]
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, check=False)
        return proc.returncode, json.loads(proc.stdout or "{}").get("local"), proc

    return call


def test_pip_route_loads_modules_without_sync(salt_call_local, wheel_site):
    rc, data, proc = salt_call_local("saltmesh.version")
    assert rc == 0, proc.stderr
    assert data["core"].startswith(str(wheel_site)), data


def test_pip_route_applies_an_ovs_state(salt_call_local, ovs, prefix):
    bridge = f"{prefix}br"
    args = ("state.single", "ovs_bridge.present", bridge, "datapath_type=netdev")
    try:
        rc, data, proc = salt_call_local(*args)
        assert rc == 0, proc.stdout + proc.stderr
        (result,) = data.values()
        assert result["result"] is True and result["changes"], result
        assert bridge in ovs.vsctl("list-br").split()
        rc, data, _ = salt_call_local(*args)
        assert rc == 0 and next(iter(data.values()))["changes"] == {}
    finally:
        ovs.vsctl("--if-exists", "del-br", bridge)


# The pip route is complete for masterless use: the wheel carries the SLS tree, and
# file_roots is the path `python3 -m saltmesh.loader` prints (README, "Install").


def test_pip_route_wheel_carries_the_sls_tree(wheel_site):
    root = wheel.sls_root(wheel_site)
    assert root == wheel_site / "saltmesh" / "_sls"
    shipped = sorted(
        str(p.relative_to(root))
        for p in root.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )
    checkout = sorted(str(Path(name).relative_to("salt")) for name in wheel.tracked_files("salt"))
    assert shipped == checkout
    for name in checkout:
        assert (root / name).read_bytes() == (wheel.REPO / "salt" / name).read_bytes(), name


def test_pip_route_masterless_state_apply_from_the_documented_sls_root(
    wheel_site, ovs, tmp_path, prefix
):
    """file_roots: the documented path and nothing else of the checkout (cwd /, no _* dirs)."""
    me, peer, bridge = f"{prefix}-h1", f"{prefix}-h2", f"{prefix}br"
    (tmp_path / "pillar").mkdir()
    (tmp_path / "pillar" / "top.sls").write_text("base:\n  '*':\n    - mesh\n")
    (tmp_path / "pillar" / "mesh.sls").write_text(
        yaml.safe_dump(
            {
                "servers": {
                    me: {"node_type": "docker_host", "address": "10.9.0.1"},
                    peer: {"node_type": "docker_host", "address": "10.9.0.2"},
                },
                "saltmesh": {"mesh": {"bridge": bridge, "datapath_type": "netdev"}},
            }
        )
    )
    (tmp_path / "minion").write_text(
        yaml.safe_dump(
            {
                "id": me,
                "file_client": "local",
                "root_dir": str(tmp_path / "root"),
                "file_roots": {"base": [str(wheel.sls_root(wheel_site))]},
                "pillar_roots": {"base": [str(tmp_path / "pillar")]},
                "saltmesh": {"ovsdb": ovs.db},
            }
        )
    )
    argv = [
        str(Path(sys.executable).parent / "salt-call"), "--local", f"--config-dir={tmp_path}",
        "--out=json", "--log-level=quiet", "state.apply", "mesh",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(wheel_site)}
    try:
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd="/", check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        results = {r["__id__"]: r for r in json.loads(proc.stdout)["local"].values()}
        # the mesh SLS includes mesh.discovery: quiet here (no overlay_address in this pillar)
        assert results["saltmesh-discovery"]["result"] is True, results
        assert results["saltmesh-discovery"]["changes"] == {}, results
        result = results["saltmesh-mesh"]
        assert result["result"] is True, result
        assert result["changes"]["added"] == ["vxlan-0a090002"], result
        assert ovs.ports(bridge) == ["vxlan-0a090002"]
    finally:
        ovs.vsctl("--if-exists", "del-br", bridge)


def test_pip_route_lists_the_fleet_ext_pillar_for_the_master(wheel_site):
    """The entry point gives Salt's pillar loader the wheel's ``_pillar`` folder, which holds
    the ``saltmesh_fleet`` ext_pillar (docs/scale.md): a master needs no sync_pillar."""
    code = "import json, saltmesh.loader as l; print(json.dumps(l.loader_dirs()['pillar']))"
    out = subprocess.run(
        [sys.executable, "-c", code],
        env={**os.environ, "PYTHONPATH": str(wheel_site)},
        cwd="/",
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    (folder,) = json.loads(out)
    assert Path(folder) == wheel_site / "saltmesh" / "_pillar"
    assert (Path(folder) / "saltmesh_fleet.py").is_file()
