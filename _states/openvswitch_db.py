"""
Salt 3007 compatible ``openvswitch_db.managed``, on the saltmesh OVS core.

Unlike Salt 3007, map columns work (reconciled key by key: ``other_config: {foo: bar}`` sets
one key and leaves the others alone) and ``changes`` name only what changed.

.. code-block:: yaml

    Open_vSwitch:
      openvswitch_db.managed:
        - table: Open_vSwitch
        - record: "."
        - data:
            other_config:
              vlan-limit: "2"
"""

__virtualname__ = "openvswitch_db"


def __virtual__():
    if "ovs.ensure_record" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def managed(name, table, data, record=None):
    """
    Ensure the columns in ``data`` of record ``record`` (default ``name``) in ``table``.

    .. code-block:: yaml

        br0:
          openvswitch_db.managed:
            - table: Bridge
            - data:
                fail_mode: secure
    """
    return __states__["ovs_db.managed"](name, table, data, record=record)
