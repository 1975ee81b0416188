"""demo/checks.py can fail: each promise of the day, broken in the facts, is caught.

The end-to-end test (tests/integration/test_day.py) and ``make demo`` trust these checks; here
each one gets the facts of a good day (as a run printed them) and then each fact broken alone.
"""

from __future__ import annotations

import copy
from pathlib import Path
from types import SimpleNamespace

import pytest

from demo import checks
from demo.day import (
    ApplyFacts,
    DriftFacts,
    HostView,
    JoinFacts,
    MatrixFacts,
    NagiosFacts,
    Ping,
    PlanFacts,
    StopFacts,
)

CONTAINERS = {"web01": "docker01", "db01": "docker02", "cache01": "docker03"}
IPS = {"web01": "192.168.77.11", "db01": "192.168.77.21", "cache01": "192.168.77.31"}
DAY = SimpleNamespace(containers=dict.fromkeys(CONTAINERS), heal_seconds=10)
HOSTS = ["docker01", "docker02", "docker03"]


def ping(a, b, sent=3, got=3, rc=0):
    return Ping(a, b, IPS.get(b, "192.168.77.14"), rc, sent, got)


def view(name, parents="", state="UP", hard=True, output="PING OK - Packet loss = 0%"):
    return HostView(name, "10.0.0.1", parents, state, hard, output, 1700000000)


@pytest.fixture
def svg(tmp_path) -> Path:
    path = tmp_path / "mesh.svg"
    path.write_text("<?xml version='1.0'?><svg>" + " ".join(HOSTS) + "</svg>")
    return path


def good_plan(svg):
    tunnels = {h: {f"vxlan-{p}": p for p in HOSTS if p != h} for h in HOSTS}
    how = {"web01": "pinned", "db01": "pinned", "cache01": "placed"}
    return PlanFacts(tunnels, {"cache01": "docker03"}, how, {}, svg)


def good_apply():
    ids = {m: ["saltmesh-containers", "saltmesh-heal", "saltmesh-mesh"] for m in HOSTS}
    ids["nagios01"] = ["saltmesh-nagios-objects", "saltmesh-nrpe-config"]
    first = {m: {"states": 5, "changed": 4, "failed": 0, "ids": i} for m, i in ids.items()}
    second = {m: {"states": 5, "changed": 0, "failed": 0, "ids": i} for m, i in ids.items()}
    return ApplyFacts(first, second)


def good_matrix():
    pings = [ping(a, b) for a in CONTAINERS for b in CONTAINERS if a != b]
    return MatrixFacts(pings, dict(CONTAINERS))


def good_nagios():
    hosts = {h: view(h) for h in [*HOSTS, "nagios01", "localhost"]}
    hosts.update({c: view(c, parents=h) for c, h in CONTAINERS.items()})
    return NagiosFacts(hosts, dict(CONTAINERS))


def good_stop():
    problem = {"json": {"text": ":red_circle: PROBLEM: db01 is DOWN"}}
    recovery = {"json": {"text": ":large_green_circle: RECOVERY: db01 is UP"}}
    down = view("db01", "docker02", "DOWN", output="PING CRITICAL - Packet loss = 100%")
    return StopFacts("db01", "docker02", down, problem, 14.5, view("db01", "docker02"), recovery)


def good_drift():
    options = {"remote_ip": "10.0.0.13", "local_ip": "10.0.0.12", "key": "5000"}
    return DriftFacts(
        host="docker02", port="vxlan-0a00000d", peer="docker03", options_before=options,
        options_after=dict(options), port_seconds=8.2, container="cache01",
        container_host="docker03", container_seconds=5.5, attached_to="docker03",
        ping=ping("db01", "cache01"), verify=dict.fromkeys(HOSTS, {}),
    )  # fmt: skip


def good_join():
    run = {
        "started": ["docker04"],
        "synced": {"docker04": "ok"},
        "hosts": {
            **dict.fromkeys(HOSTS, "changed: saltmesh-mesh (added 1)"),
            "docker04": "changed: saltmesh-mesh (bridge, added 3, mtu)",
        },
    }
    everyone = [*HOSTS, "docker04"]
    peers = {h: {p for p in everyone if p != h} for h in everyone}
    pings = [ping(c, "docker04") for c in CONTAINERS]
    return JoinFacts(8.6, 11.4, pings, run, peers, 3)


def test_a_good_day_passes(svg):
    checks.plan(good_plan(svg), DAY)
    checks.apply(good_apply(), DAY)
    checks.matrix(good_matrix(), DAY)
    checks.nagios_view(good_nagios(), DAY)
    checks.stop_container(good_stop(), DAY)
    checks.drift(good_drift(), DAY)
    checks.join(good_join(), DAY)


