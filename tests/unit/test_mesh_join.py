"""mesh.join's core: who joins (docker hosts only), what a run did, one run at a time."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from saltmesh import fileio, inventory
from saltmesh.mesh import join, planner

REACTOR = Path(__file__).resolve().parents[2] / "salt" / "reactor" / "mesh_join.sls"


def plans():
    servers = {
        "d1": {"node_type": "docker_host", "address": "10.0.0.1", "minion_id": "m-d1"},
        "d2": {"node_type": "docker_host", "address": "10.0.0.2"},
        "nagios": {"node_type": "server", "address": "10.0.0.9", "minion_id": "m-nagios"},
        "web": {
            "node_type": "container",
            "address": "10.0.1.1",
            "parents": "d1",
            "container": {"image": "busybox"},
        },
    }
    return planner.plan_fleet(inventory.parse({"servers": servers}))


def test_host_minions_are_the_docker_hosts_minion_ids():
    assert join.host_minions(plans()) == ["d2", "m-d1"]


def test_only_docker_hosts_join():
    p = plans()
    assert join.joining(p, ["m-d1"]) == ["m-d1"]
    assert join.joining(p, ["d2", "m-d1", "d2"]) == ["d2", "m-d1"]
    # a server, a container, an unknown minion, a host *name* that is not its minion id
    for other in ("m-nagios", "web", "stranger", "d1"):
        assert join.joining(p, [other]) == []
    assert join.joining({}, ["m-d1"]) == []


def ret(sid, result=True, changes=None, comment="", num=0):
    return {
        f"ovs_mesh_|-{sid}_|-{sid}_|-managed": {
            "__id__": sid,
            "result": result,
            "changes": changes or {},
            "comment": comment,
            "__run_num__": num,
        }
    }


def test_apply_summary():
    assert join.apply_summary(ret("saltmesh-mesh")) == "in sync"
    changed = ret("saltmesh-mesh", changes={"added": ["vxlan-0a000004"], "mtu": {"old": 1}})
    assert join.apply_summary(changed) == "changed: saltmesh-mesh (added 1, mtu)"
    bad = ret("saltmesh-mesh", False, comment="servers:x:address: bad\nmore")
    assert join.apply_summary(bad) == "failed: saltmesh-mesh: servers:x:address: bad"
    assert join.apply_summary(None) == "no answer"
    assert join.apply_summary("Minion did not return. [No response]") == "no answer"
    assert join.apply_summary(["Rendering SLS 'base:mesh' failed"]).startswith("failed: Render")
    assert join.apply_summary("'state.sls' is not available.").startswith("failed: ")
    assert join.failed({"a": "in sync", "b": "no answer"})
    assert join.failed({"a": "failed: x"})
    assert not join.failed({"a": "in sync", "b": "changed: s (added 1)"})


def test_coalesce_runs_alone_when_nobody_else_does(tmp_path):
    seen = []
    assert fileio.coalesce(str(tmp_path), "m1", lambda reqs: seen.append(reqs) or "r") == ["r"]
    assert seen == [["m1"]]
    assert list((tmp_path / "pending").iterdir()) == []


def test_coalesce_serves_requests_made_during_a_run_in_one_more_run(tmp_path):
    """A burst: the first caller runs, the others return at once and are served together."""
    started, release = threading.Event(), threading.Event()
    runs = []

    def work(reqs):
        runs.append(reqs)
        if len(runs) == 1:
            started.set()
            assert release.wait(10)
        return len(runs)

    first = {}
    thread = threading.Thread(
        target=lambda: first.setdefault("r", fileio.coalesce(str(tmp_path), "m1", work))
    )
    thread.start()
    assert started.wait(10)
    # while m1's run is under way, three more minions start: each returns at once
    for name in ("m2", "m3", "m/odd name"):
        t0 = time.monotonic()
        assert fileio.coalesce(str(tmp_path), name, work) == []
        assert time.monotonic() - t0 < 1
    release.set()
    thread.join(10)
    assert first["r"] == [1, 2]
    assert runs == [["m1"], ["m/odd name", "m2", "m3"]]


def test_reactor_sls_calls_mesh_join_with_the_minion_id():
    text = REACTOR.read_text()
    assert "runner.mesh.join:" in text
    assert "- minion: {{ data['id'] | json }}" in text
    assert "'salt/minion/*/start'" in text  # the master config it documents
