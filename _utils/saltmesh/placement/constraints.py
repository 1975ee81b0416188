"""Placement rules applied to hosts.

*Static*: which hosts a group (an app, or a single container) may use at all: not drained,
``match``/``avoid`` satisfied, and having every attribute its counting rules name; plus each
host's ``prefer`` score. *Dynamic* (:class:`GroupState`): which of those it may use now, given
how many of its instances each attribute value already holds (``unique``, ``max_per``,
``spread``).

``spread`` is exact: with N instances over V values, every value gets N // V or N // V + 1
(at most N % V values the larger share); a value whose hosts cannot take their share makes the
plan infeasible rather than uneven.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from saltmesh.inventory.model import Constraint
from saltmesh.placement.model import Host, Item, Reason

COUNTING = ("unique", "max_per", "spread")


@dataclass
class Eligibility:
    hosts: list[Host]  # usable at all, in name order
    ruled: dict[str, Reason] = field(default_factory=dict)  # host -> why not
    soft: dict[str, int] = field(default_factory=dict)  # host -> sum of matching prefer weights
    _values: dict[str, int] = field(default_factory=dict)

    def values(self, attribute: str) -> int:
        """How many distinct values of ``attribute`` the usable hosts have."""
        if attribute not in self._values:
            self._values[attribute] = len({h.attrs[attribute] for h in self.hosts})
        return self._values[attribute]


def signature(rules: Iterable[Constraint]) -> tuple:
    """What static eligibility depends on (rules of different apps may share it)."""
    return tuple(
        (c.kind, c.attribute, c.values, c.weight) for c in rules if c.kind != "max_per"
    ) + tuple(("has", c.attribute) for c in rules if c.kind == "max_per")


def eligibility(hosts: Sequence[Host], rules: Sequence[Constraint]) -> Eligibility:
    """Hosts a group with ``rules`` may use at all, and why the others are ruled out."""
    out = Eligibility([])
    prefers = [c for c in rules if c.kind == "prefer"]
    for h in hosts:
        why = None
        if h.weight <= 0:
            why = Reason("drained", "drained (weight 0):", h.name)
        for c in rules:
            if why is not None:
                break
            value = h.attrs.get(c.attribute)
            if c.kind == "match" and value not in c.values:
                detail = f"{c.attribute} {value}" if value is not None else f"no {c.attribute}"
                why = Reason(c.describe(), f"{c.describe()} rules out", h.name, detail)
            elif c.kind == "avoid" and value in c.values:
                why = Reason(c.describe(), f"{c.describe()} rules out", h.name)
            elif c.kind in COUNTING and value is None:
                why = Reason(
                    f"no {c.attribute}", f"{c.describe()} needs a {c.attribute}; none on", h.name
                )
        if why is not None:
            out.ruled[h.name] = why
            continue
        out.hosts.append(h)
        soft = sum(c.weight for c in prefers if h.attrs.get(c.attribute) in c.values)
        if soft:
            out.soft[h.name] = soft
    return out


class GroupState:
    """How many of a group's instances each attribute value holds, and what that allows."""

    def __init__(self, name: str, rules: Sequence[Constraint], size: int, usable: Eligibility):
        self.name = name
        self.size = size
        self.limits = [c for c in rules if c.kind in ("unique", "max_per")]
        self.spreads: list[tuple[Constraint, int, int, int]] = []  # rule, values, q, r
        for c in rules:
            if c.kind == "spread":
                values = usable.values(c.attribute)
                q, r = divmod(size, values) if values else (0, 0)
                self.spreads.append((c, values, q, r))
        attrs = (
            {"host"} | {c.attribute for c in self.limits} | {c.attribute for c, *_ in self.spreads}
        )
        self.counts: dict[str, dict[str | None, int]] = {a: {} for a in sorted(attrs)}
        self.holder: dict[tuple[str, str | None], str] = {}
        self.quota: dict[str, dict[str, int]] | None = None  # fixed shares while keeping

    def add(self, item: Item, host: Host) -> None:
        for attr, counts in self.counts.items():
            value = host.attrs.get(attr)
            counts[value] = counts.get(value, 0) + 1
            self.holder.setdefault((attr, value), item.name)

    def remove(self, item: Item, host: Host) -> None:
        for attr, counts in self.counts.items():
            value = host.attrs.get(attr)
            counts[value] -= 1
            if self.holder.get((attr, value)) == item.name:
                del self.holder[(attr, value)]

    def on(self, host: str) -> int:
        """Instances of the group on ``host``."""
        return self.counts["host"].get(host, 0)

    def set_quotas(self, wanted: Mapping[str, Mapping[str, int]]) -> None:
        """Fix each spread value's share while keeping containers where they are: the values
        that would keep the most (``wanted[attr][value]``) get the larger shares."""
        self.quota = {}
        for c, _values, q, r in self.spreads:
            want = wanted.get(c.attribute, {})
            larger = sorted(want, key=lambda v: (-want[v], v))[:r]
            self.quota[c.attribute] = {v: q + 1 for v in larger}

    def problem(self, host: Host) -> Reason | None:
        """Why one more instance may not go to ``host`` now, or None."""
        for c in self.limits:
            value = host.attrs[c.attribute]
            n = self.counts[c.attribute].get(value, 0)
            if n >= c.count:
                if c.attribute == "host":
                    detail = f"runs {self.holder.get(('host', value), 'one of ' + self.name)}"
                else:
                    detail = f"{c.attribute} {value} has {n} of {self.name}"
                return Reason(c.describe(), f"{c.describe()} rules out", host.name, detail)
        for c, values, q, r in self.spreads:
            value = host.attrs[c.attribute]
            counts = self.counts[c.attribute]
            n = counts.get(value, 0)
            if self.quota is not None:
                ok = n < self.quota[c.attribute].get(value, q)
            else:
                ok = n < q or (n == q and sum(1 for m in counts.values() if m > q) < r)
            if not ok:
                detail = (
                    f"{c.attribute} {value} has its share: {n} of {self.size} over {values} "
                    f"{c.attribute}s"
                )
                return Reason(c.describe(), f"{c.describe()} rules out", host.name, detail)
        return None
