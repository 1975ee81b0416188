"""The OVS record of an attachment (pure): its port spec, and whether a snapshot shows it intact.

The port's ``external_ids`` name the container and interface; the interface's also record the
container's PID and a fingerprint of the declared settings. A different PID (the container
restarted), fingerprint (the declaration changed) or a missing host veth means: re-attach.
"""

from __future__ import annotations

import hashlib
from typing import Any

from saltmesh.containers.names import host_ifname
from saltmesh.inventory import NetworkAttachment
from saltmesh.ovs.schema import Snapshot
from saltmesh.ovs.spec import PortSpec

EXT_CONTAINER = "saltmesh-container"
EXT_IFACE = "saltmesh-iface"
EXT_PID = "saltmesh-pid"
EXT_CONFIG = "saltmesh-config"


def fingerprint(net: NetworkAttachment) -> str:
    """A short hash of every declared setting: a change means re-attach."""
    text = "|".join(
        str(v) for v in (net.bridge, net.interface, net.ip, net.mac, net.gateway, net.mtu, net.vlan)
    )
    if net.dhcp:  # only then: the fingerprints of existing attachments stay as they were
        text += "|dhcp"
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def describe(net: NetworkAttachment) -> dict[str, Any]:
    """The attachment as reported in ``changes``."""
    out: dict[str, Any] = {"bridge": net.bridge}
    for key in ("ip", "mac", "gateway", "vlan", "mtu", "rate", "burst"):
        value = getattr(net, key)
        if value is not None:
            out[key] = str(value) if key in ("ip", "gateway") else value
    if net.dhcp:
        out["dhcp"] = True
    return out


def port_spec(container: str, net: NetworkAttachment, pid: int) -> PortSpec:
    """The OVS port (and interface) of ``container``'s attachment ``net`` while it runs as ``pid``."""
    return PortSpec(
        name=host_ifname(container, net.interface),
        bridge=net.bridge,
        tag=net.vlan,
        external_ids={EXT_CONTAINER: container, EXT_IFACE: net.interface},
        iface_external_ids={
            "container_id": container,  # the keys ovs-docker uses, so its tools find ours
            "container_iface": net.interface,
            EXT_CONTAINER: container,
            EXT_IFACE: net.interface,
            EXT_PID: str(pid),
            EXT_CONFIG: fingerprint(net),
        },
    )


def check(
    container: str, net: NetworkAttachment, pid: int, snap: Snapshot, links: set[str]
) -> str | None:
    """Why the attachment must be (re)done, or None when it is intact."""
    name = host_ifname(container, net.interface)
    port = snap.ports.get(name)
    iface = snap.interfaces.get(name)
    if port is None or iface is None:
        return "not attached"
    ext = iface.external_ids
    if ext.get(EXT_CONTAINER) != container:
        return "port belongs to another container"
    if ext.get(EXT_CONFIG) != fingerprint(net) or port.bridge != net.bridge:
        return "settings changed"
    if ext.get(EXT_PID) != str(pid):
        return "container restarted"
    if name not in links:
        return "host veth missing"
    return None


def owned_ports(snap: Snapshot, container: str | None = None) -> dict[str, str]:
    """Ports carrying our container external_ids: port name -> container name.

    With ``container``: only that container's ports.
    """
    return {
        name: owner
        for name, port in sorted(snap.ports.items())
        if (owner := port.external_ids.get(EXT_CONTAINER))
        and (container is None or owner == container)
    }
