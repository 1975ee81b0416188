"""
Salt 3007 compatible ``openvswitch_port`` states, on the saltmesh OVS core.

Existing SLS keep working unchanged and end in the same OVS state as with Salt 3007
(``tunnel_type: gre`` -> ``type=gre options:remote_ip=<remote> options:key=<id>``;
``vxlan`` adds ``options:dst_port`` when given; ``vlan`` -> ``tag=<id>``; ``internal`` ->
``type=internal``). Fixed: GRE without ``id`` and VXLAN without ``dst_port`` work; no ``dig``
dependency; options set by others (``local_ip``, ``df_default``...) are left alone and do not
cause a change on every run; a port is created in one transaction without ERROR log lines;
``test=True`` predicts the exact ``changes``; ``changes`` are structured ``{field: {old, new}}``.

.. code-block:: yaml

    gre1:
      openvswitch_port.present:
        - bridge: br0
        - tunnel_type: gre
        - id: 200
        - remote: 192.0.2.2

    vlan-port:
      openvswitch_port.present:
        - bridge: br0
        - tunnel_type: vlan
        - id: 10
        - internal: true
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret
from saltmesh.errors import SaltmeshError
from saltmesh.ovs import compat3007, wording

__virtualname__ = "openvswitch_port"


def __virtual__():
    if "ovs.ensure_port" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def mod_init(low):  # pylint: disable=unused-argument
    """
    Salt calls this once per state run, before the first openvswitch_port state: the run starts from a
    fresh OVSDB read, whatever ``__context__`` already held (see the ``ovs`` module).
    """
    return __salt__["ovs.invalidate"]()


def present(name, bridge, tunnel_type=None, id=None, remote=None, dst_port=None, internal=False):  # pylint: disable=redefined-builtin
    """
    Ensure port ``name`` exists on ``bridge``.

    name
        The port name.
    bridge
        The bridge (must exist).
    tunnel_type
        ``gre``, ``vxlan`` or ``vlan`` (an access port tagged ``id``).
    id
        GRE/VXLAN key, or the VLAN id.
    remote
        Remote IP address of a tunnel.
    dst_port
        VXLAN UDP port.
    internal
        Make the interface ``internal``.

    .. code-block:: yaml

        vxlan1:
          openvswitch_port.present:
            - bridge: br0
            - tunnel_type: vxlan
            - id: 5000
            - remote: 192.0.2.3
            - dst_port: 4789
    """
    test = bool(__opts__["test"])

    def call():
        fields = compat3007.port_fields(name, tunnel_type, id, remote, dst_port, internal)
        out = __salt__["ovs.ensure_port"](name, bridge, test=test, cache=True, **fields)
        return wording.ovs_ret(name, "Port", out["changes"], test, iface_errors=out.get("errors"))

    return stateret.from_call(
        name, call, test=test, expected=(CommandExecutionError, SaltmeshError)
    )


def absent(name, bridge=None):
    """
    Ensure port ``name`` is not on ``bridge`` (any bridge when not given).

    .. code-block:: yaml

        gre1:
          openvswitch_port.absent:
            - bridge: br0
    """
    return __states__["ovs_port.absent"](name, bridge=bridge)
