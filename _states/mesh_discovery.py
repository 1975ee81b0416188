"""
State for the mesh's DNS and DHCP: this docker host's dnsmasq on the mesh bridge.

.. code-block:: yaml

    # salt/mesh/discovery.sls (included by salt/mesh/init.sls)
    saltmesh-discovery:
      mesh_discovery.managed: []

Every docker host with an ``overlay_address`` answers DNS for every name of the ``servers``
pillar and DHCP for the ``dhcp: true`` containers placed on it (docs/discovery.md). With
discovery off, or on a host without ``overlay_address``, the state removes what an earlier
dnsmasq left (the daemon, its port, its files), then does nothing and says so.
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret

__virtualname__ = "mesh_discovery"


def __virtual__():
    if "saltmesh_discovery.ensure" not in __salt__:
        return False, "mesh_discovery needs the saltmesh_discovery execution module (sync_all)"
    return __virtualname__


def managed(name, host=None, ovsdb=None, netns=None):
    """
    Make this host's dnsmasq serve exactly what the pillar says.

    name
        The state ID; free-form.
    host
        The docker host's name in the ``servers`` pillar. Default: the docker host whose
        ``minion_id`` is this minion's id.
    ovsdb, netns
        Override the minion options ``saltmesh:ovsdb`` and ``saltmesh:netns`` (as
        ``container.placed`` does).

    In order: the OVS internal port ``smdns-<hex>`` on the mesh bridge with the host's
    ``overlay_address``; the configuration (checked with ``dnsmasq --test`` before it replaces
    a working one; each file written only when its text changed); the daemon (started,
    restarted when the main configuration changed, SIGHUP when only the hosts files did).
    ``changes``: ``port``, ``address``, ``config``, ``records`` (``old``/``new`` counts,
    ``added``/``removed`` names), ``dhcp_hosts`` and ``dnsmasq`` (``old``/``new``); when the
    host runs none any more: ``port``, ``dnsmasq`` and ``files`` removed.
    """
    test = bool(__opts__["test"])
    return stateret.from_call(
        name,
        lambda: __salt__["saltmesh_discovery.ensure"](host, test=test, ovsdb=ovsdb, netns=netns),
        test=test,
        expected=(CommandExecutionError,),
    )
