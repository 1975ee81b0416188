"""The inventory: the ``servers`` and ``saltmesh`` pillar parsed into frozen, validated objects.

Every feature (mesh, containers, Nagios) reads the inventory through :func:`parse`, which
validates everything up front and raises one :class:`~saltmesh.errors.PillarError` listing
each problem with its pillar path (``servers:web01:container:networks:0:ip``). Nothing here
touches the system.
"""

from saltmesh.inventory.containers import parse_container
from saltmesh.inventory.model import (
    ContainerSpec,
    Inventory,
    MeshSettings,
    NetworkAttachment,
    Server,
)
from saltmesh.inventory.servers import NODE_TYPES, parse

__all__ = [
    "NODE_TYPES",
    "ContainerSpec",
    "Inventory",
    "MeshSettings",
    "NetworkAttachment",
    "Server",
    "parse",
    "parse_container",
]
