"""Explanations: why a container goes where it goes, and why it fits nowhere (one line)."""

from __future__ import annotations

from collections.abc import Iterable

from saltmesh.placement.model import Reason

SHOWN = 3  # hosts named per reason; the rest are counted


def grouped(reasons: Iterable[Reason], shown: int = SHOWN) -> str:
    """``reasons`` grouped by kind, largest group last: ``not enough memory on docker02
    (needs 256m, 128m free of 1g), docker03 (...) and 40 more; drained (weight 0): docker04``."""
    kinds: dict[str, list[Reason]] = {}
    for reason in reasons:
        kinds.setdefault(reason.kind, []).append(reason)
    parts = []
    for group in sorted(kinds.values(), key=lambda g: (len(g), g[0].kind)):
        group = sorted(group, key=lambda r: r.host)
        named = [r.host + (f" ({r.detail})" if r.detail else "") for r in group[:shown]]
        more = f" and {len(group) - shown} more" if len(group) > shown else ""
        parts.append(f"{group[0].prefix} {', '.join(named)}{more}")
    return "; ".join(parts)


def infeasible(name: str, reasons: list[Reason], hosts: int) -> str:
    """The one line of a container that fits on no docker host."""
    if not hosts:
        return f"{name} cannot be placed: there is no docker host in servers"
    return f"{name} cannot be placed on any of {hosts} docker hosts: {grouped(reasons)}"


def passed(reasons: list[Reason], shown: int = SHOWN) -> list[str]:
    """Reasons for the hosts ranked before the chosen one, as the plan shows them."""
    out = [r.text for r in reasons[:shown]]
    if len(reasons) > shown:
        out.append(f"and {len(reasons) - shown} more hosts ranked before it")
    return out
