"""
Salt 3007 compatible ``openvswitch_bridge`` states, on the saltmesh OVS core.

Existing SLS keep working unchanged. Differences from Salt 3007: the bridge is created with its
datapath in one transaction (optional ``datapath_type``), a fake bridge whose VLAN differs is
corrected instead of failing, ``test=True`` predicts the exact ``changes``, and ``changes`` are
structured ``{field: {old, new}}``.

.. code-block:: yaml

    br0:
      openvswitch_bridge.present

    br0.100:
      openvswitch_bridge.present:
        - parent: br0
        - vlan: 100

    br-old:
      openvswitch_bridge.absent
"""

from saltmesh.ovs import compat3007

__virtualname__ = "openvswitch_bridge"


def __virtual__():
    if "ovs.ensure_bridge" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def mod_init(low):  # pylint: disable=unused-argument
    """
    Salt calls this once per state run, before the first openvswitch_bridge state: the run starts from a
    fresh OVSDB read, whatever ``__context__`` already held (see the ``ovs`` module).
    """
    return __salt__["ovs.invalidate"]()


def present(name, parent=None, vlan=None, datapath_type=None):
    """
    Ensure bridge ``name`` exists (a fake bridge of ``parent`` on VLAN ``vlan`` when given).

    name
        The bridge name.
    parent
        Parent bridge of a fake bridge (needs ``vlan``).
    vlan
        VLAN id of a fake bridge (needs ``parent``).
    datapath_type
        saltmesh extension: ``system`` or ``netdev``, set in the creating transaction
        (ignored for fake bridges, which use their parent's datapath).

    .. code-block:: yaml

        br0:
          openvswitch_bridge.present:
            - datapath_type: netdev
    """
    return __states__["ovs_bridge.present"](
        name, **compat3007.bridge_fields(parent=parent, vlan=vlan, datapath_type=datapath_type)
    )


def absent(name):
    """
    Ensure bridge ``name`` does not exist.

    .. code-block:: yaml

        br0:
          openvswitch_bridge.absent
    """
    return __states__["ovs_bridge.absent"](name)
