"""The pool allocator: a stable IPv4 address and MAC per (container, interface).

* A recorded address stays with its container (across restarts, moves and re-plans) while it
  is still in its pool's range and nobody else claims it; the MAC recorded with it stays too.
* An address is never handed to two containers, nor one written by hand in pillar, nor the
  pool's gateway.
* An address is released only when its container is gone (no longer in pillar): it is left
  out of the new record, and not handed out again by the same change (its container may still
  run until the orchestration stops it) unless the pool has nothing else left.
* New addresses: the lowest free one of the range, containers in name order (``web-2`` before
  ``web-10``). MAC: ``02:<first byte of sha256(pool)>:<the four bytes of the IPv4>``.
"""

from __future__ import annotations

import hashlib
import ipaddress
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from saltmesh.inventory.model import Pool
from saltmesh.inventory.pools import Allocation

SHOWN = 3


def mac_for(pool: str, ip: ipaddress.IPv4Address) -> str:
    """The MAC of a pool address: unicast, locally administered, unique within the pool."""
    tag = hashlib.sha256(pool.encode()).digest()[0]
    return ":".join(f"{b:02x}" for b in (0x02, tag, *ip.packed))


@dataclass(frozen=True)
class Need:
    """A pool network of a container: ``order`` sorts containers (app, instance, name)."""

    container: str
    interface: str
    pool: str
    order: tuple = ()


@dataclass
class Result:
    allocations: dict[str, dict[str, Allocation]] = field(default_factory=dict)
    notes: dict[str, list[str]] = field(default_factory=dict)  # container -> what changed
    problems: list[tuple[str, str]] = field(default_factory=list)


def _in_range(pool: Pool, ip: ipaddress.IPv4Address) -> bool:
    return pool.first <= ip <= pool.last


def allocate(
    needs: Sequence[Need],
    pools: Mapping[str, Pool],
    old: Mapping[str, Mapping[str, Allocation]],
    fixed: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address] = (),
) -> Result:
    """Addresses for every ``needs`` entry, keeping ``old`` ones where valid; ``fixed``: addresses
    written by hand in pillar (never allocated)."""
    out = Result()
    fixed_set = {ip for ip in fixed if isinstance(ip, ipaddress.IPv4Address)}
    taken: dict[ipaddress.IPv4Address, str] = {}
    for pool in pools.values():
        if pool.gateway is not None:
            taken[pool.gateway] = f"the gateway of pool {pool.name}"
    for ip in fixed_set:
        taken.setdefault(ip, "written by hand in pillar")
    ordered = sorted(needs, key=lambda n: (n.order, n.container, n.interface))
    wanting: list[Need] = []
    for need in ordered:
        pool = pools[need.pool]
        rec = old.get(need.container, {}).get(need.interface)
        why = None
        if rec is None:
            wanting.append(need)
            continue
        if rec.pool != need.pool:
            why = f"{need.interface} moved from pool {rec.pool} to {need.pool}"
        elif not _in_range(pool, rec.ip):
            why = f"{rec.ip} is outside the range of pool {pool.name} now"
        elif rec.ip in taken:
            why = f"{rec.ip} is {taken[rec.ip]}"
        if why is None:
            taken[rec.ip] = f"already {need.container}'s"
            out.allocations.setdefault(need.container, {})[need.interface] = rec
        else:
            out.notes.setdefault(need.container, []).append(f"new address: {why}")
            wanting.append(need)
    # addresses of the old record not kept: released now, reused by this change only if needed
    released = {
        rec.ip: name
        for name, ifaces in old.items()
        for rec in ifaces.values()
        if rec.ip not in taken
    }
    cursor = {name: int(pool.first) for name, pool in pools.items()}
    starved: dict[str, list[str]] = {}
    for need in wanting:
        pool = pools[need.pool]
        ip = None
        while cursor[pool.name] <= int(pool.last):
            candidate = ipaddress.IPv4Address(cursor[pool.name])
            cursor[pool.name] += 1
            if candidate not in taken and candidate not in released:
                ip = candidate
                break
        if ip is None:  # nothing never-used left: an address this change releases
            spare = sorted(a for a in released if _in_range(pool, a) and a not in taken)
            if spare:
                ip = spare[0]
                out.notes.setdefault(need.container, []).append(
                    f"reuses {ip}, released by {released[ip]} in this change: move with "
                    "`state.orchestrate orch.placement` so that it stops first"
                )
        if ip is None:
            starved.setdefault(pool.name, []).append(need.container)
            continue
        taken[ip] = f"already {need.container}'s"
        rec = Allocation(pool.name, ip, mac_for(pool.name, ip))
        out.allocations.setdefault(need.container, {})[need.interface] = rec
    for name, containers in sorted(starved.items()):
        pool = pools[name]
        used = sum(1 for ip in taken if _in_range(pool, ip))
        names = ", ".join(containers[:SHOWN])
        more = f" and {len(containers) - SHOWN} more" if len(containers) > SHOWN else ""
        out.problems.append(
            (
                f"saltmesh:pools:{name}",
                f"pool {name} is exhausted ({pool.first}-{pool.last}: {pool.size} addresses, "
                f"{used} taken): no address for {names}{more}",
            )
        )
    return out