def _broken(facts, change):
    facts = copy.deepcopy(facts)
    change(facts)
    return facts


BROKEN = {
    "plan: a host misses a tunnel": ("plan", lambda f: f.tunnels["docker01"].popitem()),
    "plan: cache01 pinned": ("plan", lambda f: f.how.update(cache01="pinned")),
    "plan: nothing placed": ("plan", lambda f: f.placement.clear()),
    "plan: not an svg": ("plan", lambda f: f.svg.write_text("dot: error")),
    "apply: a state failed": ("apply", lambda f: f.first["docker02"].update(failed=1)),
    "apply: second run changed": ("apply", lambda f: f.second["docker03"].update(changed=1)),
    "apply: a minion missing": ("apply", lambda f: f.second.pop("nagios01")),
    "apply: no heal schedule": (
        "apply",
        lambda f: f.first["docker01"].update(ids=["saltmesh-containers", "saltmesh-mesh"]),
    ),
    "matrix: 2 of 3 replies, exit 0": ("matrix", lambda f: setattr(f.pings[0], "received", 2)),
    "matrix: exit 1, all replies": ("matrix", lambda f: setattr(f.pings[3], "returncode", 1)),
    "matrix: a pair not pinged": ("matrix", lambda f: f.pings.pop()),
    "matrix: two on one host": ("matrix", lambda f: f.placed.update(cache01="docker01")),
    "nagios: wrong parent": (
        "nagios_view",
        lambda f: setattr(f.hosts["web01"], "parents", "docker02"),
    ),
    "nagios: docker host has a parent": (
        "nagios_view",
        lambda f: setattr(f.hosts["docker01"], "parents", "nagios01"),
    ),
    "nagios: container down": ("nagios_view", lambda f: setattr(f.hosts["db01"], "state", "DOWN")),
    "nagios: not checked": ("nagios_view", lambda f: setattr(f.hosts["cache01"], "last_check", 0)),
    "nagios: a container missing": ("nagios_view", lambda f: f.hosts.pop("cache01")),
    "stop: soft down": ("stop_container", lambda f: setattr(f.down, "hard", False)),
    "stop: still up": ("stop_container", lambda f: setattr(f.down, "state", "UP")),
    "stop: message about another host": (
        "stop_container",
        lambda f: f.problem["json"].update(text="PROBLEM: web01 is DOWN"),
    ),
    "stop: no recovery": (
        "stop_container",
        lambda f: f.recovery["json"].update(text="PROBLEM: db01 is DOWN"),
    ),
    "stop: never up again": ("stop_container", lambda f: setattr(f.up, "state", "DOWN")),
    "drift: port not back": ("drift", lambda f: setattr(f, "port_seconds", -1.0)),
    "drift: container not back": ("drift", lambda f: setattr(f, "container_seconds", -1.0)),
    "drift: port back with other options": (
        "drift",
        lambda f: f.options_after.update(remote_ip="10.0.0.99"),
    ),
    "drift: container on another host": ("drift", lambda f: setattr(f, "attached_to", None)),
    "drift: ping lost": ("drift", lambda f: setattr(f.ping, "received", 0)),
    "drift: verify finds something": (
        "drift",
        lambda f: f.verify.update(docker02={"missing": ["vxlan-0a00000d"]}),
    ),
    "join: another minion started": ("join", lambda f: f.join_run.update(started=["docker03"])),
    "join: a host did not answer": (
        "join",
        lambda f: f.join_run["hosts"].update(docker02="no answer"),
    ),
    "join: a peer in sync (not the reactor)": (
        "join",
        lambda f: f.join_run["hosts"].update(docker01="in sync"),
    ),
    "join: a peer has no tunnel to it": ("join", lambda f: f.peers["docker01"].discard("docker04")),
    "join: newcomer short of tunnels": ("join", lambda f: setattr(f, "newcomer_tunnels", 2)),
    "join: a ping lost": ("join", lambda f: setattr(f.pings[1], "returncode", 1)),
    "join: never pinged": ("join", lambda f: setattr(f, "first_ping_seconds", -1.0)),
}

GOOD = {
    "plan": good_plan,
    "apply": good_apply,
    "matrix": good_matrix,
    "nagios_view": good_nagios,
    "stop_container": good_stop,
    "drift": good_drift,
    "join": good_join,
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_each_broken_promise_is_caught(case, svg):
    step, change = BROKEN[case]
    make = GOOD[step]
    facts = _broken(make(svg) if step == "plan" else make(), change)
    with pytest.raises(AssertionError):
        checks.BY_STEP[step](facts, DAY)
