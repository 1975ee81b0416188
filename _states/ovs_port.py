"""
Open vSwitch ports (system, internal, patch, tunnels, bonds), reconciled in one transaction.

.. code-block:: yaml

    gre-0a000002:
      ovs_port.present:
        - bridge: br-ov
        - type: gre
        - options:
            remote_ip: 10.0.0.2
            key: "5000"
        - protected: true

    bond0:
      ovs_port.present:
        - bridge: br-phy
        - interfaces: [eth1, eth2]
        - bond_mode: balance-tcp
        - lacp: active

    vx-old:
      ovs_port.absent:
        - bridge: br-ov

A new port gets every given column in the same transaction as ``add-port`` (a tunnel is never
up without ``protected``). Existing ports are changed in place (type, options...). A port that
exists on another bridge is moved to ``bridge``. Arguments left out are never touched; a map
given is reconciled exactly (stale keys removed, ``{}`` empties it).
"""

from salt.exceptions import CommandExecutionError

from saltmesh.ovs import batchstate

__virtualname__ = "ovs_port"


def __virtual__():
    if "ovs.ensure_port" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def _run(fun, args):
    """The state's return, alone or batched with its neighbours (:mod:`saltmesh.ovs.batchstate`)."""
    return batchstate.run_for(globals(), fun, args, expected=(CommandExecutionError,))


def mod_init(low):  # pylint: disable=unused-argument
    """
    Salt calls this once per state run, before the first ovs_port state: the run starts from a
    fresh OVSDB read, whatever ``__context__`` already held (see the ``ovs`` module).
    """
    return __salt__["ovs.invalidate"]()


def present(
    name,
    bridge,
    type=None,  # pylint: disable=redefined-builtin
    options=None,
    external_ids=None,
    iface_external_ids=None,
    protected=None,
    tag=None,
    trunks=None,
    vlan_mode=None,
    mtu_request=None,
    bfd=None,
    interfaces=None,
    bond_mode=None,
    lacp=None,
    other_config=None,
):
    """
    Ensure port ``name`` exists on ``bridge`` as described.

    name
        Port name (also the interface name unless ``interfaces`` makes a bond).
    bridge
        The bridge; it must exist (order it after its ``ovs_bridge.present``).
    type
        ``system`` (``""``), ``internal``, ``patch``, ``gre``, ``vxlan``, ``geneve`` (or another
        OVS interface type). Not given: a new port is a system port, an existing port keeps
        its type.
    options
        The whole ``Interface.options`` map: ``remote_ip``, ``local_ip``, ``key``,
        ``dst_port``, ``csum``, ``tos``, ``ttl``, ``df_default``, ``peer`` (patch)...
    protected
        ``true`` on mesh tunnels (split horizon).
    tag, trunks, vlan_mode
        VLAN settings of the Port (``trunks: []`` clears).
    mtu_request
        Interface MTU.
    bfd
        The ``Interface.bfd`` map, e.g. ``{enable: "true", min_tx: "500"}``.
    external_ids, other_config
        Port maps; ``iface_external_ids`` is the Interface's ``external_ids``.
    interfaces, bond_mode, lacp
        A bond: two or more member interfaces, ``balance-tcp``/``balance-slb``/
        ``active-backup``, ``active``/``passive``/``off``.

    .. code-block:: yaml

        vx-0a000002:
          ovs_port.present:
            - bridge: br-ov
            - type: vxlan
            - options: {remote_ip: 10.0.0.2, key: "5000"}
            - protected: true
    """
    return _run("present", locals())


def absent(name, bridge=None):
    """
    Ensure port ``name`` is not on ``bridge`` (on any bridge when ``bridge`` is not given).

    .. code-block:: yaml

        vx-0a000002:
          ovs_port.absent:
            - bridge: br-ov
    """
    return _run("absent", locals())
