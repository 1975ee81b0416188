"""Both install routes: file_roots + saltutil.sync_all, and pip install with no sync."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

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


def _source_copy(dest: Path) -> Path:
    """The checkout's files as git sees them (tracked, or new and not ignored)."""
    listed = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    for name in filter(None, listed.split("\0")):
        if (REPO / name).is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, dest / name)
    return dest


@pytest.fixture(scope="module")
def wheel_site(tmp_path_factory):
    """The built wheel installed into a folder of its own (a real wheel, not the editable)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = _source_copy(tmp / "src")  # a build in the checkout would leave build/ behind
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(tmp / "dist"), str(src)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = (tmp / "dist").glob("saltmesh-*.whl")
    site = tmp / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(site),
         str(wheel)],
        check=True, capture_output=True,
    )  # fmt: skip
    return site


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
