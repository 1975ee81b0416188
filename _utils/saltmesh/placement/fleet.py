"""The placement of the whole fleet from pillar: what ``salt-run placement.plan`` shows and
``placement.apply`` records. Pure: pillar (and the hosts' grains) in, a :class:`Plan` out.

The previous record (``saltmesh:placement`` and ``saltmesh:allocations``, as compiled into the
pillar) is the history the planner keeps to; everything else is validated first, and a pillar
that cannot be placed raises one :class:`~saltmesh.errors.PillarError` naming every problem.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.inventory.apps import instance_index
from saltmesh.inventory.model import Inventory, Resources, Server
from saltmesh.inventory.pools import Allocation, parse_allocations
from saltmesh.inventory.reader import Reader
from saltmesh.placement import addresses
from saltmesh.placement.fit import Load, capacity_from_grains
from saltmesh.placement.hashing import host_weights_and_capacity
from saltmesh.placement.model import PINNED, Decision, Host, Item
from saltmesh.placement.planner import Planner
from saltmesh.units import format_cpus, format_size


@dataclass
class Row:
    """One container of the plan."""

    name: str
    host: str
    how: str  # pinned, kept, placed, rebalanced
    rule: str
    reasons: list[str]
    previous: str | None = None
    left: str | None = None  # why it leaves ``previous``
    app: str | None = None
    cpus: float = 0.0
    memory: int = 0
    addresses: dict[str, dict[str, str]] = field(default_factory=dict)  # iface -> ip, mac, pool
    notes: list[str] = field(default_factory=list)  # address changes

    @property
    def moved(self) -> bool:
        return self.previous is not None and self.previous != self.host

    def to_dict(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "app": self.app,
            "how": self.how,
            "rule": self.rule,
            "reasons": list(self.reasons) + list(self.notes),
            "reserved": {"cpus": self.cpus, "memory": format_size(self.memory)},
            "addresses": {k: dict(v) for k, v in self.addresses.items()},
            "move": (
                {"from": self.previous, "to": self.host, "reason": self.left}
                if self.moved
                else None
            ),
        }


@dataclass
class HostRow:
    """One docker host's use after the plan (totals None: unknown, no limit)."""

    name: str
    weight: float
    containers: int
    cpus: float
    memory: int
    cpus_total: float | None
    memory_total: int | None
    source: str
    over: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        free_cpus = None if self.cpus_total is None else self.cpus_total - self.cpus
        free_mem = None if self.memory_total is None else self.memory_total - self.memory
        return {
            "weight": self.weight,
            "containers": self.containers,
            "cpus": {"used": self.cpus, "total": self.cpus_total, "free": free_cpus},
            "memory": {
                "used": format_size(self.memory),
                "total": None if self.memory_total is None else format_size(self.memory_total),
                "free": None if free_mem is None else format_size(max(free_mem, 0)),
            },
            "capacity_from": self.source,
            "over": list(self.over),
        }


@dataclass
class Plan:
    rows: list[Row]
    hosts: list[HostRow]

    def placement(self) -> dict[str, str]:
        """What ``saltmesh:placement`` records: every container not pinned by ``parents``."""
        return {r.name: r.host for r in self.rows if r.how != PINNED}

    def usable_hosts(self) -> list[str]:
        """What ``saltmesh:placement_hosts`` records: the docker hosts with a weight above 0
        (a host missing from it next time is new, and rebalancing may fill it)."""
        return [h.name for h in self.hosts if h.weight > 0]

    def allocations(self) -> dict[str, dict[str, dict[str, str]]]:
        """What ``saltmesh:allocations`` records: each pool address and MAC."""
        out: dict[str, dict[str, dict[str, str]]] = {}
        for row in self.rows:
            for iface, addr in row.addresses.items():
                if addr.get("pool"):
                    ip = addr["ip"].split("/")[0]
                    out.setdefault(row.name, {})[iface] = {
                        "pool": addr["pool"],
                        "ip": ip,
                        "mac": addr["mac"],
                    }
        return out


