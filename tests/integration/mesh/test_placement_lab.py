"""Placement by rules on the multi-host lab (issue 13): an app of 3 instances with one per
host lands on 3 of the 4 hosts, takes its addresses from a pool, pings across the hosts'
tunnels, and survives a host being drained (weight 0): the move is reported and ordered (the
old host removes it before the new host starts it) and the instance keeps its IP and MAC.

The lab's hosts share the machine's dockerd (containers are told apart by their
``saltmesh.host`` label) and each attaches containers to its own OVS in its own namespace.
"""

from __future__ import annotations

import json
import time
import uuid

import pytest
import yaml

from tests.conftest import placement_steps
from tests.support import docker as d
from tests.support.net import received

pytestmark = pytest.mark.reliability


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    if not d.have_docker():
        pytest.skip("dockerd or /bin/busybox (busybox-static) missing")
    prefix = "smtimg" + uuid.uuid4().hex[:6]
    ref = f"{prefix}/busybox:latest"
    d.import_image(d.rootfs_tar(tmp_path_factory.mktemp("img") / "rootfs.tar"), ref)
    yield ref
    d.remove_images(prefix)


def orchestrate(run):
    """``{(phase, minion): changes}`` of ``orch.placement``, where something changed; every
    phase must succeed."""
    ret = run.run("state.orchestrate", "orch.placement")
    return {key: one["changes"] for key, one in placement_steps(ret).items() if one["changes"]}


def lifecycle(since, name):
    """``(timeNano, action, container id)`` of container ``name``'s events since ``since``."""
    out = d.docker(
        "events", "--since", f"{since:.3f}", "--until", f"{time.time() + 0.5:.3f}",
        "--filter", "type=container", "--filter", f"container={name}", "--format", "{{json .}}",
    )  # fmt: skip
    rows = [json.loads(line) for line in out.splitlines()]
    return sorted((int(e["timeNano"]), e["Action"], e["id"]) for e in rows)


def eth0(name):
    """IP (with prefix) and MAC of a container's eth0."""
    text = d.docker("exec", name, "ip", "-o", "addr", "show", "eth0")
    ip = next(part for part in text.split("inet ")[1:]).split()[0]
    mac = d.docker("exec", name, "cat", "/sys/class/net/eth0/address").strip()
    return ip, mac


def ping(src, ip):
    return received(d.docker("exec", src, "ping", "-c", "2", "-W", "2", ip, check=False))


