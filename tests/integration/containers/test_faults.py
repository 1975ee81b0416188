"""Faults with real daemons: dockerd restarted between and during runs, the engine through a
dockerd restart, during its own runs and next to a crash-looping container, and concurrent runs
on one minion. Docker host B is ``minion_b``: a private dockerd (restarted at will, without
harming anybody's containers) and host B's OVS."""

from __future__ import annotations

import signal
import subprocess
import threading
import time

import pytest
import yaml

from saltmesh.containers.names import host_ifname
from tests.conftest import Pillar, state_of
from tests.integration.containers.conftest import ENGINE_COOLDOWN
from tests.support import docker as d
from tests.support.minion_log import MinionLog
from tests.support.net import received

pytestmark = [pytest.mark.usefixtures("docker_ok"), pytest.mark.reliability]


@pytest.fixture
def pillar_b(pillar_tree, salt_cli, minion_b):
    p = Pillar(pillar_tree, salt_cli, [minion_b.id])
    yield p
    p.clear()


@pytest.fixture
def host_b(docker_hosts):
    return docker_hosts[1]


@pytest.fixture(autouse=True)
def _idle_engine(probe, dockerd_b, prefix):
    """The engine runs nothing unless a test asks; the private dockerd runs; ours removed."""
    probe.idle()
    yield
    probe.idle()
    d.remove_containers(prefix, dockerd_b.url)


def declare(pillar, minion, host, busybox, bridge, names, **extra):
    """``names`` on docker host ``host`` (minion ``minion``), each attached to ``bridge``."""
    servers = {host.name: {"node_type": "docker_host", "address": "10.253.9.1",
                           "minion_id": minion.id}}  # fmt: skip
    for i, name in enumerate(names):
        servers[name] = {
            "node_type": "container",
            "address": f"10.80.0.{i + 1}",
            "parents": host.name,
            "container": {
                "image": busybox,
                "command": d.SLEEPER,
                "networks": [
                    {
                        "bridge": bridge,
                        "ip": f"10.80.0.{i + 1}/24",
                        "mac": f"02:80:00:00:00:{i + 1:02x}",
                    }
                ],  # fmt: skip
                **extra.get(name, {}),
            },
        }
    pillar.set({"servers": servers})


def apply(salt_cli, minion, test=False):
    # queue=<n> waits in place behind older runs (the engine's, the schedule's); Salt 3008's
    # queue=True files the job and may starve it behind a frequent schedule
    ret = salt_cli.run("state.sls", "containers", "queue=8", test=test, minion_tgt=minion.id)
    return state_of(ret, "saltmesh-containers")


def veths(host) -> set[str]:
    """Our host-side veths (``vsm...``) in the docker host's namespace."""
    out = subprocess.run(["ip", "-n", host.name, "-o", "link", "show"], capture_output=True,
                         text=True, check=True).stdout  # fmt: skip
    names = {line.split(":")[1].strip().split("@")[0] for line in out.splitlines()}
    return {name for name in names if name.startswith("vsm")}


def attached_pid(host, container):
    for row in host.ovs.table("Interface", "external_ids"):
        ext = dict(row["external_ids"][1])
        if ext.get("saltmesh-container") == container:
            return int(ext["saltmesh-pid"])
    return None


