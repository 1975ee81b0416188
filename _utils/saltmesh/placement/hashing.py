"""Stateless container placement by weighted rendezvous hashing (the first placement; kept for
its API and :func:`host_numbers`). ``salt-run placement.plan`` now plans with
:mod:`saltmesh.placement.fleet`: rules, resources, apps, pools, and the history it keeps to.

Weighted rendezvous hashing (highest random weight): every (container, host) pair gets a score
``-weight / ln(u)`` with ``u`` a uniform number in (0, 1) derived from sha256(container, host);
a container goes to its best-scoring host that still has capacity. The rule is stable: adding a
host moves only the containers whose new best host is the new one (about 1/(n+1) of them), and
removing a host moves only that host's containers. Containers with explicit ``parents`` are
pinned and only count towards their host's capacity.

Pillar (all optional except ``servers``):

.. code-block:: yaml

    saltmesh:
      placement_weights: {docker01: 2, docker02: 1, docker03: 0}  # 0 = drain, default 1
      placement_capacity: {docker01: 40}                          # max containers, default none
      placement: {web02: docker02}   # written by ``salt-run placement.apply``; read by inventory

Pure: pillar data in, an assignment out.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from saltmesh import inventory
from saltmesh.errors import PillarError


@dataclass(frozen=True)
class Row:
    container: str
    host: str
    how: str  # "pinned" (parents in pillar) or "hashed"
    previous: str | None = None  # host recorded in saltmesh:placement before

    @property
    def moved(self) -> bool:
        return self.how == "hashed" and self.previous not in (None, self.host)


def score(container: str, host: str, weight: float) -> float:
    """The rendezvous score of ``container`` on ``host``; higher wins."""
    digest = hashlib.sha256(f"{container}\0{host}".encode()).digest()
    u = (int.from_bytes(digest[:8], "big") + 0.5) / 2**64  # in (0, 1)
    return -weight / math.log(u)


def assign(
    containers: Iterable[str],
    weights: Mapping[str, float],
    capacity: Mapping[str, int] | None = None,
    pinned: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Map each container to a host; ``weights`` lists the candidate hosts (weight > 0)."""
    capacity = capacity or {}
    load = Counter((pinned or {}).values())
    hosts = sorted(h for h, w in weights.items() if w > 0)
    out: dict[str, str] = {}
    problems = []
    for container in sorted(containers):
        ranked = sorted(hosts, key=lambda h: (-score(container, h, weights[h]), h))
        for host in ranked:
            if capacity.get(host) is None or load[host] < capacity[host]:
                out[container] = host
                load[host] += 1
                break
        else:
            why = "no docker host with a positive weight" if not hosts else "every host is full"
            problems.append((f"servers:{container}:parents", f"cannot place: {why}"))
    if problems:
        raise PillarError(problems)
    return out


def host_numbers(
    raw: Any, path: str, hosts: set[str], kind: type, problems: list[tuple[str, str]]
) -> dict[str, Any]:
    """``saltmesh:placement_weights`` or ``placement_capacity``: docker host -> number."""
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        problems.append((path, "must be a mapping of docker host to number"))
        return {}
    out = {}
    for host, value in sorted(raw.items()):
        if host not in hosts:
            problems.append((f"{path}:{host}", f"{host!r} is not a docker_host in servers"))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
            problems.append((f"{path}:{host}", f"{value!r} must be a number >= 0"))
            continue
        if kind is int and value != int(value):
            problems.append((f"{path}:{host}", f"{value!r} must be a whole number"))
            continue
        out[host] = kind(value)
    return out


def host_weights_and_capacity(
    saltmesh: Mapping[str, Any], hosts: set[str]
) -> tuple[dict[str, float], dict[str, int]]:
    """``saltmesh:placement_weights`` (default 1 per host) and ``saltmesh:placement_capacity``
    of the docker hosts ``hosts``; raises PillarError naming each problem."""
    problems: list[tuple[str, str]] = []
    weights = {h: 1.0 for h in hosts}
    weights.update(
        host_numbers(
            saltmesh.get("placement_weights"), "saltmesh:placement_weights", hosts, float, problems
        )
    )
    capacity = host_numbers(
        saltmesh.get("placement_capacity"), "saltmesh:placement_capacity", hosts, int, problems
    )
    if problems:
        raise PillarError(problems)
    return weights, capacity


def plan(pillar: Mapping[str, Any]) -> list[Row]:
    """The full placement table from pillar; raises PillarError naming each problem."""
    saltmesh = dict(pillar.get("saltmesh") or {})
    previous = saltmesh.pop("placement", None) or {}
    # validate everything, without the old placement (it is what we recompute)
    inv = inventory.parse({**pillar, "saltmesh": saltmesh})
    hosts = {h.name for h in inv.docker_hosts}
    weights, capacity = host_weights_and_capacity(saltmesh, hosts)
    containers = inv.by_type("container")
    pinned = {s.name: s.parents[0] for s in containers if s.parents}
    free = [s.name for s in containers if not s.parents]
    placed = assign(free, weights, capacity, pinned)
    rows = [Row(name, host, "pinned") for name, host in pinned.items()]
    rows += [Row(name, host, "hashed", previous.get(name)) for name, host in placed.items()]
    return sorted(rows, key=lambda r: r.container)


def table(rows: Iterable[Row]) -> list[str]:
    """Human-readable lines: container, host, how, and the previous host when it moves."""
    rows = list(rows)
    width = max([len("CONTAINER"), *(len(r.container) for r in rows)])
    hwidth = max([len("HOST"), *(len(r.host) for r in rows)])
    lines = [f"{'CONTAINER':<{width}}  {'HOST':<{hwidth}}  HOW"]
    for r in rows:
        note = f"  (moves from {r.previous})" if r.moved else ""
        lines.append(f"{r.container:<{width}}  {r.host:<{hwidth}}  {r.how}{note}")
    counts = Counter(r.host for r in rows)
    lines.append("per host: " + ", ".join(f"{h}={n}" for h, n in sorted(counts.items())))
    return lines


def placement_map(rows: Iterable[Row]) -> dict[str, str]:
    """What ``saltmesh:placement`` should hold: hashed containers only."""
    return {r.container: r.host for r in rows if r.how == "hashed"}
