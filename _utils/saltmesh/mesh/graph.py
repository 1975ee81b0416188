"""The mesh as a picture: Graphviz DOT with every position computed here (pure).

Docker hosts sit around a circle, each drawn as a card with its name and underlay address;
the card touches the circle from outside, and every tunnel is one straight chord between two
cards' inner sides, coloured by its verified status. A host's containers hang just beyond its
card. Nothing in the picture carries an edge label: the title says which tunnels they are, the
legend what the colours mean.

Positions come from :mod:`saltmesh.mesh.layout` and are pinned (``layout=neato`` and
``pos="x,y!"``): the same pillar gives the same picture on every run, and no node touches
another node or a line it is not an end of (checked on the node sizes given to Graphviz).
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from saltmesh.inventory import Inventory
from saltmesh.mesh.layout import Box, Layout, layout
from saltmesh.mesh.planner import HostPlan

# Status of a tunnel, worst last: the colour of an edge is its worse end's.
OK, UNKNOWN, DRIFTED, BAD = "ok", "unknown", "drifted", "bad"
RANK = {OK: 0, UNKNOWN: 1, DRIFTED: 2, BAD: 3}
COLOURS = {OK: "forestgreen", UNKNOWN: "gray55", DRIFTED: "darkorange", BAD: "red"}
MEANING = {
    OK: "in sync",
    DRIFTED: "drifted",
    BAD: "missing, down or unreachable",
    UNKNOWN: "unknown",
}

FONT = "Helvetica,Arial,sans-serif"
HOST_FILL, HOST_LINE = "#dce9f7", "#2f5f8f"
MEMBER_FILL, MEMBER_LINE = "#fff4d6", "#b58a1b"
DOWN_FILL = "#fde2de"
LEGEND = "saltmesh legend:"  # legend node ids have a space: never the name of a server
MAX_BESIDE = 4  # a host's containers drawn one by one; more are drawn as one list
LIST_SUFFIX = "containers"  # the list's node id is "<host> containers" (a space: no server's)


class Member(NamedTuple):
    """A container drawn next to its docker host."""

    name: str
    address: str


@dataclass(frozen=True)
class Tunnel:
    a: str
    b: str
    status: str
    detail: str  # what the status is about, for the edge's tooltip


# --------------------------------------------------------------------------- status


def end_status(report: Mapping | None, port: str) -> tuple[str, str]:
    """The status of one end of a tunnel (``port`` on the host ``report`` is about)."""
    if report is None:
        return UNKNOWN, "not checked"
    if "unreachable" in report:
        return BAD, "host unreachable"
    if "error" in report:
        return UNKNOWN, f"status error: {report['error']}"
    if port in report.get("missing", ()):
        return BAD, f"{port} missing"
    down = report.get("down", {})
    if port in down:
        return BAD, f"{port} {down[port]}"
    drifted = report.get("drifted", {})
    if port in drifted:
        return DRIFTED, f"{port} drifted: {', '.join(drifted[port])}"
    flows = report.get("flows", {})
    if flows:
        counts = ", ".join(f"{len(v)} {k}" for k, v in sorted(flows.items()))
        return DRIFTED, f"OpenFlow rules differ ({counts})"
    return OK, f"{port} in sync"


def tunnels(plans: Mapping[str, HostPlan], reports: Mapping[str, Mapping] | None) -> list[Tunnel]:
    """Every pair of hosts once, in name order, with the worse status of its two ends."""
    out = []
    for a in sorted(plans):
        ports = plans[a].peer_ports()
        for b in sorted(ports):
            if b <= a or b not in plans:
                continue
            back = plans[b].peer_ports()[a]
            ends = [
                end_status(None if reports is None else reports.get(host, {}), port)
                for host, port in ((a, ports[b]), (b, back))
            ]
            status = max((s for s, _ in ends), key=RANK.__getitem__)
            detail = f"{a} {ends[0][1]}; {b} {ends[1][1]}"
            out.append(Tunnel(a, b, status, detail))
    return out


def host_issue(report: Mapping | None) -> str | None:
    """What a host's card says about it beyond its tunnels (no answer, error, extra ports)."""
    if not report:
        return None
    if "unreachable" in report:
        return "unreachable"
    if "error" in report:
        return "status error"
    extra = len(report.get("extra", ()))
    if extra:
        return f"{extra} extra port{'s' if extra > 1 else ''}"
    return None


