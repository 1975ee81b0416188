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

import ipaddress

from salt.exceptions import CommandExecutionError

from saltmesh.ovs import wording

__virtualname__ = "openvswitch_port"


def __virtual__():
    if "ovs.ensure_port" in __salt__:
        return __virtualname__
    return (False, "the ovs execution module is not available (ovs-vsctl missing?)")


def _int(value, low, high, what):
    if isinstance(value, bool):
        raise ValueError(f"{what} must be an integer between {low} and {high}, got {value!r}")
    try:
        num = int(value)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be an integer between {low} and {high}, got {value!r}"
        ) from None
    if not low <= num <= high:
        raise ValueError(f"{what} must be an integer between {low} and {high}, got {value!r}")
    return num


def _translate(tunnel_type, id, remote, dst_port, internal):  # pylint: disable=redefined-builtin
    """Salt 3007 arguments -> ovs.ensure_port fields."""
    if tunnel_type not in (None, "vlan", "vxlan", "gre"):
        raise ValueError(f"tunnel_type must be one of vlan, vxlan, gre, got {tunnel_type!r}")
    if tunnel_type in ("gre", "vxlan"):
        try:
            ipaddress.ip_address(str(remote))
        except ValueError:
            raise ValueError(f"remote must be an IP address, got {remote!r}") from None
        options = {"remote_ip": str(remote)}
        if id is not None:
            high = 2**32 - 1 if tunnel_type == "gre" else 2**64 - 1
            options["key"] = str(_int(id, 0, high, "id"))
        if tunnel_type == "vxlan" and dst_port not in (None, 0, "0", ""):
            options["dst_port"] = str(_int(dst_port, 1, 65535, "dst_port"))
        return {"type": tunnel_type, "options": options, "options_exact": False}
    fields = {"type": "internal" if internal else None}
    if tunnel_type == "vlan":
        if id is None:
            raise ValueError("id (the VLAN) is required with tunnel_type vlan")
        fields["tag"] = _int(id, 0, 4095, "id (VLAN)")
    return fields


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
    try:
        fields = _translate(tunnel_type, id, remote, dst_port, internal)
    except ValueError as err:
        return wording.ovs_ret(name, "Port", error=f"port {name}: {err}")
    try:
        out = __salt__["ovs.ensure_port"](name, bridge, test=test, cache=True, **fields)
    except CommandExecutionError as err:
        return wording.ovs_ret(name, "Port", error=str(err))
    return wording.ovs_ret(name, "Port", out["changes"], test, iface_errors=out.get("errors"))


def absent(name, bridge=None):
    """
    Ensure port ``name`` is not on ``bridge`` (any bridge when not given).

    .. code-block:: yaml

        gre1:
          openvswitch_port.absent:
            - bridge: br0
    """
    return __states__["ovs_port.absent"](name, bridge=bridge)
