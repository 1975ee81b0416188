"""The mesh as a Graphviz graph (DOT text), edges coloured by verified status when known."""

from __future__ import annotations

from collections.abc import Mapping

from saltmesh.mesh.planner import HostPlan


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
