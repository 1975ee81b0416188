"""The mesh picture (saltmesh.mesh.graph): structure, colours, escaping, and a layout in which
nothing overlaps, checked on our geometry and, when Graphviz is installed, on its rendering."""

from __future__ import annotations

import dataclasses
import json
import re
import shlex
import shutil
import subprocess
import xml.etree.ElementTree as ET

import pytest

from saltmesh import inventory
from saltmesh.mesh import graph, layout, planner

HAVE_DOT = shutil.which("dot") is not None
needs_dot = pytest.mark.skipif(not HAVE_DOT, reason="Graphviz (dot) not installed")

EDGE = re.compile(r'^  ("(?:[^"\\]|\\.)*") -- ("(?:[^"\\]|\\.)*") \[(.*)\];$', re.M)
NODE = re.compile(r'^  ("(?:[^"\\]|\\.)*") \[label=', re.M)


def pillar(n, containers=None, **mesh):
    """``n`` docker hosts d01.. and containers {name: host}."""
    servers = {
        f"d{i:02d}": {"node_type": "docker_host", "address": f"10.0.0.{i}"} for i in range(1, n + 1)
    }
    for k, (name, host) in enumerate(sorted((containers or {}).items()), start=10):
        servers[name] = {
            "node_type": "container",
            "address": f"10.9.0.{k}",
            "parents": host,
            "container": {
                "image": "busybox",
                "networks": [{"bridge": "br-mesh", "ip": f"192.168.77.{k}/24"}],
            },
        }
    return {"servers": servers, "saltmesh": {"mesh": {"tunnel": "vxlan", "key": 5000, **mesh}}}


def fleet(n, containers=None, **mesh):
    inv = inventory.parse(pillar(n, containers, **mesh))
    return inv, planner.plan_fleet(inv)


def unquote(text):
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def edges(dot):
    """(a, b, attributes) of every edge statement."""
    return [(unquote(a), unquote(b), attrs) for a, b, attrs in EDGE.findall(dot)]


def tunnel_edges(dot, plans):
    return [(a, b, attrs) for a, b, attrs in edges(dot) if a in plans and b in plans]


def colour(attrs):
    return re.search(r"color=([\w#\"]+)", attrs).group(1)


# --------------------------------------------------------------------------- structure


@pytest.mark.parametrize("n", [1, 2, 3, 6, 12])
def test_every_host_once_every_pair_once(n):
    _, plans = fleet(n)
    dot = graph.to_dot(plans)
    nodes = [unquote(q) for q in NODE.findall(dot)]
    legend = [name for name in nodes if name.startswith(graph.LEGEND)]
    assert len(legend) == (2 if plans else 0)
    assert sorted(set(nodes) - set(legend)) == sorted(plans)
    assert len(nodes) == len(set(nodes))
    pairs = [tuple(sorted((a, b))) for a, b, _ in tunnel_edges(dot, plans)]
    assert len(pairs) == len(set(pairs)) == n * (n - 1) // 2
    assert set(pairs) == {(a, b) for a in plans for b in plans if a < b}
    assert "label=" not in "".join(attrs for *_, attrs in edges(dot))  # no edge labels


def test_host_card_shows_name_and_underlay_address():
    _, plans = fleet(3, underlay={"d02": "10.200.0.2"})
    dot = graph.to_dot(plans)
    card = re.search(r'^  "d02" \[label=<(.*?)>, pos', dot, re.M).group(1)
    assert "<b>d02</b>" in card and "10.200.0.2" in card


def test_title_names_bridge_tunnel_type_and_key():
    _, plans = fleet(3)
    dot = graph.to_dot(plans)
    assert "br-mesh: VXLAN full mesh, VNI 5000" in dot
    assert "3 docker hosts, 3 tunnels, 0 containers, overlay MTU 1450" in dot
    _, gre = fleet(4, tunnel="gre", key=7, bridge="br-ov")
    assert "br-ov: GRE full mesh, key 7" in graph.to_dot(gre)
    _, nokey = fleet(2, tunnel="geneve", key=None)
    assert "GENEVE full mesh<" in graph.to_dot(nokey).replace("</b>", "<")


def test_no_hosts_and_one_host():
    assert "no docker hosts" in graph.to_dot({})
    _, plans = fleet(1, {"c1": "d01"})
    inv, _ = fleet(1, {"c1": "d01"})
    dot = graph.to_dot(plans, None, graph.containers_by_host(inv, "br-mesh"))
    assert edges(dot) == [("d01", "c1", edges(dot)[0][2])]


# --------------------------------------------------------------------------- containers


