"""Resources: what each docker host has left while the planner fills it, and why a container
does not fit. Capacity comes from pillar (``capacity``) or the host's grains."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.inventory.model import Resources
from saltmesh.placement.model import Host, Item, Reason
from saltmesh.units import format_cpus, format_size

EPSILON = 1e-9  # CPU sums are floats: 0.1 * 3 must fit in 0.3


def capacity_from_grains(grains: Mapping[str, Any] | None) -> Resources:
    """``num_cpus`` and ``mem_total`` (MiB) of a minion's grains; None where missing."""
    grains = grains or {}
    cpus, mem = grains.get("num_cpus"), grains.get("mem_total")
    ok_cpus = isinstance(cpus, (int, float)) and not isinstance(cpus, bool) and cpus > 0
    ok_mem = isinstance(mem, (int, float)) and not isinstance(mem, bool) and mem > 0
    return Resources(
        cpus=float(cpus) if ok_cpus else None, memory=int(mem) * 1024**2 if ok_mem else None
    )


class Load:
    """Used cpus, memory and container count per host."""

    def __init__(self, hosts: Iterable[Host]):
        self.hosts = {h.name: h for h in hosts}
        self.cpus = dict.fromkeys(self.hosts, 0.0)
        self.memory = dict.fromkeys(self.hosts, 0)
        self.count = dict.fromkeys(self.hosts, 0)

    def problem(self, item: Item, host: Host) -> Reason | None:
        """Why ``item`` does not fit on ``host`` now, or None."""
        name = host.name
        if host.slots is not None and self.count[name] >= host.slots:
            return Reason("full", "full (placement_capacity) on", name, f"{host.slots} containers")
        if (
            host.cpus is not None
            and item.cpus
            and (self.cpus[name] + item.cpus > host.cpus + EPSILON)
        ):
            free = max(host.cpus - self.cpus[name], 0.0)
            return Reason(
                "cpu",
                "not enough cpu on",
                name,
                f"needs {format_cpus(item.cpus)}, {format_cpus(free)} free of "
                f"{format_cpus(host.cpus)}",
            )
        if (
            host.memory is not None
            and item.memory
            and (self.memory[name] + item.memory > host.memory)
        ):
            free = max(host.memory - self.memory[name], 0)
            return Reason(
                "memory",
                "not enough memory on",
                name,
                f"needs {format_size(item.memory)}, {format_size(free)} free of "
                f"{format_size(host.memory)}",
            )
        return None

    def take(self, item: Item, host: str) -> None:
        self.cpus[host] += item.cpus
        self.memory[host] += item.memory
        self.count[host] += 1

    def release(self, item: Item, host: str) -> None:
        self.cpus[host] -= item.cpus
        self.memory[host] -= item.memory
        self.count[host] -= 1

    def over(self, host: Host) -> list[str]:
        """What is over capacity on ``host`` (only containers pinned by parents can do that)."""
        out = []
        if host.cpus is not None and self.cpus[host.name] > host.cpus + EPSILON:
            out.append("cpu")
        if host.memory is not None and self.memory[host.name] > host.memory:
            out.append("memory")
        if host.slots is not None and self.count[host.name] > host.slots:
            out.append("containers")
        return out
