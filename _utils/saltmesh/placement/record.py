"""The placement record: the pillar file ``salt-run placement.apply`` writes (pure text in/out).

.. code-block:: yaml

    saltmesh:
      placement: {web02: docker02}
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import yaml

from saltmesh.errors import SaltmeshError

HEADER = (
    "# Written by `salt-run placement.apply` (saltmesh). Do not edit: containers without\n"
    "# `parents` are placed by rendezvous hashing; include this file from the pillar top.sls.\n"
)


def parse(text: str, source: str = "placement file") -> dict[str, str]:
    """The ``saltmesh:placement`` mapping of a record's text (``{}`` for an empty file)."""
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as err:
        raise SaltmeshError(f"{source}: not valid YAML: {err}") from None
    placement = ((data if isinstance(data, Mapping) else {}).get("saltmesh") or {}).get(
        "placement"
    ) or {}
    if not isinstance(placement, Mapping):
        raise SaltmeshError(f"{source}: saltmesh:placement must be a mapping")
    return {str(k): str(v) for k, v in placement.items()}


def render(placement: Mapping[str, str]) -> str:
    """The record's text: the header, then ``saltmesh:placement`` with sorted keys."""
    body = yaml.safe_dump({"saltmesh": {"placement": dict(placement)}}, default_flow_style=False)
    return HEADER + body


def moves(old: Mapping[str, str], new: Mapping[str, str]) -> dict[str, dict[str, Any]]:
    """``{container: {"old": host, "new": host}}`` for every container whose host changes."""
    return {
        name: {"old": old.get(name), "new": new.get(name)}
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
