"""Apps (``node_type: app``): one pillar entry, ``instances`` containers named ``<app>-1`` ...
``<app>-N`` that everything else (containers state, mesh, Nagios) sees as ordinary containers.

.. code-block:: yaml

    web:
      node_type: app
      instances: 3                 # web-1, web-2, web-3
      constraints: [{unique: host}]
      container: {image: local/busybox:latest, cpus: 0.5, memory: 256m,
                  networks: [{bridge: br-mesh, pool: overlay}]}

An instance's address is its first pool address (Nagios uses it), else its name.
"""

from __future__ import annotations

from collections.abc import Container

from saltmesh.inventory.containers import container_name_problem
from saltmesh.inventory.model import Server, with_
from saltmesh.inventory.reader import Reader

INSTANCES_MAX = 10_000


def instance_name(app: str, index: int) -> str:
    """The container name of instance ``index`` (from 1) of ``app``."""
    return f"{app}-{index}"


def instance_index(name: str) -> int:
    """The instance number in an instance's name (0 when it has none)."""
    tail = name.rpartition("-")[2]
    return int(tail) if tail.isdigit() else 0


def expand(r: Reader, template: Server, count: int, taken: Container[str]) -> list[Server]:
    """The instances of app ``template.name``: containers with its settings, ``app`` set,
    parents and minion ids of their own, and no address yet unless they have no pool."""
    path = f"servers:{template.name}"
    names = [instance_name(template.name, i) for i in range(1, count + 1)]
    if names:
        problem = container_name_problem(names[-1])
        if problem:
            r.bad(f"{path}:instances", f"instance {names[-1]!r}: {problem}")
            return []
    clash = [n for n in names if n.lower() in taken]
    if clash:
        r.bad(f"{path}:instances", f"instance {clash[0]!r} is already a server name")
        return []
    has_pool = bool(template.container and any(n.pool for n in template.container.networks))
    return [
        with_(
            template,
            name=name,
            node_type="container",
            minion_id=name,
            address="" if has_pool else name,
            app=template.name,
        )
        for name in names
    ]
