"""The saltmesh_containers engine re-attaches a restarted container without any state run."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import state_of
from tests.support import docker as d
from tests.support.net import received

REPO = Path(__file__).resolve().parents[3]

pytestmark = pytest.mark.usefixtures("docker_ok")


@pytest.fixture(scope="module")
def engine_minion(salt_master, salt_cli, docker_hosts):
    """A second minion: docker host B (its OVS in netns B), running the engine."""
    host_b = docker_hosts[1]
    config = {
        "saltmesh": {"ovsdb": host_b.ovs.db, "netns": host_b.name},
        "engines": [{"saltmesh_containers": {"interval": 3600}}],
        "engines_dirs": [str(REPO / "_engines")],
    }
    factory = salt_master.salt_minion_daemon("smt-eng-" + uuid.uuid4().hex[:6], overrides=config)
    with factory.started():
        ret = salt_cli.run("saltutil.sync_all", minion_tgt=factory.id)
        assert ret.returncode == 0, ret
        yield factory


def attached_pid(host, bridge, container):
    for row in host.ovs.table("Interface", "external_ids"):
        ext = dict(row["external_ids"][1])
        if ext.get("saltmesh-container") == container:
            return int(ext["saltmesh-pid"])
    return None


def test_engine_reattaches_after_restart(
    engine_minion, salt_cli, pillar, busybox, prefix, bridge, docker_hosts
):
    host_b = docker_hosts[1]
    e1, e2 = f"{prefix}e1", f"{prefix}e2"
    servers = {host_b.name: {"node_type": "docker_host", "address": "10.253.0.2",
                             "minion_id": engine_minion.id}}  # fmt: skip
    for i, name in enumerate((e1, e2)):
        servers[name] = {
            "node_type": "container",
            "address": f"10.78.0.{i + 1}",
            "parents": host_b.name,
            "container": {
                "image": busybox,
                "command": d.SLEEPER,
                "networks": [
                    {
                        "bridge": bridge,
                        "ip": f"10.78.0.{i + 1}/24",
                        "mac": f"02:78:00:00:00:0{i + 1}",
                    }
                ],
            },
        }
    pillar.set({"servers": servers})
    # queue=True: the engine may be running the same state right now
    ret = salt_cli.run("state.sls", "containers", "queue=True", minion_tgt=engine_minion.id)
    one = state_of(ret, "saltmesh-containers")
    # the engine may get there first (any managed container start on this dockerd wakes it)
    assert one["result"] is True, one
    assert d.containers(prefix) == [e1, e2]
    deadline = time.time() + 30
    while time.time() < deadline and attached_pid(host_b, bridge, e2) is None:
        time.sleep(0.5)
    assert received(d.docker("exec", e1, "ping", "-c", "1", "-W", "2", "10.78.0.2")) == 1

    d.docker("restart", "-t", "1", e2)
    new_pid = d.inspect(e2)["State"]["Pid"]
    deadline = time.time() + 60
    while time.time() < deadline and attached_pid(host_b, bridge, e2) != new_pid:
        time.sleep(0.5)
    assert attached_pid(host_b, bridge, e2) == new_pid, "the engine did not re-attach"
    assert received(d.docker("exec", e1, "ping", "-c", "2", "-W", "2", "10.78.0.2")) == 2
    ret = salt_cli.run("state.sls", "containers", "queue=True", minion_tgt=engine_minion.id)
    one = state_of(ret, "saltmesh-containers")
    assert one["changes"] == {}