def test_app_by_rules_pings_across_hosts_and_survives_a_drain(mesh_lab, image, prefix):
    run, minions, tree = mesh_lab.salt_run_cli, mesh_lab.minions, mesh_lab.pillar_tree
    hosts = mesh_lab.hosts
    app = f"{prefix}web"
    names = [f"{app}-{i}" for i in (1, 2, 3)]
    rec_sls = f"{prefix}rec"
    record = tree / f"{rec_sls}.sls"
    record.write_text("{}\n")

    def declare(**placement):
        servers = {
            h.name: {"node_type": "docker_host", "address": h.underlay_ip,
                     "minion_id": minions[h.name].id}
            for h in hosts
        }  # fmt: skip
        servers[app] = {
            "node_type": "app",
            "instances": 3,
            "constraints": [{"unique": "host"}],
            "container": {
                "image": image,
                "command": d.SLEEPER,
                "networks": [{"bridge": "br-mesh", "pool": "overlay", "mtu": 1400}],
            },
        }
        saltmesh = {
            "mesh": {"bridge": "br-mesh", "datapath_type": "netdev", "key": 5000,
                     "underlay_mtu": 1600},
            "pools": {"overlay": {"subnet": "10.78.0.0/24",
                                  "range": ["10.78.0.100", "10.78.0.199"]}},
            **placement,
        }  # fmt: skip
        data = {"include": [rec_sls], "servers": servers, "saltmesh": saltmesh}
        (tree / "saltmesh_test.sls").write_text(yaml.safe_dump(data))
        refresh()

    def refresh():
        ret = mesh_lab.run_on(minions.values(), "saltutil.refresh_pillar", "wait=True")
        assert ret.returncode == 0, ret

    def record_apply():
        ret = run.run("placement.apply", f"path={record}")
        assert ret.returncode == 0, ret
        refresh()
        return ret.data

    try:
        declare()
        plan = run.run("placement.plan", "--out=json")
        assert plan.returncode == 0, plan
        placed = {name: plan.data[name]["host"] for name in names}
        assert sorted(plan.data) == names and len(set(placed.values())) == 3  # one per host
        ips = {n: plan.data[n]["addresses"]["eth0"]["ip"] for n in names}
        assert sorted(ips.values()) == ["10.78.0.100/24", "10.78.0.101/24", "10.78.0.102/24"]

        applied = record_apply()
        assert applied["changes"] == {n: {"old": None, "new": placed[n]} for n in names}
        assert sorted(applied["order"]) == sorted(
            f"2. {placed[n]}: start {n} (containers)" for n in names
        )
        mesh = mesh_lab.run_on(minions.values(), "state.sls", "mesh")
        assert mesh.returncode == 0, mesh
        orchestrate(run)
        for name in names:
            info = d.inspect(name)
            assert info["State"]["Running"], name
            assert info["Config"]["Labels"]["saltmesh.host"] == placed[name]
            assert eth0(name) == (ips[name], plan.data[name]["addresses"]["eth0"]["mac"])
        # across hosts, through the tunnels
        for src, dst in ((names[0], names[1]), (names[1], names[2]), (names[2], names[0])):
            assert ping(src, ips[dst].split("/")[0]) == 2, (src, dst)
        assert orchestrate(run) == {}

        # drain the host of instance 2: it alone moves, to the free host, old host first
        victim = placed[names[1]]
        (free,) = {h.name for h in hosts} - set(placed.values())
        declare(placement_weights={victim: 0})
        drained = run.run("placement.plan", "--out=json")
        assert drained.returncode == 0, drained
        assert drained.data[names[1]]["move"] == {
            "from": victim, "to": free, "reason": f"{victim} is drained (weight 0)",
        }  # fmt: skip
        assert [n for n in names if drained.data[n]["move"]] == [names[1]]
        text = run.run("placement.plan", "--out=txt")  # the lines (pprint splits long ones)
        assert text.returncode == 0, text
        assert text.stdout.index(f"1. {victim}: stop {names[1]}") < text.stdout.index(
            f"2. {free}: start {names[1]}"
        )
        applied = record_apply()
        assert applied["changes"] == {names[1]: {"old": victim, "new": free}}
        assert applied["addresses"] == {}
        assert applied["order"] == [
            f"1. {victim}: stop {names[1]} (containers.prune)",
            f"2. {free}: start {names[1]} (containers)",
        ]
        old_id = d.inspect(names[1])["Id"]
        since = time.time()
        changed = orchestrate(run)
        assert {phase for phase, _ in changed} == {
            "saltmesh-placement-prune", "saltmesh-placement-run",
        }  # fmt: skip
        moved = d.inspect(names[1])
        assert moved["Id"] != old_id and moved["Config"]["Labels"]["saltmesh.host"] == free
        events = lifecycle(since, names[1])
        gone = [t for t, action, cid in events if cid == old_id and action in ("die", "destroy")]
        started = [t for t, action, cid in events if cid == moved["Id"] and action == "start"]
        assert gone and started and max(gone) < min(started), events
        assert eth0(names[1]) == (ips[names[1]], plan.data[names[1]]["addresses"]["eth0"]["mac"])
        for name in (names[0], names[2]):  # the others did not move
            assert d.inspect(name)["Config"]["Labels"]["saltmesh.host"] == placed[name]
            assert ping(name, ips[names[1]].split("/")[0]) == 2, name
        again = run.run("placement.plan", "--out=json")
        assert all(again.data[n]["move"] is None for n in names)
    finally:
        (tree / "saltmesh_test.sls").write_text("{}\n")
        record.unlink(missing_ok=True)
        refresh()
        d.remove_containers(prefix)