def test_containers_hang_under_their_own_host():
    placement = {"web1": "d01", "web2": "d01", "db1": "d03", "q1": "d05", "q2": "d05", "q3": "d05"}
    inv, plans = fleet(6, placement)
    members = graph.containers_by_host(inv, "br-mesh")
    assert {h: [m.name for m in ms] for h, ms in members.items()} == {
        "d01": ["web1", "web2"],
        "d03": ["db1"],
        "d05": ["q1", "q2", "q3"],
    }
    assert members["d03"] == [graph.Member("db1", "192.168.77.10")]  # its address on the mesh
    dot = graph.to_dot(plans, None, members)
    links = {b: a for a, b, _ in edges(dot) if b not in plans}
    assert links == placement
    assert len(tunnel_edges(dot, plans)) == 15
    # each container is drawn nearer its host than any other host
    lay = layout_of(dot)
    for name, host in placement.items():
        nearest = min(plans, key=lambda h: dist(lay[name], lay[h]))
        assert nearest == host, (name, nearest)


def test_many_containers_are_one_list_under_their_host():
    many = {f"app{k:02d}": "d02" for k in range(graph.MAX_BESIDE + 3)}
    inv, plans = fleet(4, {**many, "solo": "d03"})
    dot = graph.to_dot(plans, None, graph.containers_by_host(inv, "br-mesh"))
    links = {b: a for a, b, _ in edges(dot) if b not in plans}
    assert links == {"d02 containers": "d02", "solo": "d03"}
    listing = re.search(r'^  "d02 containers" \[label=<(.*?)>, pos', dot, re.M).group(1)
    assert "7 containers on d02" in listing
    for k, name in enumerate(sorted(many)):
        assert f"<b>{name}</b>" in listing and f"192.168.77.{10 + k}<" in listing


def test_container_address_falls_back_to_its_address():
    inv, _ = fleet(2, {"c1": "d01"})
    assert graph.containers_by_host(inv, "br-other") == {"d01": [graph.Member("c1", "10.9.0.10")]}


def test_containers_can_be_left_out():
    inv, plans = fleet(3, {"c1": "d01"})
    assert "c1" not in graph.to_dot(plans)
    assert '"c1"' in graph.to_dot(plans, None, graph.containers_by_host(inv, "br-mesh"))


# --------------------------------------------------------------------------- status colours


def port(plans, host, peer):
    return next(t.name for t in plans[host].tunnels if t.peer == peer)


def test_colours_by_verified_status():
    _, plans = fleet(5)
    reports = {
        "d01": {"drifted": {port(plans, "d01", "d02"): ["options"]}},
        "d02": {"missing": [port(plans, "d02", "d03")]},
        "d03": {"down": {port(plans, "d03", "d04"): "link down"}},
        "d04": {"error": "'ovs_mesh.status' is not available."},
        "d05": {"unreachable": "no answer"},
    }
    dot = graph.to_dot(plans, reports)
    got = {(a, b): colour(attrs) for a, b, attrs in tunnel_edges(dot, plans)}
    assert got == {
        ("d01", "d02"): "darkorange",  # drifted at one end, in sync at the other
        ("d01", "d03"): "forestgreen",
        ("d01", "d04"): "gray55",  # d04 could not say: unknown
        ("d01", "d05"): "red",  # unreachable
        ("d02", "d03"): "red",  # missing at d02
        ("d02", "d04"): "gray55",
        ("d02", "d05"): "red",
        ("d03", "d04"): "red",  # down at d03 beats unknown at d04
        ("d03", "d05"): "red",
        ("d04", "d05"): "red",
    }
    assert "in sync (1)" in dot and "drifted (1)" in dot and "unreachable (6)" in dot
    assert "unknown (2)" in dot
    card = re.search(r'^  "d05" \[.*$', dot, re.M).group(0)
    assert "unreachable" in card and 'color="red"' in card
    tip = re.search(r'"d01" -- "d02" \[.*tooltip="([^"]*)"', dot).group(1)
    assert "drifted: options" in tip


def test_unchecked_status_is_gray_with_its_legend():
    _, plans = fleet(4)
    dot = graph.to_dot(plans)
    assert {colour(attrs) for *_, attrs in tunnel_edges(dot, plans)} == {"gray55"}
    assert "tunnel status not checked (status=True)" in dot
    assert "in sync (" not in dot


def test_extra_ports_show_on_the_host():
    _, plans = fleet(3)
    dot = graph.to_dot(plans, {"d01": {"extra": ["vxlan-0a000063"]}, "d02": {}, "d03": {}})
    assert "1 extra port" in re.search(r'^  "d01" \[.*$', dot, re.M).group(0)
    assert {colour(a) for *_, a in tunnel_edges(dot, plans)} == {"forestgreen"}


