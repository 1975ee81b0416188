"""What the highstate gives a minion, from its place in the ``servers`` pillar (pure).

* a docker host: ``mesh`` (its tunnels), ``containers`` (exactly its containers) and
  ``mesh.heal`` (the schedule that re-applies this highstate);
* a Nagios server (a name or minion id in ``saltmesh:nagios:servers``): ``nagios.running``;
* every minion that is a server of the pillar, when there is a Nagios server: ``nagios.nrpe``.
"""

from __future__ import annotations

from saltmesh.inventory import Inventory


def highstate_sls(inv: Inventory, nagios_servers: tuple[str, ...], minion_id: str) -> list[str]:
    """The SLS names ``salt/top.sls`` gives ``minion_id``, in the order they are applied."""
    me = inv.server_for_minion(minion_id)
    sls: list[str] = []
    if me is not None and me.node_type == "docker_host":
        sls += ["mesh", "containers", "mesh.heal"]
    if minion_id in nagios_servers or (me is not None and me.name in nagios_servers):
        sls.append("nagios.running")
    if me is not None and nagios_servers:
        sls.append("nagios.nrpe")
    return sls
