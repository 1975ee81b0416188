"""Placement rules in pillar: a docker host's attributes and capacity, a container's
constraints and reservation. Validation only; :mod:`saltmesh.placement` applies them.

.. code-block:: yaml

    docker01: {node_type: docker_host, zone: a, rack: r1, labels: {ssd: "true"},
               capacity: {cpus: 4, memory: 8g}}
    web:
      node_type: app
      constraints:
        - {unique: host}                   # at most one per host
        - {max_per: {zone: 2}}             # at most 2 per zone
        - {spread: zone}                   # even over the zones
        - {match: {labels.ssd: "true"}}    # only there (a list: any of)
        - {avoid: {rack: r9}}              # never there
        - {prefer: {zone: a}, weight: 50}  # soft
      reserve: {cpus: 0.25}                # default: the container's cpus and memory
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from saltmesh.inventory.model import Constraint, Resources
from saltmesh.inventory.reader import Reader
from saltmesh.units import parse_size

CONSTRAINT_KINDS = ("unique", "max_per", "spread", "match", "avoid", "prefer")
COUNTED_KINDS = ("unique", "max_per", "spread")  # rules that count instances per value
_LABEL_KEY_RE = re.compile(r"^[A-Za-z0-9_.-]{1,63}$")
_VALUE_RE = re.compile(r"^[A-Za-z0-9_.:/-]{1,63}$")
WEIGHT_MAX = 1000
CAPACITY_CPUS_MAX = 1_000_000.0


def attribute_problem(name: Any) -> str | None:
    """Why ``name`` is no attribute a rule may name, or None."""
    if name in ("host", "zone", "rack"):
        return None
    if (
        isinstance(name, str)
        and name.startswith("labels.")
        and _LABEL_KEY_RE.match(name[len("labels.") :])
    ):
        return None
    return f"{name!r} is not a host attribute (host, zone, rack, labels.<key>)"


def _value(r: Reader, value: Any, path: str) -> str | None:
    """A label or attribute value: a string, number or boolean (``true``/``false``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)) and _VALUE_RE.match(str(value)):
        return str(value)
    r.bad(path, f"{value!r} must be a short string (letters, digits, '_', '.', ':', '/', '-')")
    return None


def host_attributes(
    r: Reader, data: Mapping[str, Any], path: str
) -> tuple[str | None, str | None, tuple[tuple[str, str], ...]]:
    """``zone``, ``rack`` and ``labels`` of a docker host."""
    zone = _value(r, data["zone"], f"{path}:zone") if data.get("zone") is not None else None
    rack = _value(r, data["rack"], f"{path}:rack") if data.get("rack") is not None else None
    labels = []
    for key, value in sorted((r.mapping(data.get("labels"), f"{path}:labels") or {}).items()):
        if not _LABEL_KEY_RE.match(key):
            r.bad(f"{path}:labels:{key}", f"{key!r} is not a label name")
            continue
        text = _value(r, value, f"{path}:labels:{key}")
        if text is not None:
            labels.append((key, text))
    return zone, rack, tuple(labels)


def _cpus(r: Reader, data: Mapping[str, Any], path: str, positive: bool) -> float | None:
    value = data.get("cpus")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        r.bad(f"{path}:cpus", f"{value!r} must be a number")
        return None
    if value < 0 or (positive and value == 0) or value > CAPACITY_CPUS_MAX:
        r.bad(f"{path}:cpus", f"{value} must be {'>' if positive else '>='} 0")
        return None
    return float(value)


def resources(r: Reader, raw: Any, path: str, positive: bool) -> Resources | None:
    """``{cpus, memory}``: a host's ``capacity`` (positive) or a container's ``reserve``."""
    if raw is None:
        return None
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, ("cpus", "memory"), path)
    memory = None
    if data.get("memory") is not None:
        memory = parse_size(data["memory"])
        if memory is None or (positive and memory == 0):
            r.bad(f"{path}:memory", f"{data['memory']!r} is not a size like 256m or 8g")
            memory = None
    return Resources(cpus=_cpus(r, data, path, positive), memory=memory)


def _attribute(r: Reader, name: Any, path: str) -> str | None:
    problem = attribute_problem(name)
    if problem:
        r.bad(path, problem)
        return None
    return name


def _values(r: Reader, raw: Any, path: str) -> tuple[str, ...]:
    items = raw if isinstance(raw, list) else [raw]
    if not items:
        r.bad(path, "needs at least one value")
    out = [
        _value(r, v, f"{path}:{i}" if isinstance(raw, list) else path) for i, v in enumerate(items)
    ]
    return tuple(v for v in out if v is not None)


def _one(r: Reader, raw: Any, path: str) -> list[Constraint]:
    data = r.mapping(raw, path)
    if data is None:
        return []
    kinds = [k for k in data if k in CONSTRAINT_KINDS]
    r.keys(data, (*CONSTRAINT_KINDS, "weight"), path)
    if len(kinds) != 1:
        r.bad(path, f"needs exactly one of {', '.join(CONSTRAINT_KINDS)}")
        return []
    (kind,) = kinds
    if "weight" in data and kind != "prefer":
        r.bad(f"{path}:weight", "only prefer takes a weight")
    value, kpath = data[kind], f"{path}:{kind}"
    if kind in ("unique", "spread"):
        attr = _attribute(r, value, kpath)
        return (
            [Constraint(kind, attr, count=1 if kind == "unique" else 0, path=path)] if attr else []
        )
    pairs = r.mapping(value, kpath)
    if not pairs:
        if pairs is not None:
            r.bad(kpath, "must name at least one attribute")
        return []
    out = []
    for attr, arg in sorted(pairs.items()):
        if _attribute(r, attr, f"{kpath}:{attr}") is None:
            continue
        if kind == "max_per":
            if isinstance(arg, bool) or not isinstance(arg, int) or arg < 1:
                r.bad(f"{kpath}:{attr}", f"{arg!r} must be a whole number >= 1")
                continue
            out.append(Constraint(kind, attr, count=arg, path=path))
            continue
        weight = 0
        if kind == "prefer":
            weight = data.get("weight", 1)
            if isinstance(weight, bool) or not isinstance(weight, int) or weight == 0:
                r.bad(f"{path}:weight", f"{weight!r} must be a whole number other than 0")
                weight = 1
            elif abs(weight) > WEIGHT_MAX:
                r.bad(f"{path}:weight", f"{weight} is out of range -{WEIGHT_MAX}..{WEIGHT_MAX}")
        values = _values(r, arg, f"{kpath}:{attr}")
        if values:
            out.append(Constraint(kind, attr, values=values, weight=weight, path=path))
    return out


def constraints(r: Reader, raw: Any, path: str) -> tuple[Constraint, ...]:
    """The ``constraints`` list of a container or app."""
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.bad(path, "must be a list of rules like {unique: host}")
        return ()
    out: list[Constraint] = []
    for i, item in enumerate(raw):
        out += _one(r, item, f"{path}:{i}")
    return tuple(out)
