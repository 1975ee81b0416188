"""The loop of the ``saltmesh_containers`` engine (pure: its waits, runs and clock are injected).

It runs the containers SLS when a managed container starts, every ``interval`` seconds, and at
once when the Docker engine answers again after an outage. Three promises:

* **No event is lost.** Each wait asks Docker for start events *since the moment the previous
  run began* (Docker replays them from its buffer), so a container that (re)starts while a run
  is under way, or while the stream is being reopened, wakes the next run at once. Events from
  before a run began are covered by that run, which reads Docker after it began.
* **No spinning.** A run woken by events starts at least ``cooldown`` seconds after the
  previous one began; the events of that pause are folded into it. A crash-looping container
  (``restart: always`` and a command that exits at once), whose restarts, and the runs' own
  starts, are start events, costs at most one run per ``cooldown``.
* **Outages heal.** While the engine does not answer, the loop retries with a growing pause
  (up to ``backoff_max``); the first time it answers again, a run starts (containers restarted
  by a dockerd restart get their attachments back), and the events since the last run began
  are replayed as above.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

YEAR = 365 * 86400.0


def docker_time(t: float) -> str:
    """Epoch seconds as Docker's ``since``/``until`` want them: ``<seconds>.<nanoseconds>``.

    (Docker reads the digits after the dot as nanoseconds, so ``"12.5"`` would be 12 s + 5 ns.)
    """
    ns = int(round(t * 1e9))
    return f"{ns // 10**9}.{ns % 10**9:09d}"


@dataclass
class Follower:
    """One engine loop. ``wait(since, until)`` blocks until a managed container starts at or after
    ``since`` (True) or ``until`` passes (False), raising while the engine is unreachable;
    ``probe()`` raises while the engine is unreachable; ``reconcile()`` runs the SLS.
    """

    wait: Callable[[float, float], bool]
    probe: Callable[[], Any]
    reconcile: Callable[[], Any]
    interval: float = 300.0  # periodic runs; 0: events only
    cooldown: float = 10.0  # least time between the starts of two event-driven runs
    settle: float = 0.5  # let a burst of starts (a dockerd restart) arrive first
    backoff_max: float = 30.0
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], Any] = time.sleep
    log: Callable[[str, str], Any] = lambda level, msg: None
    runs: list[tuple[float, str]] = field(default_factory=list)  # (start, why) of every run

    def __post_init__(self) -> None:
        self.mark = self.clock()  # start events at or after this wake a run
        self.last_run = -math.inf
        self.next_periodic = self.mark + (self.interval or YEAR)
        self.down = 0  # consecutive failures to reach the engine

    def _unreachable(self, err: Exception) -> None:
        level = "warning" if self.down == 0 else "debug"
        self.log(level, f"Docker engine unreachable ({err}); retrying")
        self.sleep(min(self.backoff_max, 2.0**self.down))
        self.down += 1

    def step(self) -> str:
        """Wait for a reason to run, then run once; the reason ("" when the engine was down)."""
        if self.down:
            try:
                self.probe()
            except Exception as err:
                self._unreachable(err)
                return ""
            self.down = 0
            why = "engine back"
        else:
            deadline = self.next_periodic
            try:
                woke = self.wait(self.mark, deadline)
            except Exception as err:
                self._unreachable(err)
                return ""
            if not woke and self.clock() < deadline:  # the stream ended early: engine gone?
                self._unreachable(ConnectionError("event stream closed"))
                return ""
            why = "event" if woke else "interval"
        if why != "interval":
            self.sleep(max(self.settle, self.last_run + self.cooldown - self.clock()))
        self.mark = self.last_run = self.clock()
        self.next_periodic = self.mark + (self.interval or YEAR)
        self.runs.append((self.mark, why))
        try:
            self.reconcile()
        except Exception as err:  # the engine keeps going; the next reason runs it again
            self.log("error", f"reconcile failed: {err}")
        return why

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        while not stop():
            self.step()