def wait_for(check, timeout, step=0.5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if check():
            return True
        time.sleep(step)
    return check()


def exactly_attached(host, bridge, dockerd, names):
    """Every container runs, has exactly one port and one veth, recorded with its PID."""
    expected = {host_ifname(n, "eth0") for n in names}
    assert set(host.ovs.ports(bridge)) == expected
    assert veths(host) == expected
    for name in names:
        info = d.inspect(name, dockerd.url)
        assert info["State"]["Running"], name
        assert attached_pid(host, name) == info["State"]["Pid"], name


def test_dockerd_restarted_between_runs(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b
):
    c1, c2 = f"{prefix}c1", f"{prefix}c2"
    declare(pillar_b, minion_b, host_b, busybox, bridge, [c1, c2], **{c1: {"restart": "always"}})
    assert set(apply(salt_cli, minion_b)["changes"]) == {c1, c2}
    assert apply(salt_cli, minion_b)["changes"] == {}
    exactly_attached(host_b, bridge, dockerd_b, [c1, c2])

    dockerd_b.restart()  # c1 comes back by its restart policy, c2 stays stopped
    assert wait_for(
        lambda: (d.inspect(c1, dockerd_b.url) or {}).get("State", {}).get("Running"), 30
    )
    assert veths(host_b) == set(), "the veths died with the containers' namespaces"

    pred = apply(salt_cli, minion_b, test=True)
    assert pred["result"] is None and set(pred["changes"]) == {c1, c2}
    assert pred["changes"][c2]["state"] == {"old": "exited", "new": "running"}
    ret = apply(salt_cli, minion_b)
    assert ret["result"] is True and ret["changes"] == pred["changes"], ret
    exactly_attached(host_b, bridge, dockerd_b, [c1, c2])
    ping = dockerd_b.docker("exec", c1, "ping", "-c", "2", "-W", "2", "10.80.0.2")
    assert received(ping) == 2
    assert apply(salt_cli, minion_b)["changes"] == {}


def test_dockerd_down_is_a_clean_failure_and_the_next_run_converges(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b
):
    c1 = f"{prefix}c1"
    declare(pillar_b, minion_b, host_b, busybox, bridge, [c1])
    assert apply(salt_cli, minion_b)["changes"][c1]["created"] == c1
    log = MinionLog(minion_b)
    dockerd_b.stop()
    for test in (True, False):
        ret = apply(salt_cli, minion_b, test=test)
        assert ret["result"] is False and ret["changes"] == {}
        assert ret["comment"].startswith(f"Docker engine socket {dockerd_b.sock} "), ret
        assert "\n" not in ret["comment"]
    dockerd_b.start()  # the minion was not restarted: the module is there at once
    ret = apply(salt_cli, minion_b)
    assert ret["result"] is True and ret["changes"][c1]["state"]["new"] == "running"
    exactly_attached(host_b, bridge, dockerd_b, [c1])
    assert apply(salt_cli, minion_b)["changes"] == {}
    assert log.tracebacks() == []


def test_dockerd_restarted_during_a_run(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b
):
    names = [f"{prefix}c{i}" for i in range(4)]
    declare(pillar_b, minion_b, host_b, busybox, bridge, names)
    log = MinionLog(minion_b)
    result = {}
    run = threading.Thread(target=lambda: result.update(apply(salt_cli, minion_b)))
    run.start()
    # restart dockerd as soon as the run has attached its first container
    assert wait_for(lambda: host_b.ovs.ports(bridge) or not run.is_alive(), 120, step=0.05)
    dockerd_b.restart()
    run.join(300)
    assert result, "the run gave no state return"
    if result["result"] is False:  # the usual case: it failed cleanly, saying why
        assert "Traceback" not in result["comment"] and "\n" not in result["comment"], result
    assert log.tracebacks() == []

    ret = apply(salt_cli, minion_b)
    assert ret["result"] is True, ret
    exactly_attached(host_b, bridge, dockerd_b, names)
    assert d.containers(prefix, dockerd_b.url) == names
    assert apply(salt_cli, minion_b)["changes"] == {}
    assert log.tracebacks() == []


def test_dockerd_killed_while_starting_a_container(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b
):
    """A dockerd that dies while it starts a container can leave containerd holding the task:
    Docker then refuses every start of it ("task <id>: already exists"). The next run makes the
    container anew (it never ran)."""
    c1 = f"{prefix}c1"
    declare(pillar_b, minion_b, host_b, busybox, bridge, [c1])
    result = {}
    run = threading.Thread(target=lambda: result.update(apply(salt_cli, minion_b)))
    with dockerd_b.slow_creates() as in_create:
        run.start()
        assert wait_for(in_create.exists, 120, step=0.05)
        dockerd_b.stop(signal.SIGKILL)
    dockerd_b.start()
    run.join(300)
    assert result["result"] is False and "\n" not in result["comment"], result
    stuck = d.inspect(c1, dockerd_b.url)
    assert stuck is not None, "the cut run created no container"
    try:
        # the premise: Docker itself cannot start it any more
        assert stuck["State"]["Status"] == "created"
        assert f"task {stuck['Id']}: already exists" in dockerd_b.refusal("start", c1)

        pred = apply(salt_cli, minion_b, test=True)
        assert pred["result"] is None
        assert pred["changes"][c1]["state"] == {"old": "created", "new": "running"}
        ret = apply(salt_cli, minion_b)
        assert ret["result"] is True and ret["changes"] == pred["changes"], ret
        assert d.inspect(c1, dockerd_b.url)["Id"] != stuck["Id"]  # made anew
        exactly_attached(host_b, bridge, dockerd_b, [c1])
        assert apply(salt_cli, minion_b)["changes"] == {}
    finally:
        d.kill_shim(stuck["Id"])  # containerd's leftover (the later restarts would wait on it)


# --------------------------------------------------------------------------- the engine


def test_engine_reattaches_at_once_after_a_dockerd_restart(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b, probe
):
    c1 = f"{prefix}c1"
    declare(pillar_b, minion_b, host_b, busybox, bridge, [c1], **{c1: {"restart": "always"}})
    assert apply(salt_cli, minion_b)["result"] is True
    time.sleep(ENGINE_COOLDOWN)  # the engine's own (idle) run for this start is over
    probe.containers()
    log = MinionLog(minion_b)
    dockerd_b.restart()
    assert wait_for(
        lambda: (d.inspect(c1, dockerd_b.url) or {}).get("State", {}).get("Running"), 30
    )
    new_pid = d.inspect(c1, dockerd_b.url)["State"]["Pid"]
    # no state run by us: the engine notices dockerd is back and re-attaches
    assert wait_for(lambda: attached_pid(host_b, c1) == new_pid, 60), "the engine did not re-attach"
    exactly_attached(host_b, bridge, dockerd_b, [c1])
    assert log.engine_runs(), "no engine run logged since the restart"
    assert log.tracebacks() == []


def test_engine_does_not_lose_a_start_during_its_own_run(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b, probe
):
    a, b = f"{prefix}a", f"{prefix}b"
    declare(pillar_b, minion_b, host_b, busybox, bridge, [a, b])
    assert apply(salt_cli, minion_b)["result"] is True
    exactly_attached(host_b, bridge, dockerd_b, [a, b])
    time.sleep(ENGINE_COOLDOWN)  # the engine's own (idle) run for these starts is over
    probe.containers(pause=10)  # each engine run now lasts 10 s after attaching
    log = MinionLog(minion_b)
    dockerd_b.docker("restart", "-t", "1", a)
    pid_a = d.inspect(a, dockerd_b.url)["State"]["Pid"]
    assert wait_for(lambda: attached_pid(host_b, a) == pid_a, 60), "the engine did not run"
    # the engine's run is now in its pause, past reading Docker: restart b under its feet
    restarted_b = time.time()
    dockerd_b.docker("restart", "-t", "1", b)
    pid_b = d.inspect(b, dockerd_b.url)["State"]["Pid"]
    # lost, it would wait for the hourly periodic run; a loaded machine may take two minutes
    assert wait_for(lambda: attached_pid(host_b, b) == pid_b, ENGINE_COOLDOWN + 120), (
        "the start of b during the engine's run was lost"
    )
    # b's start woke the engine again: a run began after it (its log line can reach the file
    # after the attach). Not counted from the mark: the run that attached a may have begun
    # just before it, woken by the apply's own starts.
    assert wait_for(
        lambda: any(t > restarted_b for t in log.engine_runs()), ENGINE_COOLDOWN + 60
    ), (log.engine_runs(), restarted_b)
    # the premise held: the first run (the one that attached a) returned after b's restart
    ends = log.times(f"changed: {a}")
    assert ends and ends[0] > restarted_b, ("b restarted after the first run", ends, restarted_b)
    exactly_attached(host_b, bridge, dockerd_b, [a, b])
    assert log.tracebacks() == []


def test_a_crash_looping_container_does_not_make_the_engine_spin(
    salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b, probe
):
    crash = f"{prefix}crash"
    declare(pillar_b, minion_b, host_b, busybox, bridge, [])
    servers = yaml.safe_load((pillar_b.tree / "saltmesh_test.sls").read_text())["servers"]
    servers[crash] = {
        "node_type": "container", "address": "10.80.0.99", "parents": host_b.name,
        "container": {"image": busybox, "command": ["true"], "restart": "always"},
    }  # fmt: skip
    pillar_b.set({"servers": servers})
    probe.containers()
    log = MinionLog(minion_b)
    apply(salt_cli, minion_b)  # creates it; from now on it exits and restarts forever
    window = 5 * ENGINE_COOLDOWN
    time.sleep(window)
    runs = log.engine_runs()
    gaps = [b - a for a, b in zip(runs, runs[1:], strict=False)]
    assert len(runs) >= 2, "the engine stopped reacting"
    assert min(gaps) >= ENGINE_COOLDOWN - 1, f"runs {gaps} s apart: the engine spins"
    assert len(runs) <= window / ENGINE_COOLDOWN + 2
    probe.idle()
    assert log.tracebacks() == []


# --------------------------------------------------------------------------- concurrency


def test_concurrent_runs_on_one_minion(
    salt_master, salt_cli, minion_b, pillar_b, busybox, prefix, bridge, host_b, dockerd_b, probe
):
    """A scheduled state run, a manual state.sls, direct execution-module calls and the engine,
    all at the same moment: no duplicate container or port, no crash, one consistent result."""
    names = [f"{prefix}c{i}" for i in range(3)]
    declare(pillar_b, minion_b, host_b, busybox, bridge, names)
    probe.containers()
    log = MinionLog(minion_b)
    tgt = {"minion_tgt": minion_b.id}
    ret = salt_cli.run("schedule.add", f"{prefix}sched", "function=state.sls",
                       "job_args=[containers]", "seconds=2", "persist=False", **tgt)  # fmt: skip
    assert ret.returncode == 0, ret
    results: dict[str, list] = {"manual": [], "exec": []}

    # one CLI object per thread: a factories CLI keeps its running process on the object
    manual_cli = salt_master.salt_cli(timeout=300)

    def manual(barrier, _round):
        barrier.wait()
        results["manual"].append(apply(manual_cli, minion_b))

    def direct(barrier, _round):
        # salt-call on the minion host: two more processes taking the host lock at once (three
        # ``salt`` CLIs to one minion at the same instant can get each other's returns)
        local = minion_b.salt_call_cli(timeout=300)
        barrier.wait()
        ret = local.run("saltmesh_docker.ensure_placed")
        results["exec"].append(ret.data if isinstance(ret.data, dict) else ret)

    def restart(barrier, round_):
        barrier.wait()
        if round_:  # the second round: the engine wakes up as well
            dockerd_b.docker("restart", "-t", "1", names[0], check=False)

    errors: list[str] = []

    def guarded(f):
        def run(*args):
            try:
                f(*args)
            except BaseException as err:  # a thread's exception is otherwise lost
                errors.append(f"{f.__name__}: {err!r}")

        return run

    try:
        for round_ in range(2):
            barrier = threading.Barrier(4)
            threads = [
                threading.Thread(target=guarded(f), args=(barrier, round_))
                for f in (manual, direct, direct, restart)
            ]
            for t in threads:
                t.start()
            for t in threads:
                t.join(300)
    finally:
        salt_cli.run("schedule.delete", f"{prefix}sched", **tgt)
    assert errors == []
    assert len(results["manual"]) == 2 and len(results["exec"]) == 4, results
    for one in results["manual"]:
        assert one["result"] is True, one
    for one in results["exec"]:
        assert isinstance(one, dict) and one.get("result") is True, one
    # let the engine's last run end, then: converged, nothing twice
    time.sleep(ENGINE_COOLDOWN)
    assert wait_for(lambda: apply(salt_cli, minion_b)["changes"] == {}, 120, step=2)
    exactly_attached(host_b, bridge, dockerd_b, names)
    assert d.containers(prefix, dockerd_b.url) == names
    assert log.tracebacks() == []
