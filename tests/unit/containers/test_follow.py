"""The engine loop on a simulated clock: no lost event, no spinning, outages heal at once."""

from __future__ import annotations

import pytest

from saltmesh.containers.follow import Follower, docker_time

pytestmark = pytest.mark.reliability


class World:
    """A simulated clock and Docker: start events at given times, an engine that may be down."""

    def __init__(self, run_seconds=3.0):
        self.now = 1000.0
        self.events: list[float] = []
        self.down: tuple[float, float] | None = None  # (from, to): unreachable in between
        self.run_seconds = run_seconds
        self.during_run = None  # callable(start) -> event times to add while a run goes on
        self.waits: list[tuple[float, float]] = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.now += max(0.0, seconds)

    def _is_down(self):
        return self.down is not None and self.down[0] <= self.now < self.down[1]

    def probe(self):
        if self._is_down():
            raise ConnectionError("connection refused")

    def wait(self, since, until):
        self.probe()
        self.waits.append((since, until))
        pending = sorted(t for t in self.events if t >= since)
        breaks = self.down is not None and self.now < self.down[0] < until
        if breaks and (not pending or pending[0] > self.down[0]):
            self.now = self.down[0]  # the stream breaks when the engine goes away
            raise ConnectionError("stream broken")
        if pending and pending[0] <= until:
            self.now = max(self.now, pending[0])
            return True
        self.now = max(self.now, until)
        return False

    def reconcile(self):
        start = self.now
        if self.during_run:
            self.events += self.during_run(start)
        self.now += self.run_seconds


def follower(world, **kw):
    return Follower(
        wait=world.wait, probe=world.probe, reconcile=world.reconcile,
        clock=world.clock, sleep=world.sleep, **kw,
    )  # fmt: skip


def test_docker_time_is_seconds_dot_nanoseconds():
    assert docker_time(12.5) == "12.500000000"
    assert docker_time(1700000000.000000001) == "1700000000.000000000"  # float precision
    assert docker_time(3) == "3.000000000"


def test_a_start_event_runs_at_once_and_waits_ask_for_events_since_the_last_run():
    w = World()
    w.events = [1010.0]
    f = follower(w, interval=300, cooldown=10, settle=0.5)
    assert f.step() == "event"
    assert f.runs == [(1010.5, "event")]
    assert w.waits == [(1000.0, 1300.0)]
    f.step()
    assert w.waits[-1][0] == 1010.5  # the next wait replays everything since that run began


def test_an_event_during_a_run_is_not_lost():
    w = World(run_seconds=6)
    w.events = [1010.0]
    w.during_run = lambda start: [start + 2] if start < 1011 else []  # a restart mid-run
    f = follower(w, interval=3600, cooldown=10, settle=0.5)
    assert [f.step(), f.step()] == ["event", "event"]
    first, second = (t for t, _ in f.runs)
    assert second == first + 10  # at once, after the cooldown (the run itself took 6 s)
    assert f.step() == "interval" and f.runs[-1][0] == second + 3600


def test_a_crash_looping_container_costs_one_run_per_cooldown():
    w = World(run_seconds=2)
    # docker restarts it every second, and each run starts it once more
    w.events = [1000.0 + i for i in range(1, 200)]
    w.during_run = lambda start: [start + 0.1]
    f = follower(w, interval=300, cooldown=15, settle=0.5)
    while w.now < 1180:
        f.step()
    starts = [t for t, _ in f.runs]
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 15
    assert len(starts) <= 180 / 15 + 1


def test_an_outage_heals_at_once_when_the_engine_answers_again():
    w = World(run_seconds=1)
    w.down = (1020.0, 1100.0)
    logs = []
    f = follower(w, interval=3600, cooldown=10, backoff_max=8, log=lambda lvl, m: logs.append(lvl))
    while not f.runs:
        f.step()
    ((t, why),) = f.runs
    assert why == "engine back" and 1100 <= t <= 1100 + 8 + 0.5 + 0.01
    assert logs[0] == "warning" and set(logs[1:]) <= {"debug"}  # one warning per outage
    f.step()  # the next wait replays the events since that run began
    assert w.waits[-1][0] == t


def test_periodic_runs_without_events_and_failures_keep_it_alive():
    w = World(run_seconds=1)
    calls = []

    def failing():
        calls.append(w.now)
        raise RuntimeError("salt-call timed out")

    logs = []
    f = Follower(wait=w.wait, probe=w.probe, reconcile=failing, interval=60, cooldown=5,
                 clock=w.clock, sleep=w.sleep, log=lambda lvl, m: logs.append((lvl, m)))  # fmt: skip
    for _ in range(3):
        assert f.step() == "interval"
    assert calls == [1060.0, 1120.0, 1180.0]
    assert logs == [("error", "reconcile failed: salt-call timed out")] * 3