# --------------------------------------------------------------------------- containers


def containers_by_host(inv: Inventory, bridge: str | None = None) -> dict[str, list[Member]]:
    """The containers of every docker host, each with its address on ``bridge`` (the mesh
    bridge) when it has one there, else its ``address``."""
    out: dict[str, list[Member]] = {}
    for host in inv.docker_hosts:
        members = []
        for server in inv.containers_on(host.name):
            address = server.address
            spec = server.container
            for net in spec.networks if spec else ():
                if net.bridge == bridge and net.ip is not None:
                    address = str(net.ip.ip)
                    break
            members.append(Member(server.name, address))
        if members:
            out[host.name] = members
    return out


# --------------------------------------------------------------------------- sizes


def _text_width(text: str, points: float, bold: bool = False) -> float:
    """Inches, a little over Helvetica's average advance (digits and lower case)."""
    return len(text) * points * (0.62 if bold else 0.58) / 72


def _card_size(lines: Sequence[tuple[str, float, bool]]) -> tuple[float, float]:
    width = max(_text_width(t, pt, bold) for t, pt, bold in lines) + 0.3
    height = sum(pt * 1.25 for _, pt, _ in lines) / 72 + 0.16
    return round(max(width, 0.6), 2), round(max(height, 0.3), 2)


# --------------------------------------------------------------------------- DOT


def quote(text: str) -> str:
    """A DOT quoted string (node IDs, tooltips): backslash and double quote escaped."""
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _h(text: str) -> str:
    """Text inside an HTML-like label."""
    return html.escape(str(text), quote=True)


def _swatch(width: int, height: int, fill: str, line: str | None = None) -> str:
    border = f' color="{line}" border="1"' if line else ' border="0"'
    return f'<td width="{width}" height="{height}" fixedsize="true" bgcolor="{fill}"{border}></td>'


def _legend_label(entries: Sequence[tuple[str, str]]) -> str:
    """One row of the legend: (swatch cell, text) pairs. Swatches are table cells, not glyphs,
    so that they look the same in every SVG viewer whatever its fonts."""
    cells = "".join(
        f'{swatch}<td align="left"><font point-size="11">{_h(text)}</font></td><td width="10"></td>'
        for swatch, text in entries
    )
    return f'<<table border="0" cellspacing="2" cellpadding="1"><tr>{cells}</tr></table>>'


def _legend(edges: list[Tunnel], checked: bool) -> list[tuple[str, str]]:
    """The legend's rows as (node id, label): tunnel colours, then the kinds of node."""
    if checked:
        counts = {s: sum(1 for e in edges if e.status == s) for s in COLOURS}
        status = [
            (_swatch(26, 4, COLOURS[s]), f"{MEANING[s]} ({counts[s]})")
            for s in (OK, DRIFTED, BAD, UNKNOWN)
        ]
    else:
        status = [(_swatch(26, 4, COLOURS[UNKNOWN]), "tunnel status not checked (status=True)")]
    kinds = [
        (_swatch(18, 11, HOST_FILL, HOST_LINE), "docker host, underlay address"),
        (_swatch(14, 9, MEMBER_FILL, MEMBER_LINE), "container, address on the mesh"),
    ]
    return [(f"{LEGEND} tunnels", _legend_label(status)), (f"{LEGEND} nodes", _legend_label(kinds))]


