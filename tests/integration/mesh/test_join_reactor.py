"""A new docker host joins the mesh with no command typed (issue 10, step 7).

A master of its own, configured as docs/mesh.md says (``reactor: [{'salt/minion/*/start':
[salt://reactor/mesh_join.sls]}]``), with minions on the mesh lab's simulated hosts. Three docker
hosts are meshed; the pillar gains a fourth; its minion starts for the first time, and the
reactor's ``mesh.join`` syncs it and has every docker host apply its mesh share: the test only
waits, then checks the tunnels, pings across them, and that a second apply changes nothing.
Minions that are not docker hosts of the pillar start too, and trigger no job.
"""

from __future__ import annotations

import contextlib
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from saltmesh.mesh import join
from tests.conftest import REPO
from tests.integration.mesh.test_mesh import BRIDGE, overlay_ip, tunnel_ports

REACTOR = {"salt/minion/*/start": ["salt://reactor/mesh_join.sls"]}
JOIN_DEADLINE = 180  # seconds from the new minion's start to pings across its tunnels


@pytest.fixture
def reactor_master(salt_factories, state_tree, tmp_path):
    """A master with the reactor, its own pillar (``join.sls``), the runners synced."""
    pillar_root = tmp_path / "pillar"
    pillar_root.mkdir()
    (pillar_root / "top.sls").write_text("base:\n  '*':\n    - join\n")
    (pillar_root / "join.sls").write_text("{}\n")
    config = {
        "file_roots": {"base": [str(REPO / "salt"), str(state_tree)]},
        "pillar_roots": {"base": [str(pillar_root)]},
        "runner_dirs": [],
        "fileserver_followsymlinks": True,
        "reactor": [REACTOR],
    }
    master = salt_factories.salt_master_daemon(
        "smt-reactor-" + uuid.uuid4().hex[:6], overrides=config
    )
    with master.started():
        ret = master.salt_run_cli(timeout=300).run("saltutil.sync_all")
        assert ret.returncode == 0, ret
        yield master, pillar_root / "join.sls"


def runs_of(event_listener, master, after, fun="runner.mesh.join"):
    """The returns of ``fun`` runner jobs the master ran since ``after`` (epoch seconds)."""
    events = event_listener.get_events([(master.id, "salt/run/*/ret")], after_time=after)
    return [e.data.get("return") for e in events if e.data.get("fun") == fun]


