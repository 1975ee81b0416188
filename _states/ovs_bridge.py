"""
Open vSwitch bridges, reconciled in one OVSDB transaction.

.. code-block:: yaml

    br-ov:
      ovs_bridge.present:
        - datapath_type: netdev
        - fail_mode: standalone
        - protocols: [OpenFlow13]
        - other_config:
            hwaddr: "02:00:00:00:00:01"
        - external_ids:
            saltmesh-mesh: prod

    br-old:
      ovs_bridge.absent

A map given (``other_config``, ``external_ids``) is reconciled exactly: stale keys are
removed and ``{}`` empties it. An argument left out (``None``) is never touched.
"""

from salt.exceptions import CommandExecutionError

from saltmesh.ovs import batchstate

__virtualname__ = "ovs_bridge"


def __virtual__():
    if "ovs.ensure_bridge" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def _run(fun, args):
    """The state's return, alone or batched with its neighbours (:mod:`saltmesh.ovs.batchstate`)."""
    return batchstate.run_for(globals(), fun, args, expected=(CommandExecutionError,))


def mod_init(low):  # pylint: disable=unused-argument
    """
    Salt calls this once per state run, before the first ovs_bridge state: the run starts from a
    fresh OVSDB read, whatever ``__context__`` already held (see the ``ovs`` module).
    """
    return __salt__["ovs.invalidate"]()


def present(
    name,
    datapath_type=None,
    fail_mode=None,
    protocols=None,
    other_config=None,
    external_ids=None,
    parent=None,
    vlan=None,
):
    """
    Ensure bridge ``name`` exists with the given columns (created with all of them in one
    transaction).

    name
        Bridge name (15 characters at most).
    datapath_type
        ``system`` (kernel) or ``netdev`` (userspace).
    fail_mode
        ``standalone`` or ``secure``; ``""`` clears it.
    protocols
        OpenFlow versions, e.g. ``[OpenFlow10, OpenFlow13]``; ``[]`` clears them.
    other_config, external_ids
        Maps reconciled exactly.
    parent, vlan
        Make a fake bridge: an internal port of ``parent`` tagged with ``vlan`` (both required).

    .. code-block:: yaml

        br0:
          ovs_bridge.present:
            - datapath_type: netdev
    """
    return _run("present", locals())


def absent(name):
    """
    Ensure bridge ``name`` (real or fake) does not exist; its ports go with it.

    .. code-block:: yaml

        br-old:
          ovs_bridge.absent
    """
    return _run("absent", locals())
