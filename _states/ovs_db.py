"""
Any column of any OVSDB record (Open_vSwitch, Bridge, Port, Interface, ...).

.. code-block:: yaml

    ovs-other-config:
      ovs_db.managed:
        - table: Open_vSwitch
        - record: "."
        - data:
            other_config:
              vlan-limit: "2"
              stale-key: null      # removed

Map columns are reconciled key by key: the keys given are set, a key given as ``null`` is
removed and other keys are left alone. Lists set a set column, ``null`` clears a column,
scalars are set as given.
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret
from saltmesh.ovs import wording

__virtualname__ = "ovs_db"


def __virtual__():
    if "ovs.ensure_record" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def managed(name, table, data, record=None):
    """
    Ensure columns of record ``record`` (default: ``name``) in ``table`` have the given values.

    name
        State ID; also the record when ``record`` is not given.
    table
        OVSDB table name, e.g. ``Open_vSwitch``, ``Bridge``, ``Interface``.
    record
        Record name or UUID (``"."`` for the single Open_vSwitch row).
    data
        ``{column: value}``.

    .. code-block:: yaml

        br0:
          ovs_db.managed:
            - table: Bridge
            - data:
                mcast_snooping_enable: true
                other_config: {mac-table-size: "4096"}
    """
    record = name if record is None else str(record)
    test = bool(__opts__["test"])

    def call():
        out = __salt__["ovs.ensure_record"](table, record, data, test=test)
        return wording.ovs_ret(name, "Record", out["changes"], test, label=f"{table} {record}")

    return stateret.from_call(name, call, test=test, expected=(CommandExecutionError,))
