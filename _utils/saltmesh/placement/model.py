"""The planner's view of the fleet: hosts with capacity and attributes, containers with demand
and rules, and the decision made for each container (plain data, no pillar)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from saltmesh.inventory.model import Constraint


@dataclass
class Host:
    """A docker host as placement sees it. ``cpus``/``memory``/``slots`` None: no limit known."""

    name: str
    weight: float = 1.0  # saltmesh:placement_weights; 0 = drained
    attrs: Mapping[str, str] = field(default_factory=dict)  # host, zone, rack, labels.<key>
    cpus: float | None = None
    memory: int | None = None
    slots: int | None = None  # saltmesh:placement_capacity: max containers
    fresh: bool = False  # ran no placed container before this plan (joined, or back from drain)
    source: str = "pillar"  # where cpus/memory come from: pillar, grains or unknown


@dataclass(frozen=True)
class Item:
    """A container to place. ``group``: its app (or its own name); ``index``: instance number."""

    name: str
    group: str
    index: int = 0
    cpus: float = 0.0
    memory: int = 0
    rules: tuple[Constraint, ...] = ()
    path: str = ""  # the pillar entry: servers:<app or container>
    pinned: str | None = None  # parents in pillar
    previous: str | None = None  # host in the placement record


class Reason(NamedTuple):
    """Why a host is ruled out for a container: ``<prefix> <host> (<detail>)``. ``kind`` groups
    reasons in explanations and names the rule that decided (``unique host``, ``memory``...)."""

    kind: str
    prefix: str
    host: str
    detail: str = ""

    @property
    def text(self) -> str:
        return f"{self.prefix} {self.host}" + (f" ({self.detail})" if self.detail else "")


# how a container got its host
PINNED, KEPT, PLACED, REBALANCED = "pinned", "kept", "placed", "rebalanced"


@dataclass
class Decision:
    """Where a container goes and why: ``rule`` (short) decided, ``reasons`` say more;
    ``left``: why it leaves its previous host (a move)."""

    item: Item
    host: str
    how: str
    rule: str
    reasons: list[str] = field(default_factory=list)
    left: str | None = None

    @property
    def moved(self) -> bool:
        return self.item.previous is not None and self.item.previous != self.host