def _title(plans: Mapping[str, HostPlan], edges: list[Tunnel], containers: int) -> str:
    """The graph's label: what the mesh is, and its counts."""
    first = next(iter(plans.values()), None)
    if first is None:
        return '<<font point-size="18"><b>saltmesh: no docker hosts</b></font>>'
    key = "" if first.key is None else f", {'key' if first.type == 'gre' else 'VNI'} {first.key}"
    shape = "flow-based mesh (one port per host, tun_dst per peer)"
    head = (
        f"{first.bridge}: {first.type.upper()} {'full mesh' if first.flow is None else shape}{key}"
    )
    facts = ", ".join(
        f"{count} {noun}{'s' if count != 1 else ''}"
        for count, noun in (
            (len(plans), "docker host"),
            (len(edges), "tunnel"),
            (containers, "container"),
        )
    )
    facts += f", overlay MTU {first.mtu}"
    return (
        '<<table border="0" cellspacing="2" cellpadding="1">'
        f'<tr><td><font point-size="18"><b>{_h(head)}</b></font></td></tr>'
        f'<tr><td><font point-size="12">{_h(facts)}</font></td></tr></table>>'
    )


def _host_lines(hp: HostPlan, issue: str | None) -> list[tuple[str, float, bool]]:
    lines = [(hp.host, 13, True), (hp.local_ip, 11, False)]
    if issue:
        lines.append((issue, 10, True))
    return lines


def _member_lines(m: Member) -> list[tuple[str, float, bool]]:
    return [(m.name, 10, True), (m.address, 9, False)]


def _common_size(sizes) -> tuple[float, float]:
    """One size for all nodes of a kind: the largest width and height (tidy, and what the
    layout assumed)."""
    sizes = list(sizes) or [(0.6, 0.3)]
    return max(w for w, _ in sizes), max(h for _, h in sizes)


def _label(lines: Sequence[tuple[str, float, bool]], colours: Sequence[str] = ()) -> str:
    parts = []
    for i, (text, points, bold) in enumerate(lines):
        body = f"<b>{_h(text)}</b>" if bold else _h(text)
        colour = f' color="{colours[i]}"' if i < len(colours) and colours[i] else ""
        parts.append(f'<font point-size="{points:g}"{colour}>{body}</font>')
    return "<" + "<br/>".join(parts) + ">"


class MemberNode(NamedTuple):
    """A node drawn beside a host: one container, or the list of all its containers."""

    id: str
    label: str
    size: tuple[float, float]
    tooltip: str


def _member_nodes(listed: Mapping[str, Sequence[Member]]) -> dict[str, list[MemberNode]]:
    """Up to :data:`MAX_BESIDE` containers of a host are drawn one by one (all of one size);
    a host with more gets one node listing them all, ``"<host> containers"``."""
    single = _common_size(
        _card_size(_member_lines(m))
        for members in listed.values()
        if len(members) <= MAX_BESIDE
        for m in members
    )
    out: dict[str, list[MemberNode]] = {}
    for host, members in listed.items():
        if len(members) <= MAX_BESIDE:
            out[host] = [
                MemberNode(
                    m.name, _label(_member_lines(m)), single, f"{m.name}: {m.address}, on {host}"
                )
                for m in members
            ]
            continue
        rows = "".join(
            f'<tr><td align="left"><font point-size="10"><b>{_h(m.name)}</b></font></td>'
            f'<td align="left"><font point-size="9">{_h(m.address)}</font></td></tr>'
            for m in members
        )
        head = f"{len(members)} containers on {host}"
        label = (
            '<<table border="0" cellspacing="0" cellpadding="1">'
            f'<tr><td colspan="2"><font point-size="9">{_h(head)}</font></td></tr>{rows}</table>>'
        )
        width = max(
            _text_width(head, 9),
            max(_text_width(m.name, 10, True) for m in members)
            + max(_text_width(m.address, 9) for m in members)
            + 0.12,
        )
        height = (len(members) + 1) * 13.5 / 72 + 0.16
        size = (round(width + 0.3, 2), round(height, 2))
        out[host] = [MemberNode(f"{host} {LIST_SUFFIX}", label, size, head)]
    return out


