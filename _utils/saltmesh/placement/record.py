"""The placement record: the pillar file ``salt-run placement.apply`` writes (pure text in/out).

.. code-block:: yaml

    saltmesh:
      placement: {web02: docker02, web-1: docker01}
      allocations:     # pool addresses, only when some container takes one from a pool
        web-1: {eth0: {ip: 192.168.77.100, mac: "02:5e:c0:a8:4d:64", pool: overlay}}
      placement_hosts: [docker01, docker02]   # usable then: a host not listed is new
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import yaml

from saltmesh.errors import SaltmeshError

HEADER = (
    "# Written by `salt-run placement.apply` (saltmesh). Do not edit: containers without\n"
    "# `parents` are placed by rules and rendezvous hashing, pool addresses are recorded here;\n"
    "# include this file from the pillar top.sls.\n"
)


def _section(text: str, source: str, key: str) -> Mapping[str, Any]:
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise SaltmeshError(f"{source}: not valid YAML: {err}") from None
    saltmesh = (data if isinstance(data, Mapping) else {}).get("saltmesh") or {}
    section = (saltmesh if isinstance(saltmesh, Mapping) else {}).get(key) or {}
    if not isinstance(section, Mapping):
        raise SaltmeshError(f"{source}: saltmesh:{key} must be a mapping")
    return section


def parse(text: str, source: str = "placement file") -> dict[str, str]:
    """The ``saltmesh:placement`` mapping of a record's text (``{}`` for an empty file)."""
    return {str(k): str(v) for k, v in _section(text, source, "placement").items()}


def parse_allocations(text: str, source: str = "placement file") -> dict[str, Any]:
    """The ``saltmesh:allocations`` mapping of a record's text, as written (``{}`` if none)."""
    return dict(_section(text, source, "allocations"))


def render(
    placement: Mapping[str, str],
    allocations: Mapping[str, Mapping[str, Any]] | None = None,
    hosts: Iterable[str] | None = None,
) -> str:
    """The record's text: the header, then ``saltmesh:placement`` (and ``allocations`` when
    there are any, and ``placement_hosts``: the docker hosts placement could use) with sorted
    keys."""
    section: dict[str, Any] = {"placement": dict(placement)}
    if hosts is not None:
        section["placement_hosts"] = sorted(hosts)
    if allocations:
        section["allocations"] = {
            name: {iface: dict(rec) for iface, rec in ifaces.items()}
            for name, ifaces in allocations.items()
        }
    body = yaml.safe_dump({"saltmesh": section}, default_flow_style=False)
    return HEADER + body


def moves(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``{container: {"old": host, "new": host}}`` for every container whose host changes."""
    return {
        name: {"old": old.get(name), "new": new.get(name)}
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }


def address_changes(
    old: Mapping[str, Mapping[str, Any]], new: Mapping[str, Mapping[str, Any]]
) -> dict[str, dict[str, Any]]:
    """``{container: {"old": {iface: ip}, "new": {iface: ip}}}`` for every address change."""

    def ips(rec: Mapping[str, Any] | None) -> dict[str, str] | None:
        return {i: str(r.get("ip")) for i, r in sorted(rec.items())} if rec else None

    return {
        name: {"old": ips(old.get(name)), "new": ips(new.get(name))}
        for name in sorted(set(old) | set(new))
        if ips(old.get(name)) != ips(new.get(name))
    }
