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

from saltmesh import stateret
from saltmesh.ovs import wording

__virtualname__ = "ovs_bridge"


def __virtual__():
    if "ovs.ensure_bridge" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def _run(name, fn, **kwargs):
    test = bool(__opts__["test"])

    def call():
        out = __salt__[fn](name, test=test, cache=True, **kwargs)
        return wording.ovs_ret(name, "Bridge", out["changes"], test)

    return stateret.from_call(name, call, test=test, expected=(CommandExecutionError,))


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
    return _run(
        name,
        "ovs.ensure_bridge",
        **{
            k: v
            for k, v in {
                "datapath_type": datapath_type,
                "fail_mode": fail_mode,
                "protocols": protocols,
                "other_config": other_config,
                "external_ids": external_ids,
                "parent": parent,
                "vlan": vlan,
            }.items()
            if v is not None
        },
    )


def absent(name):
    """
    Ensure bridge ``name`` (real or fake) does not exist; its ports go with it.

    .. code-block:: yaml

        br-old:
          ovs_bridge.absent
    """
    return _run(name, "ovs.remove_bridge")