RECORD_KEYS = ("placement", "allocations", "placement_hosts")  # what placement.apply writes


def _previous(saltmesh: Mapping[str, Any]) -> tuple[dict[str, str], dict, set[str] | None]:
    r = Reader()
    placement = r.mapping(saltmesh.get("placement"), "saltmesh:placement") or {}
    allocations = parse_allocations(r, saltmesh.get("allocations"))
    hosts = saltmesh.get("placement_hosts")
    if hosts is not None and not isinstance(hosts, list):
        r.bad("saltmesh:placement_hosts", "must be a list of docker host names")
        hosts = None
    if r.problems:
        raise PillarError(r.problems)
    known = None if hosts is None else {str(h) for h in hosts}
    return {str(k): str(v) for k, v in placement.items()}, allocations, known


def _capacity(pillar: Resources | None, grains: Resources) -> tuple[float | None, int | None, str]:
    """cpus and memory, each from pillar ``capacity`` else the grains (None: unknown, no
    limit), and where they come from: ``pillar``, ``grains``, ``pillar+grains``, ``unknown``."""
    pillar = pillar or Resources()
    cpus, memory = pillar.cpus, pillar.memory
    used: set[str] = set()
    if cpus is not None or memory is not None:
        used.add("pillar")
    if cpus is None and grains.cpus is not None:
        cpus = grains.cpus
        used.add("grains")
    if memory is None and grains.memory is not None:
        memory = grains.memory
        used.add("grains")
    return cpus, memory, "+".join(sorted(used)) or "unknown"


def _hosts(
    inv: Inventory,
    saltmesh: Mapping[str, Any],
    grains: Mapping[str, Mapping[str, Any]],
    previous: Mapping[str, str],
    known: set[str] | None,
) -> list[Host]:
    """The docker hosts; *fresh* ones were not usable at the last apply (``known``; a record
    older than ``placement_hosts`` knows every host, so upgrading moves nothing)."""
    names = {h.name for h in inv.docker_hosts}
    weights, slots = host_weights_and_capacity(saltmesh, names)
    out = []
    for s in inv.docker_hosts:
        attrs = {"host": s.name}
        attrs.update({k: v for k in ("zone", "rack") if (v := s.attribute(k)) is not None})
        attrs.update({f"labels.{k}": v for k, v in s.labels})
        cpus, memory, source = _capacity(s.capacity, capacity_from_grains(grains.get(s.minion_id)))
        out.append(
            Host(
                name=s.name,
                weight=weights[s.name],
                attrs=attrs,
                cpus=cpus,
                memory=memory,
                slots=slots.get(s.name),
                fresh=known is not None and weights[s.name] > 0 and s.name not in known,
                source=source,
            )
        )
    return out


def _item(server: Server, previous: Mapping[str, str]) -> Item:
    group = server.app or server.name
    demand = server.demand
    return Item(
        name=server.name,
        group=group,
        index=instance_index(server.name) if server.app else 0,
        cpus=demand.cpus or 0.0,
        memory=demand.memory or 0,
        rules=server.constraints,
        path=f"servers:{group}",
        pinned=server.parents[0] if server.parents else None,
        previous=previous.get(server.name),
    )


def _addresses(
    containers: list[Server], inv: Inventory, old: Mapping[str, Mapping[str, Allocation]]
) -> addresses.Result:
    needs, fixed = [], []
    for s in containers:
        for net in s.container.networks if s.container else ():
            if net.pool:
                order = (s.app or s.name, instance_index(s.name) if s.app else 0)
                needs.append(addresses.Need(s.name, net.interface, net.pool, order))
            elif net.ip is not None:
                fixed.append(net.ip.ip)
    return addresses.allocate(needs, inv.pools, old, fixed)


