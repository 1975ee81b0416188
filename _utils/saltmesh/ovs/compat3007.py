"""Salt 3007 ``openvswitch_*`` state arguments translated to saltmesh port and bridge fields.

Salt 3007's ``openvswitch_port.present`` takes ``tunnel_type``/``id``/``remote``/``dst_port``/
``internal``; the translation ends in the same OVS state as Salt 3007 (``tunnel_type: gre`` ->
``type=gre options:remote_ip=<remote> options:key=<id>``; ``vxlan`` adds ``options:dst_port``
when given; ``vlan`` -> ``tag=<id>``; ``internal`` -> ``type=internal``). Options are merged
(``options_exact=False``), so options set by others are left alone. Pure.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from saltmesh.ovs.errors import SpecError

TUNNEL_TYPES_3007 = ("vlan", "vxlan", "gre")  # what Salt 3007 accepts as tunnel_type


def bounded_int(value: Any, low: int, high: int, what: str) -> int:
    """``value`` as an integer in ``[low, high]``, else :class:`ValueError` naming ``what``."""
    problem = f"{what} must be an integer between {low} and {high}, got {value!r}"
    if isinstance(value, bool):
        raise ValueError(problem)
    try:
        num = int(value)
    except (TypeError, ValueError):
        raise ValueError(problem) from None
    if not low <= num <= high:
        raise ValueError(problem)
    return num


def remote_ip(remote: Any) -> str:
    """``remote`` as a tunnel's ``remote_ip`` (a plain IP address), else :class:`ValueError`."""
    try:
        ipaddress.ip_address(str(remote))
    except ValueError:
        raise ValueError(f"remote must be an IP address, got {remote!r}") from None
    return str(remote)


def _fields(tunnel_type, id, remote, dst_port, internal) -> dict[str, Any]:
    if tunnel_type not in (None, *TUNNEL_TYPES_3007):
        raise ValueError(
            f"tunnel_type must be one of {', '.join(TUNNEL_TYPES_3007)}, got {tunnel_type!r}"
        )
    if tunnel_type in ("gre", "vxlan"):
        options = {"remote_ip": remote_ip(remote)}
        if id is not None:
            high = 2**32 - 1 if tunnel_type == "gre" else 2**64 - 1
            options["key"] = str(bounded_int(id, 0, high, "id"))
        if tunnel_type == "vxlan" and dst_port not in (None, 0, "0", ""):
            options["dst_port"] = str(bounded_int(dst_port, 1, 65535, "dst_port"))
        return {"type": tunnel_type, "options": options, "options_exact": False}
    fields: dict[str, Any] = {"type": "internal" if internal else None}
    if tunnel_type == "vlan":
        if id is None:
            raise ValueError("id (the VLAN) is required with tunnel_type vlan")
        fields["tag"] = bounded_int(id, 0, 4095, "id (VLAN)")
    return fields


def port_fields(
    name: str,
    tunnel_type: str | None = None,
    id: Any = None,
    remote: Any = None,
    dst_port: Any = None,
    internal: bool = False,
) -> dict[str, Any]:
    """The ``ovs.ensure_port`` fields (``type``, ``options``, ``tag``...) of Salt 3007 arguments.

    Raises :class:`SpecError` (``port <name>: ...``) for arguments Salt 3007 would reject.
    """
    try:
        return _fields(tunnel_type, id, remote, dst_port, internal)
    except ValueError as err:
        raise SpecError(f"port {name}: {err}") from None


def bridge_fields(parent: Any = None, vlan: Any = None, datapath_type: str | None = None) -> dict:
    """The ``ovs_bridge.present`` arguments of Salt 3007 ones plus saltmesh's ``datapath_type``.

    A fake bridge (``parent``) uses its parent's datapath, so ``datapath_type`` is dropped.
    """
    if parent is not None:
        datapath_type = None
    return {"datapath_type": datapath_type, "parent": parent, "vlan": vlan}
