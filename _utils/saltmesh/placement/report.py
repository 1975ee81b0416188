"""What ``placement.plan`` and ``placement.apply`` print: the container table, the host table,
and the moves in the order the orchestration makes them (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.placement.fleet import Plan, Row, describe_host
from saltmesh.units import format_cpus, format_size

PRUNE_PHASE = "containers.prune"  # salt/orch/placement.sls: every old host stops first
RUN_PHASE = "containers"  # then every new host starts


def _address(row: Row) -> str:
    ips = [a["ip"].split("/")[0] for a in row.addresses.values()]
    return ",".join(ips) or "-"


def _change(row: Row) -> str:
    parts = []
    if row.moved:
        parts.append(f"moves from {row.previous}: {row.left or 'rule'}")
    elif row.previous is None and row.how != "pinned":
        parts.append("new")
    parts += row.notes
    return "; ".join(parts)


def _columns(lines: list[list[str]]) -> list[str]:
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]) - 1)]
    return [
        "  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + "  " + line[-1]
        for line in lines
    ]


def table(plan: Plan) -> list[str]:
    """The plan as text lines: one per container, then one per docker host, then the moves."""
    rows = [["CONTAINER", "HOST", "CPUS", "MEMORY", "ADDRESS", "RULE", "CHANGE"]]
    for r in plan.rows:
        rows.append(
            [
                r.name,
                r.host,
                format_cpus(r.cpus) if r.cpus else "-",
                format_size(r.memory) if r.memory else "-",
                _address(r),
                r.rule,
                _change(r),
            ]
        )
    lines = [line.rstrip() for line in _columns(rows)]
    hosts = [["HOST", "CONTAINERS", "CPUS USED/TOTAL", "FREE", "MEMORY USED/TOTAL", "FREE", "NOTE"]]
    for h in plan.hosts:
        cpus, free_cpus, memory, free_mem, note = describe_host(h)
        hosts.append([h.name, str(h.containers), cpus, free_cpus, memory, free_mem, note])
    lines += [""] + [line.rstrip() for line in _columns(hosts)]
    moved = [r for r in plan.rows if r.moved]
    lines.append("")
    lines.append(
        f"{len(plan.rows)} containers on {len(plan.hosts)} docker hosts; "
        f"{len(moved)} move{'s' if len(moved) != 1 else ''}"
        + (f", {sum(1 for r in plan.rows if r.previous is None and r.how != 'pinned')} new")
    )
    return lines


def steps(changes: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The moves of ``changes`` (``record.moves``) in the order ``orch.placement`` makes them:
    every old host stops (or removes) what leaves it, and only then new hosts start theirs, so
    a container never runs on two hosts at once."""
    stop = [
        f"1. {c['old']}: stop {name} ({PRUNE_PHASE})"
        for name, c in sorted(changes.items(), key=lambda kv: (str(kv[1]["old"]), kv[0]))
        if c["old"] is not None
    ]
    start = [
        f"2. {c['new']}: start {name} ({RUN_PHASE})"
        for name, c in sorted(changes.items(), key=lambda kv: (str(kv[1]["new"]), kv[0]))
        if c["new"] is not None
    ]
    return stop + start


def data(plan: Plan) -> dict[str, dict[str, Any]]:
    """One mapping per container (``--out=json``/``yaml``): host, addresses, reasons, move."""
    return {r.name: r.to_dict() for r in plan.rows}


def hosts_data(plan: Plan) -> dict[str, dict[str, Any]]:
    """One mapping per docker host: containers, cpu and memory used, total and free."""
    return {h.name: h.to_dict() for h in plan.hosts}


def moves_of(rows: Iterable[Row]) -> dict[str, dict[str, Any]]:
    """``{container: {"old", "new", "reason"}}`` for the containers of ``rows`` that move."""
    return {r.name: {"old": r.previous, "new": r.host, "reason": r.left} for r in rows if r.moved}