def wait_runs(event_listener, master, after, count, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = runs_of(event_listener, master, after)
        if len(runs) >= count:
            return runs
        time.sleep(0.5)
    raise AssertionError(
        f"expected {count} mesh.join runs, got {runs_of(event_listener, master, after)}"
    )


def jobs_published(event_listener, master, after):
    """Functions the master published to minions since ``after``."""
    events = event_listener.get_events([(master.id, "salt/job/*/new")], after_time=after)
    return sorted(e.data.get("fun") for e in events)


def quick_ping(host, ip) -> bool:
    return host.ns("ping", "-n", "-q", "-c", "1", "-W", "1", ip, check=False).returncode == 0


def test_new_docker_host_joins_with_no_command_typed(mesh_lab, reactor_master, event_listener):
    master, pillar_file = reactor_master
    hosts = mesh_lab.hosts[:4]
    old, newcomer = hosts[:3], hosts[3]
    prefix = "smt" + uuid.uuid4().hex[:4]
    minions = {
        h.name: master.salt_minion_daemon(
            f"{prefix}-j{h.index}", overrides={"saltmesh": {"ovsdb": h.ovs.db}}
        )
        for h in hosts
    }
    bystander = master.salt_minion_daemon(f"{prefix}-nagios")
    salt_cli = master.salt_cli(timeout=300)

    def set_pillar(docker_hosts):
        servers = {
            h.name: {
                "node_type": "docker_host",
                "address": h.underlay_ip,
                "minion_id": minions[h.name].id,
            }
            for h in docker_hosts
        }
        servers[f"{prefix}-nagios"] = {"node_type": "server", "address": "10.254.79.1"}
        mesh = {"bridge": BRIDGE, "datapath_type": "netdev", "key": 5000, "underlay_mtu": 1600}
        pillar_file.write_text(yaml.safe_dump({"servers": servers, "saltmesh": {"mesh": mesh}}))

    def run_on(docker_hosts, *args, **kwargs):
        ids = ",".join(sorted(minions[h.name].id for h in docker_hosts))
        return salt_cli.run(ids, *args, minion_tgt="-L", **kwargs)

    running = []
    try:
        # Three minions start while the pillar names no docker host: each start runs mesh.join,
        # which answers "skipped" and publishes no job.
        set_pillar([])
        since = time.time()
        with ThreadPoolExecutor(3) as pool:
            list(pool.map(lambda h: minions[h.name].start(), old))
        running += [minions[h.name] for h in old]
        runs = wait_runs(event_listener, master, since, 3)
        assert all("skipped" in r for r in runs), runs
        assert jobs_published(event_listener, master, since) == []

        # They become a meshed fleet of three the ordinary way.
        set_pillar(old)
        assert run_on(old, "saltutil.sync_all").returncode == 0
        applied = run_on(old, "state.sls", "mesh")
        assert applied.returncode == 0, applied
        for h in old:
            assert len(tunnel_ports(h)) == 2
            h.add_endpoint(BRIDGE, f"{overlay_ip(h)}/24")

        # The pillar gains a fourth docker host. A minion that is no docker host starts: nothing.
        set_pillar(hosts)
        since = time.time()
        bystander.start()
        running.append(bystander)
        (run,) = wait_runs(event_listener, master, since, 1)
        assert "skipped" in run, run
        assert jobs_published(event_listener, master, since) == []

        # The fourth host's minion starts for the first time. Nobody types anything from here.
        since = time.time()
        t0 = time.monotonic()
        minions[newcomer.name].start()
        running.append(minions[newcomer.name])
        first_ping = None
        endpoint = False
        peers_up: set[str] = set()
        while time.monotonic() - t0 < JOIN_DEADLINE and len(peers_up) < len(old):
            if not endpoint and BRIDGE in newcomer.ovs.vsctl("list-br").split():
                newcomer.add_endpoint(BRIDGE, f"{overlay_ip(newcomer)}/24")
                endpoint = True
            if endpoint:
                for h in old:
                    if h.name not in peers_up and quick_ping(newcomer, overlay_ip(h)):
                        peers_up.add(h.name)
                        first_ping = first_ping or time.monotonic() - t0
            time.sleep(0.2)
        elapsed = time.monotonic() - t0
        assert peers_up == {h.name for h in old}, (peers_up, f"{elapsed:.0f} s")
        print(
            f"\nnew docker host joined: first ping across its tunnels {first_ping:.1f} s after "
            f"its minion started, all {len(old)} peers {elapsed:.1f} s"
        )

        # Every host has its tunnel to the newcomer, and the newcomer one to each of them.
        for h in old:
            peers = {p["ids"]["saltmesh-peer"] for p in tunnel_ports(h).values()}
            assert peers == {o.name for o in hosts if o is not h}, (h.name, peers)
            assert quick_ping(h, overlay_ip(newcomer)) or h.ping(overlay_ip(newcomer), 3)
        assert len(tunnel_ports(newcomer)) == 3
        (run,) = wait_runs(event_listener, master, since, 1)
        print(yaml.safe_dump(run, sort_keys=False))
        assert run["started"] == [minions[newcomer.name].id], run
        assert not join.failed(run["hosts"]), run
        assert all(run["hosts"][h.name].startswith("changed: saltmesh-mesh") for h in hosts), run
        assert set(jobs_published(event_listener, master, since)) == {
            "saltutil.sync_all",
            "state.sls",
        }

        listed = master.salt_run_cli(timeout=120).run("mesh.hosts", "--out=json")
        assert listed.returncode == 0, listed
        assert listed.data == sorted(minions[h.name].id for h in hosts)

        # A second apply (anyone's, any time) has nothing left to do.
        again = run_on(hosts, "state.sls", "mesh")
        assert again.returncode == 0, again
        for mid, states in again.data.items():
            assert all(r["changes"] == {} for r in states.values()), (mid, states)
    finally:
        for minion in running:
            with contextlib.suppress(Exception):
                minion.terminate()
