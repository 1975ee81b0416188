"""Where the mesh picture puts things (pure geometry, inches, y upwards).

Hosts sit around a circle in the given order, clockwise from the top. Each host's card touches
the circle from outside at the compass point that faces the centre (its tunnels end there), so
every tunnel is a chord inside the circle and no chord can cross a card; a card's containers
go beyond it. The radius grows until :func:`clear`: no two nodes closer than :data:`GAP`, no
tunnel or container link through a node it does not end at.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

GAP = 0.16  # inches kept between two nodes, and between a node and a line it does not end at
MIN_RADIUS = 1.5  # inches: even 2 or 3 hosts get tunnels long enough to see their colour


class Box(NamedTuple):
    """A node: centre and size."""

    x: float
    y: float
    w: float
    h: float


_COMPASS = {  # compass point -> (direction in radians, unit offset of the point on a box)
    "e": (0.0, (1, 0)),
    "ne": (math.pi / 4, (1, 1)),
    "n": (math.pi / 2, (0, 1)),
    "nw": (3 * math.pi / 4, (-1, 1)),
    "w": (math.pi, (-1, 0)),
    "sw": (-3 * math.pi / 4, (-1, -1)),
    "s": (-math.pi / 2, (0, -1)),
    "se": (-math.pi / 4, (1, -1)),
}


def inner_port(theta: float) -> str:
    """The compass point of a card at angle ``theta`` that faces the centre of the circle."""
    inward = theta + math.pi

    def gap(item):
        d = (item[1][0] - inward) % (2 * math.pi)
        return min(d, 2 * math.pi - d)

    return min(_COMPASS.items(), key=gap)[0]


def host_angle(index: int, count: int) -> float:
    """Hosts clockwise from the top, in name order."""
    return math.pi / 2 - 2 * math.pi * index / count


def overlap(p: Box, q: Box, gap: float = GAP) -> bool:
    """Whether two boxes are closer than ``gap``."""
    gap -= 1e-6  # boxes exactly ``gap`` apart are clear, whatever the rounding
    return abs(p.x - q.x) < (p.w + q.w) / 2 + gap and abs(p.y - q.y) < (p.h + q.h) / 2 + gap


def crosses(a: tuple[float, float], b: tuple[float, float], box: Box, gap: float = GAP) -> bool:
    """Whether the segment a-b passes through ``box`` grown by ``gap`` (Liang-Barsky)."""
    (x0, y0), (x1, y1) = a, b
    dx, dy = x1 - x0, y1 - y0
    lo, hi = 0.0, 1.0
    half_w, half_h = box.w / 2 + gap, box.h / 2 + gap
    for p, q in (
        (-dx, x0 - (box.x - half_w)),
        (dx, (box.x + half_w) - x0),
        (-dy, y0 - (box.y - half_h)),
        (dy, (box.y + half_h) - y0),
    ):
        if p == 0:
            if q < 0:
                return False
            continue
        t = q / p
        if p < 0:
            lo = max(lo, t)
        else:
            hi = min(hi, t)
        if lo > hi:
            return False
    return True


def _member_offsets(
    u: tuple[float, float], count: int, card: tuple[float, float], member: tuple[float, float]
) -> list[tuple[float, float]]:
    """Where a card's containers go, relative to the card's centre: one row (above or below)
    for cards at the top or bottom of the circle, one column (left or right) for cards at its
    sides, leaning outwards, pushed out until clear of the card, of the circle's inside, and
    until no line from the card to one container crosses another."""
    ux, uy = u
    cw, ch = member
    rows = abs(uy) >= abs(ux)
    step = cw + GAP if rows else ch + GAP
    lean = (ux if rows else uy) * (count - 1) * step / 4
    line = [(i - (count - 1) / 2) * step + lean for i in range(count)]
    grid = [(a, 0.0) if rows else (0.0, a) for a in line]
    card_box = Box(0.0, 0.0, *card)
    # The card's inner side touches the circle: what lies beyond the tangent there is outside.
    inner = min(ux * sx * card[0] / 2 + uy * sy * card[1] / 2 for sx in (-1, 1) for sy in (-1, 1))
    # pushed straight away from the card: up or down for a row, sideways for a column
    px, py = (0.0, 1.0 if uy >= 0 else -1.0) if rows else (1.0 if ux >= 0 else -1.0, 0.0)
    push = 0.0
    while True:
        boxes = [Box(gx + push * px, gy + push * py, cw, ch) for gx, gy in grid]
        clear = not any(overlap(card_box, b, GAP * 1.5) for b in boxes)
        outside = all(
            ux * (b.x + sx * cw / 2) + uy * (b.y + sy * ch / 2) >= inner + GAP
            for b in boxes
            for sx in (-1, 1)
            for sy in (-1, 1)
        )
        fan = not any(
            crosses((0.0, 0.0), (b.x, b.y), other, GAP / 3)
            for b in boxes
            for other in boxes
            if other is not b
        )
        if clear and outside and fan:
            return [(b.x, b.y) for b in boxes]
        push += 0.02


@dataclass(frozen=True)
class Layout:
    hosts: dict[str, Box]
    members: dict[str, dict[str, Box]]  # host -> container name -> box
    ports: dict[str, str]  # host -> compass point its tunnels end at
    radius: float


def layout(
    hosts: Sequence[str],
    members: Mapping[str, Sequence[str]],
    card: tuple[float, float],
    member: tuple[float, float] | Mapping[str, tuple[float, float]],
) -> Layout:
    """Positions (inches) for ``hosts`` (cards of size ``card``) and their ``members`` (nodes
    of size ``member``, or of ``member[host]`` per host)."""
    hosts = list(hosts)
    if isinstance(member, tuple):
        member = dict.fromkeys(hosts, member)
    n = len(hosts)
    angles = {h: host_angle(i, n) for i, h in enumerate(hosts)}
    ports = {h: inner_port(angles[h]) if n > 1 else "c" for h in hosts}
    offsets = {
        h: _member_offsets(
            (math.cos(angles[h]), math.sin(angles[h])) if n > 1 else (0.0, -1.0),
            len(members.get(h, ())),
            card,
            member.get(h, (1.0, 0.4)),
        )
        for h in hosts
    }
    radius = max(MIN_RADIUS, max(card) * n / (2 * math.pi)) if n > 1 else 0.0
    for _ in range(400):
        placed = _place(hosts, members, angles, ports, offsets, card, member, radius)
        if n < 2 or clear(placed):
            return placed
        radius *= 1.03
    return placed


def _place(hosts, members, angles, ports, offsets, card, member, radius) -> Layout:
    cards, boxes = {}, {}
    for h in hosts:
        if radius:
            px, py = _COMPASS[ports[h]][1]
            x = radius * math.cos(angles[h]) - px * card[0] / 2
            y = radius * math.sin(angles[h]) - py * card[1] / 2
        else:
            x = y = 0.0
        cards[h] = Box(round(x, 3), round(y, 3), *card)
        boxes[h] = {
            name: Box(round(x + dx, 3), round(y + dy, 3), *member[h])
            for name, (dx, dy) in zip(members.get(h, ()), offsets[h], strict=True)
        }
    return Layout(cards, boxes, ports, radius)


def port_point(lay: Layout, host: str) -> tuple[float, float]:
    box = lay.hosts[host]
    px, py = _COMPASS[lay.ports[host]][1] if lay.ports[host] in _COMPASS else (0, 0)
    return box.x + px * box.w / 2, box.y + py * box.h / 2


def clear(lay: Layout) -> bool:
    """No two nodes overlap; no tunnel or container link crosses a node it does not end at."""
    owned = [(h, b) for h, b in lay.hosts.items()] + [
        (h, b) for h, boxes in lay.members.items() for b in boxes.values()
    ]
    for i, (_, p) in enumerate(owned):
        for _, q in owned[i + 1 :]:
            if overlap(p, q):
                return False
    names = sorted(lay.hosts)
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            ends = (port_point(lay, a), port_point(lay, b))
            for h, box in lay.hosts.items():
                if h not in (a, b) and crosses(*ends, box):
                    return False
    for h, boxes in lay.members.items():
        centre = (lay.hosts[h].x, lay.hosts[h].y)
        for box in boxes.values():
            for other, obox in owned:
                if other != h and crosses(centre, (box.x, box.y), obox):
                    return False
    return True