# --------------------------------------------------------------------------- escaping


def odd_plans():
    """Plans whose names no pillar would pass: quotes, backslashes (a trailing one too), <&>."""
    _, plans = fleet(3)
    names = dict(zip(sorted(plans), ['we"ird', "back\\slash\\", "<b>&amp;"], strict=True))
    out = {}
    for old, hp in plans.items():
        tunnels = tuple(t._replace(peer=names[t.peer]) for t in hp.tunnels)
        out[names[old]] = dataclasses.replace(hp, host=names[old], tunnels=tunnels)
    members = {'we"ird': [graph.Member('c"1\\', "10.0.0.9")]}
    return out, members


def test_names_are_escaped():
    plans, members = odd_plans()
    dot = graph.to_dot(plans, None, members)
    for name in (*plans, 'c"1\\'):
        assert graph.quote(name) in dot
    assert "&lt;b&gt;&amp;amp;" in dot  # HTML-like labels: entities
    assert len(tunnel_edges(dot, plans)) == 3


@needs_dot
def test_escaped_names_render():
    plans, members = odd_plans()
    svg = render(graph.to_dot(plans, None, members), "svg")
    texts = {t.text for t in ET.fromstring(svg).iter("{http://www.w3.org/2000/svg}text")}
    assert {*plans, 'c"1\\'} <= texts  # every name drawn exactly as it is
    data = json.loads(render(graph.to_dot(plans, None, members), "json"))
    assert len(data["objects"]) == 4 + 2 and len(data["edges"]) == 4  # + 2 legend rows


# --------------------------------------------------------------------------- layout


def dist(p, q):
    return ((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5


def layout_of(dot):
    """Node name -> (x, y) in inches, from the pinned positions."""
    return {
        unquote(name): (float(x), float(y))
        for name, x, y in re.findall(
            r'^  ("(?:[^"\\]|\\.)*") \[.*?pos="([-\d.]+),([-\d.]+)!"', dot, re.M
        )
    }


def busy_fleet(n):
    """``n`` hosts with 0 to 5 containers each."""
    placement = {f"c{h}x{k}": f"d{h:02d}" for h in range(1, n + 1) for k in range(h % 6)}
    return fleet(n, placement)


@pytest.mark.parametrize("n", [2, 3, 4, 5, 7, 12, 16])
def test_layout_is_clear(n):
    inv, plans = busy_fleet(n)
    members = graph.containers_by_host(inv, "br-mesh")
    listed = {h: [m.name for m in ms] for h, ms in members.items()}
    lay = layout.layout(sorted(plans), listed, (1.2, 0.5), (1.1, 0.4))
    assert layout.clear(lay)
    assert sorted(lay.hosts) == sorted(plans)
    for host, names in listed.items():
        assert sorted(lay.members[host]) == sorted(names)


def test_layout_is_deterministic():
    inv, plans = busy_fleet(7)
    members = graph.containers_by_host(inv, "br-mesh")
    assert graph.to_dot(plans, None, members) == graph.to_dot(
        dict(reversed(plans.items())), None, members
    )


def render(dot, fmt):
    return subprocess.run(
        ["dot", f"-T{fmt}"], input=dot, capture_output=True, text=True, check=True
    ).stdout


@needs_dot
@pytest.mark.parametrize("n", [3, 12])
def test_graphviz_keeps_our_layout(n):
    """Rendered by Graphviz: nodes where we pinned them, labels fit their boxes, no overlap."""
    inv, plans = busy_fleet(n)
    dot = graph.to_dot(plans, None, graph.containers_by_host(inv, "br-mesh"))
    boxes = {}
    for line in render(dot, "plain").splitlines():
        if line.startswith("node "):
            _, name, x, y, w, h = shlex.split(line)[:6]
            boxes[name] = layout.Box(float(x), float(y), float(w), float(h))
    assert len(boxes) == len(NODE.findall(dot))
    names = list(boxes)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            assert not layout.overlap(boxes[a], boxes[b], 0.1), (a, b)
    # without fixedsize, Graphviz sizes each node to its label: never bigger than ours
    loose = render(dot.replace("fixedsize=true", "fixedsize=false"), "plain").splitlines()
    for line in loose:
        if line.startswith("node "):
            _, name, _, _, w, h = shlex.split(line)[:6]
            assert float(w) <= boxes[name].w + 0.01 and float(h) <= boxes[name].h + 0.01, name
