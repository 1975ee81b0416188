"""What each step of the day promises, as assertions on the facts the step saw.

``python -m demo`` runs them after each step (the demo fails when the story breaks) and
``tests/integration/test_day.py`` runs the same ones: one definition of "the day worked".
"""

from __future__ import annotations

from demo.day import (
    DOCKER_HOSTS,
    NAGIOS_ID,
    NEWCOMER,
    ApplyFacts,
    Day,
    DriftFacts,
    JoinFacts,
    MatrixFacts,
    NagiosFacts,
    PlanFacts,
    StopFacts,
)
from demo.minion_story import MinionFacts
from saltmesh.mesh import join as meshjoin

MINIONS = sorted([*DOCKER_HOSTS, NAGIOS_ID])


def plan(f: PlanFacts, day: Day) -> None:
    assert sorted(f.tunnels) == DOCKER_HOSTS, f.tunnels
    for host, ports in f.tunnels.items():
        assert sorted(ports.values()) == [h for h in DOCKER_HOSTS if h != host], (host, ports)
    pinned = {n for n, how in f.how.items() if how == "pinned"}
    placed = {n for n, how in f.how.items() if how == "placed"}
    assert pinned == {"web01", "db01"} and placed == {"cache01"}, f.how
    assert set(f.placement) == {"cache01"}, f.placement
    assert f.placement["cache01"] in DOCKER_HOSTS, f.placement
    svg = f.svg.read_text()
    assert "<svg" in svg and all(h in svg for h in DOCKER_HOSTS), f"not a mesh picture: {f.svg}"


def apply(f: ApplyFacts, day: Day) -> None:
    for run, facts in (("first", f.first), ("second", f.second)):
        assert sorted(facts) == MINIONS, (run, facts)
        for minion, got in facts.items():
            assert got["failed"] == 0, (run, minion, got)
            expected = ["saltmesh-containers", "saltmesh-heal", "saltmesh-mesh"]
            if minion == NAGIOS_ID:
                expected = ["saltmesh-nagios-objects"]
            assert set(expected) <= set(got["ids"]), (run, minion, got["ids"])
    assert all(got["changed"] > 0 for got in f.first.values()), f.first
    assert {m: got["changed"] for m, got in f.second.items()} == dict.fromkeys(MINIONS, 0), (
        f"the second run changed something: {f.second}"
    )


def matrix(f: MatrixFacts, day: Day) -> None:
    placement = {"web01": "docker01", "db01": "docker02"}
    assert {k: f.placed.get(k) for k in placement} == placement, f.placed
    assert sorted(f.placed.values()) == DOCKER_HOSTS, f"one container per host: {f.placed}"
    assert len(f.pings) == 6, f.pings  # every ordered pair of containers, all on other hosts
    for p in f.pings:
        assert p.returncode == 0 and p.received == p.sent == 3, p


def nagios_view(f: NagiosFacts, day: Day) -> None:
    servers = {"nagios01", *DOCKER_HOSTS, *day.containers}
    assert servers <= set(f.hosts), sorted(f.hosts)
    assert set(f.placed) == set(day.containers), f.placed
    for name in servers:
        view = f.hosts[name]
        expected_parent = f.placed.get(name, "")  # containers: where they really run
        assert view.parents == expected_parent, (name, view.parents, expected_parent)
        assert view.state == "UP" and view.hard and view.last_check > 0, view
        assert view.output.startswith("PING OK"), view


def stop_container(f: StopFacts, day: Day) -> None:
    assert f.down.state == "DOWN" and f.down.hard, f.down
    assert f.down.parents == f.host, f.down
    for post, kind in ((f.problem, "PROBLEM"), (f.recovery, "RECOVERY")):
        text = post["json"]["text"]
        assert f.container in text and kind in text, post
    assert "DOWN" in f.problem["json"]["text"], f.problem
    assert f.up.state == "UP" and f.up.last_check >= f.down.last_check, f.up
    assert f.back_seconds > 0, f.back_seconds


def drift(f: DriftFacts, day: Day) -> None:
    bound = 6 * day.heal_seconds + 60
    assert 0 <= f.port_seconds <= bound, f"tunnel port not back: {f.port_seconds}"
    assert 0 <= f.container_seconds <= bound, f"container not back: {f.container_seconds}"
    assert f.options_after == f.options_before, (f.options_before, f.options_after)
    assert f.attached_to == f.container_host, (f.container, f.attached_to)
    assert f.ping.returncode == 0 and f.ping.received == f.ping.sent, f.ping
    assert f.verify == dict.fromkeys(DOCKER_HOSTS, {}), f.verify


def join(f: JoinFacts, day: Day) -> None:
    assert f.join_run.get("started") == [NEWCOMER], f.join_run
    hosts = f.join_run.get("hosts", {})
    assert sorted(hosts) == sorted([*DOCKER_HOSTS, NEWCOMER]), f.join_run
    assert not meshjoin.failed(hosts), f.join_run
    # the heal schedules were paused: every host's change is the reactor's
    assert all(s.startswith("changed: saltmesh-mesh") for s in hosts.values()), f.join_run
    for host in DOCKER_HOSTS:
        assert f.peers[host] == {h for h in [*DOCKER_HOSTS, NEWCOMER] if h != host}, f.peers
    assert f.peers[NEWCOMER] == set(DOCKER_HOSTS) and f.newcomer_tunnels == 3, f.peers
    assert 0 < f.first_ping_seconds <= f.all_seconds, f
    assert len(f.pings) == len(day.containers), f.pings
    for p in f.pings:
        assert p.returncode == 0 and p.received == p.sent, p


def container_minion(f: MinionFacts, day: Day) -> None:
    assert f.created.get("created") == f.name, f.created
    assert f.created.get("minion_config", {}).get("new", {}).get("id") == f.name, f.created
    assert f.auto_accept is False, "the master accepts every key: the story proves nothing"
    assert f"accepted the key of {f.name}, announced by {f.host}" in f.key_line, f.key_line
    assert f.view.state == "UP" and f.view.parents == f.host, f.view
    defaults = {"Salt minion", "Users"}  # saltmesh:nagios:default_services when unset
    assert defaults <= set(f.before), f.before
    for views, state in ((f.before, "CRITICAL"), (f.after, "OK")):
        for name in defaults:
            assert views[name].state == state and views[name].hard, (state, views[name])
    assert f.after["Salt minion"].output.startswith("PROCS OK: "), f.after
    for posts, kind in ((f.problems, "PROBLEM"), (f.recoveries, "RECOVERY")):
        assert len(posts) == len(defaults), posts
        for post in posts:
            text = str(post["json"])
            assert f.name in text and kind in text, post
    assert any(line.startswith("saltmesh-nrpe-config:") for line in f.nrpe), f.nrpe


def explore(commands: list[str], day: Day) -> None:
    assert any(c.startswith("export SALT_CONFIG_DIR=") for c in commands), commands


BY_STEP = {
    "plan": plan,
    "apply": apply,
    "matrix": matrix,
    "nagios_view": nagios_view,
    "stop_container": stop_container,
    "drift": drift,
    "join": join,
    "container_minion": container_minion,
    "explore": explore,
}
