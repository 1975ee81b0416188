"""Reports on the mesh for the runner: plan tables, plan-vs-actual verification, Graphviz DOT.

Pure functions over plain data (plans as :meth:`HostPlan.to_dict`, status as returned by the
``ovs_mesh.status`` execution function), so they are unit-tested without Salt or OVS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.mesh import HostPlan


def plan_table(plans: Mapping[str, HostPlan]) -> str:
    """A fixed-width table: one line per directed tunnel."""
    rows = [("HOST", "PORT", "TYPE", "PEER", "LOCAL", "REMOTE", "KEY")]
    for host, hp in plans.items():
        for t in hp.tunnels:
            key = "" if hp.key is None else str(hp.key)
            rows.append((host, t.name, hp.type, t.peer, hp.local_ip, t.remote_ip, key))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    total = sum(len(hp.tunnels) for hp in plans.values())
    lines.append(f"{len(plans)} hosts, {total} tunnel ports")
    return "\n".join(lines)


def verify_host(plan: HostPlan, status: Any) -> dict:
    """Compare one host's planned tunnels with its ``ovs_mesh.status`` answer.

    Returns ``{"missing": [...], "extra": [...], "drifted": {port: [fields]}, "down": {port:
    reason}}`` with only the non-empty keys; ``{}`` means the host matches its plan.
    """
    if not isinstance(status, Mapping) or "ports" not in status:
        return {"unreachable": str(status) if status else "no answer"}
    actual: Mapping[str, Mapping] = status["ports"]
    report: dict[str, Any] = {}
    planned = {t.name: t for t in plan.tunnels}
    missing = sorted(set(planned) - set(actual))
    extra = sorted(set(actual) - set(planned))
    drifted: dict[str, list[str]] = {}
    down: dict[str, str] = {}
    for name in sorted(set(planned) & set(actual)):
        port = actual[name]
        fields = []
        if port.get("type") != plan.type:
            fields.append("type")
        if port.get("options") != plan.options(planned[name]):
            fields.append("options")
        if port.get("protected") is not True:
            fields.append("protected")
        if port.get("bridge") != plan.bridge:
            fields.append("bridge")
        if fields:
            drifted[name] = fields
        if port.get("error"):
            down[name] = f"error: {port['error']}"
        elif port.get("link_state") == "down":
            down[name] = "link down"
        elif plan.bfd and port.get("bfd_status", {}).get("state") != "up":
            down[name] = f"bfd {port.get('bfd_status', {}).get('state', 'not running')}"
    for key, value in (
        ("missing", missing),
        ("extra", extra),
        ("drifted", drifted),
        ("down", down),
    ):
        if value:
            report[key] = value
    return report


def to_dot(plans: Mapping[str, HostPlan], reports: Mapping[str, dict] | None = None) -> str:
    """The mesh as an undirected Graphviz graph; edges coloured by status when known."""
    reports = reports or {}
    out = ["graph mesh {", '  graph [layout=circo, label="saltmesh"];', "  node [shape=box];"]
    for host in plans:
        colour = "red" if "unreachable" in reports.get(host, {}) else "black"
        out.append(f'  "{host}" [color={colour}];')
    seen = set()
    for host, hp in plans.items():
        for t in hp.tunnels:
            pair = tuple(sorted((host, t.peer)))
            if pair in seen:
                continue
            seen.add(pair)
            colour = _edge_colour(reports, host, t.peer, plans)
            label = f"{hp.type} {hp.local_ip} - {t.remote_ip}"
            out.append(f'  "{pair[0]}" -- "{pair[1]}" [label="{label}", color={colour}];')
    out.append("}")
    return "\n".join(out) + "\n"


def _edge_colour(reports, a: str, b: str, plans: Mapping[str, HostPlan]) -> str:
    if not reports:
        return "gray"
    names = {
        a: next(t.name for t in plans[a].tunnels if t.peer == b),
        b: next(t.name for t in plans[b].tunnels if t.peer == a),
    }
    worst = "green"
    for host, port in names.items():
        report = reports.get(host, {})
        if "unreachable" in report or port in report.get("missing", ()):
            return "red"
        if port in report.get("down", {}):
            return "red"
        if port in report.get("drifted", {}):
            worst = "orange"
    return worst
