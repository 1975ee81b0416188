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

from salt.exceptions import CommandExecutionError

from saltmesh import ovsdiff

__virtualname__ = "openvswitch_bridge"


def __virtual__():
    if "ovs.ensure_bridge" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def _run(name, fn, **kwargs):
    test = bool(__opts__["test"])
    try:
        out = __salt__[fn](name, test=test, cache=True, **kwargs)
    except CommandExecutionError as err:
        return ovsdiff.state_ret(name, "Bridge", error=str(err))
    return ovsdiff.state_ret(name, "Bridge", out["changes"], test)


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
    kwargs = {"parent": parent, "vlan": vlan}
    if parent is None:
        kwargs["datapath_type"] = datapath_type
    return _run(name, "ovs.ensure_bridge", **{k: v for k, v in kwargs.items() if v is not None})


def absent(name):
    """
    Ensure bridge ``name`` does not exist.

    .. code-block:: yaml

        br0:
          openvswitch_bridge.absent
    """
    return _run(name, "ovs.remove_bridge")