def _row(server: Server, decision: Decision, inv: Inventory, result: addresses.Result) -> Row:
    addrs: dict[str, dict[str, str]] = {}
    for net in server.container.networks if server.container else ():
        rec = result.allocations.get(server.name, {}).get(net.interface) if net.pool else None
        if rec is not None:
            prefix = inv.pools[rec.pool].subnet.prefixlen
            addrs[net.interface] = {"ip": f"{rec.ip}/{prefix}", "mac": rec.mac, "pool": rec.pool}
        elif net.ip is not None:
            addrs[net.interface] = {"ip": str(net.ip), "mac": net.mac or ""}
    item = decision.item
    return Row(
        name=server.name,
        host=decision.host,
        how=decision.how,
        rule=decision.rule,
        reasons=decision.reasons,
        previous=item.previous,
        left=decision.left,
        app=server.app,
        cpus=item.cpus,
        memory=item.memory,
        addresses=addrs,
        notes=result.notes.get(server.name, []),
    )


def _host_rows(hosts: list[Host], load: Load) -> list[HostRow]:
    return [
        HostRow(
            name=h.name,
            weight=h.weight,
            containers=load.count[h.name],
            cpus=round(load.cpus[h.name], 6),
            memory=load.memory[h.name],
            cpus_total=h.cpus,
            memory_total=h.memory,
            source=h.source,
            over=load.over(h),
        )
        for h in hosts
    ]


Grains = Mapping[str, Mapping[str, Any]]


def plan(
    pillar: Mapping[str, Any], grains: Grains | Callable[[list[str]], Grains] | None = None
) -> Plan:
    """The fleet's placement. ``grains``: minion id -> grains (``num_cpus``, ``mem_total``),
    the capacity of docker hosts whose pillar has no ``capacity``; or a function that returns
    them for a list of minion ids (called only when some docker host lacks a pillar capacity)."""
    saltmesh = dict(pillar.get("saltmesh") or {})
    previous, old_allocations, known = _previous(saltmesh)
    for key in RECORD_KEYS:
        saltmesh.pop(key, None)
    inv = inventory.parse({**pillar, "saltmesh": saltmesh})
    if callable(grains):
        missing = [
            h.minion_id
            for h in inv.docker_hosts
            if h.capacity is None or h.capacity.cpus is None or h.capacity.memory is None
        ]
        grains = grains(missing) if missing else {}
    hosts = _hosts(inv, saltmesh, grains or {}, previous, known)
    containers = inv.by_type("container") + list(inv.pending.values())
    planner = Planner(hosts, [_item(s, previous) for s in containers])
    problems: list[tuple[str, str]] = []
    decisions: dict[str, Decision] = {}
    try:
        decisions = planner.run()
    except PillarError as err:
        problems += err.problems
    result = _addresses(containers, inv, old_allocations)
    problems += result.problems
    if problems:
        raise PillarError(problems)
    rows = [_row(s, decisions[s.name], inv, result) for s in containers]
    return Plan(sorted(rows, key=lambda r: r.name), _host_rows(planner.host_list, planner.load))


def describe_host(h: HostRow) -> tuple[str, str, str, str, str]:
    """A host's cpu and memory as ``used/total`` and ``free`` (``?``: no limit known), and its
    note (drained, over capacity, where the capacity comes from)."""
    cpus = f"{format_cpus(h.cpus)}/{'?' if h.cpus_total is None else format_cpus(h.cpus_total)}"
    free_cpus = "?" if h.cpus_total is None else format_cpus(max(h.cpus_total - h.cpus, 0.0))
    total = "?" if h.memory_total is None else format_size(h.memory_total)
    memory = f"{format_size(h.memory)}/{total}"
    free_mem = "?" if h.memory_total is None else format_size(max(h.memory_total - h.memory, 0))
    notes = []
    if h.weight == 0:
        notes.append("drained")
    if h.over:
        notes.append("OVER capacity (" + ", ".join(h.over) + "; pinned by parents)")
    if h.source != "pillar":
        notes.append(f"capacity from {h.source}")
    return cpus, free_cpus, memory, free_mem, "; ".join(notes)
