"""A container moved by placement: ``salt-run state.orchestrate orch.placement`` stops it on the
old docker host before the new one starts it (the same IP and MAC never live twice).

Two docker hosts with two dockerds, as in production: A is ``salt_minion`` on the machine's
dockerd, B is ``minion_b`` on the private one; the order is read from both dockerds' events.
"""

from __future__ import annotations

import time

import pytest

from saltmesh.containers.names import host_ifname
from tests.conftest import Pillar, placement_steps
from tests.support import docker as d

pytestmark = [pytest.mark.usefixtures("docker_ok"), pytest.mark.reliability]

STOPPING = ("kill", "die", "stop", "destroy")


@pytest.fixture(scope="module", autouse=True)
def _master_synced(salt_run_cli):
    """The orchestration asks the placement runner: sync runners (and the core) first."""
    ret = salt_run_cli.run("saltutil.sync_all")
    assert ret.returncode == 0, ret


def orchestrate(cli, test=False):
    """``{(phase, minion): changes}`` of one orchestration; every phase must succeed."""
    ret = cli.run("state.orchestrate", "orch.placement", f"test={test}")
    return {key: one["changes"] for key, one in placement_steps(ret).items()}


def moved_changes(out):
    return {key: changes for key, changes in out.items() if changes}


def test_a_move_stops_the_old_host_first(
    salt_run_cli, salt_cli, salt_minion, minion_b, pillar_tree, busybox, prefix, ovs,
    docker_hosts, dockerd_b, bridge, probe,
):  # fmt: skip
    probe.idle()
    host_b = docker_hosts[1]
    ovs.vsctl("add-br", bridge, "--", "set", "bridge", bridge, "datapath_type=netdev")
    pillar = Pillar(pillar_tree, salt_cli, [salt_minion.id, minion_b.id])
    name = f"{prefix}mv"
    port = host_ifname(name, "eth0")
    ha, hb = f"{prefix}ha", f"{prefix}hb"

    def declare(parent, **settings):
        data = {"servers": {
            ha: {"node_type": "docker_host", "address": "10.253.8.1", "minion_id": salt_minion.id},
            hb: {"node_type": "docker_host", "address": "10.253.8.2", "minion_id": minion_b.id},
            name: {"node_type": "container", "address": "10.81.0.5", "parents": parent,
                   "container": {"image": busybox, "command": d.SLEEPER, "restart": "always",
                                 "networks": [{"bridge": bridge, "ip": "10.81.0.5/24",
                                               "mac": "02:81:00:00:00:05"}]}},
        }}  # fmt: skip
        if settings:
            data["saltmesh"] = {"containers": settings}
        pillar.set(data)

    def running_on(url):
        info = d.inspect(name, url)
        return bool(info and info["State"]["Running"])

    try:
        declare(ha)
        first = orchestrate(salt_run_cli)
        assert set(moved_changes(first)) == {("saltmesh-placement-run", salt_minion.id)}
        assert running_on(None) and d.inspect(name, dockerd_b.url) is None
        assert ovs.ports(bridge) == [port]
        assert moved_changes(orchestrate(salt_run_cli)) == {}

        # A -> B: predicted, nothing touched; then A stops it before B starts it
        declare(hb)
        pred = moved_changes(orchestrate(salt_run_cli, test=True))
        assert pred[("saltmesh-placement-prune", salt_minion.id)][name] == {"removed": name}
        assert pred[("saltmesh-placement-run", minion_b.id)][name]["created"] == name
        assert running_on(None) and d.inspect(name, dockerd_b.url) is None
        since = time.time()
        real = moved_changes(orchestrate(salt_run_cli))
        # a dry run cannot know that the first phase happened: its second phase predicts the
        # removal on A once more; everything else is predicted exactly
        assert (
            pred.pop(("saltmesh-placement-run", salt_minion.id))
            == pred[("saltmesh-placement-prune", salt_minion.id)]
        )
        assert real == pred
        assert d.inspect(name) is None and running_on(dockerd_b.url)
        assert ovs.ports(bridge) == [] and host_b.ovs.ports(bridge) == [port]
        old = [t for t, action, _ in d.timeline(since, {name}) if action in STOPPING]
        new = [t for t, action, _ in d.timeline(since, {name}, dockerd_b.url) if action == "start"]
        assert old and new and max(old) < min(new), "B started it while A still ran it"
        assert moved_changes(orchestrate(salt_run_cli)) == {}

        # B -> A with prune: false: B does not remove it, but still stops it first
        declare(ha, prune=False)
        since = time.time()
        real = moved_changes(orchestrate(salt_run_cli))
        assert real[("saltmesh-placement-prune", minion_b.id)] == {
            name: {"state": {"old": "running", "new": "exited"}},
            "orphan_ports": {"removed": [port]},
        }
        assert running_on(None)
        kept = d.inspect(name, dockerd_b.url)
        assert kept is not None and kept["State"]["Status"] == "exited"
        old = [t for t, action, _ in d.timeline(since, {name}, dockerd_b.url) if action in STOPPING]
        new = [t for t, action, _ in d.timeline(since, {name}) if action == "start"]
        assert old and new and max(old) < min(new), "A started it while B still ran it"
        assert moved_changes(orchestrate(salt_run_cli)) == {}
    finally:
        pillar.clear()
        d.remove_containers(prefix, dockerd_b.url)
        ovs.vsctl("--if-exists", "del-br", bridge)