def _legend_nodes(lay: Layout, rows: list[tuple[str, str]]) -> list[str]:
    """The legend's rows as nodes centred above the drawing, the first row on top."""
    boxes = [*lay.hosts.values(), *(b for bs in lay.members.values() for b in bs.values())]
    if not boxes:
        return []
    left = min(b.x - b.w / 2 for b in boxes)
    right = max(b.x + b.w / 2 for b in boxes)
    top = max(b.y + b.h / 2 for b in boxes)
    out = []
    for i, (node, label) in enumerate(reversed(rows)):
        pos = Box(round((left + right) / 2, 3), round(top + 0.4 + 0.36 * i, 3), 0, 0)
        out.append(
            f"  {quote(node)} [label={label}, pos={_pos(pos)}, shape=plaintext, "
            "style=solid, fixedsize=false, margin=0, width=0, height=0];"
        )
    return out


def _pos(box: Box) -> str:
    return f'"{box.x:.3f},{box.y:.3f}!"'


def to_dot(
    plans: Mapping[str, HostPlan],
    reports: Mapping[str, Mapping] | None = None,
    containers: Mapping[str, Sequence[Member]] | None = None,
) -> str:
    """The mesh as an undirected Graphviz graph with pinned positions.

    ``reports`` are ``mesh.verify`` rows per host (None: status not checked, every tunnel
    gray); ``containers`` are drawn beside their host (see :func:`containers_by_host`).
    Nodes are the hosts and containers by name; each tunnel is one edge ``"a" -- "b"``.
    """
    containers = containers or {}
    checked = bool(reports)
    reports = reports or {}
    edges = tunnels(plans, reports if checked else None)
    issues = {h: host_issue(reports.get(h)) for h in plans}
    card = _common_size(_card_size(_host_lines(hp, issues[h])) for h, hp in plans.items())
    listed = {h: list(containers.get(h, ())) for h in plans}
    drawn = _member_nodes(listed)
    sizes = {h: nodes[0].size for h, nodes in drawn.items() if nodes}
    lay = layout(sorted(plans), {h: [n.id for n in ns] for h, ns in drawn.items()}, card, sizes)
    title = _title(plans, edges, sum(map(len, listed.values())))
    tunnel_pen = 2 if len(plans) <= 6 else 1.5

    out = [
        "graph mesh {",
        "  graph [layout=neato, splines=line, outputorder=edgesfirst, pad=0.3, "
        f"fontname={quote(FONT)}, labelloc=t, label={title}];",
        f"  node [shape=box, style={quote('rounded,filled')}, fontname={quote(FONT)}, "
        "fixedsize=true, penwidth=1.4];",
        f"  edge [penwidth={tunnel_pen}];",
    ]
    out += _legend_nodes(lay, _legend(edges, checked))
    for host in sorted(plans):
        hp, box, issue = plans[host], lay.hosts[host], issues[host]
        down = issue == "unreachable"
        label = _label(_host_lines(hp, issue), ("", "", "red" if down else "darkorange"))
        tip = f"{host}: underlay {hp.local_ip}, minion {hp.minion_id}"
        out.append(
            f"  {quote(host)} [label={label}, pos={_pos(box)}, width={box.w}, height={box.h}, "
            f"fillcolor={quote(DOWN_FILL if down else HOST_FILL)}, "
            f"color={quote('red' if down else HOST_LINE)}, tooltip={quote(tip)}];"
        )
    for e in edges:
        out.append(
            f"  {quote(e.a)} -- {quote(e.b)} [color={COLOURS[e.status]}, "
            f"tailport={lay.ports[e.a]}, headport={lay.ports[e.b]}, tooltip={quote(e.detail)}];"
        )
    for host in sorted(plans):
        for node in drawn[host]:
            box = lay.members[host][node.id]
            out.append(
                f"  {quote(node.id)} [label={node.label}, pos={_pos(box)}, "
                f"width={box.w}, height={box.h}, fillcolor={quote(MEMBER_FILL)}, "
                f"color={quote(MEMBER_LINE)}, penwidth=1, tooltip={quote(node.tooltip)}];"
            )
            out.append(
                f"  {quote(host)} -- {quote(node.id)} "
                f"[color={quote(MEMBER_LINE)}, penwidth=1, style=dashed];"
            )
    out.append("}")
    return "\n".join(out) + "\n"
