"""The ``ip`` commands of an attachment (pure): argument lists and the in-container batch."""

from __future__ import annotations

import re

from saltmesh.inventory import NetworkAttachment

DEFAULT_MTU = 1500

_LINK_RE = re.compile(r"^\d+:\s+([^:@\s]+)")


def link_names(text: str) -> set[str]:
    """Interface names in ``ip -o link show`` output (``vsm1@if2`` -> ``vsm1``)."""
    return {m.group(1) for m in map(_LINK_RE.match, text.splitlines()) if m}


def ip(netns: str | None, *args: str) -> list[str]:
    """``ip`` with ``args``, in network namespace ``netns`` (None: this one)."""
    return ["ip", "-n", netns, *args] if netns else ["ip", *args]


def veth_add(netns: str | None, host: str, peer: str, mtu: int | None, pid: int) -> list[str]:
    """Create veth ``host`` here with its ``peer`` directly in the netns of process ``pid``."""
    mtu_ = str(mtu or DEFAULT_MTU)
    return ip(
        netns, "link", "add", host, "mtu", mtu_, "type", "veth",
        "peer", "name", peer, "mtu", mtu_, "netns", str(pid),
    )  # fmt: skip


def inside_batch(peer: str, net: NetworkAttachment) -> str:
    """The ``ip -batch -`` script run in the container: rename, MAC, address, up, route."""
    lines = [f"link set dev {peer} name {net.interface}"]
    if net.mac:
        lines.append(f"link set dev {net.interface} address {net.mac}")
    if net.ip is not None:
        lines.append(f"addr add {net.ip} dev {net.interface}")
    lines.append(f"link set dev {net.interface} up")
    if net.gateway is not None:
        lines.append(f"route replace default via {net.gateway} dev {net.interface}")
    return "\n".join(lines) + "\n"


def arp_notify(interface: str) -> str:
    """The sysctl (slash form: interface names may hold dots) that has the kernel send a
    gratuitous ARP whenever ``interface`` comes up."""
    return f"net/ipv4/conf/{interface}/arp_notify=1"


def announce_batch(net: NetworkAttachment, gateway: object = None) -> str:
    """The ``ip -batch -`` script that bounces the interface (with ``arp_notify`` on, its up
    sends a gratuitous ARP) and puts the default route back (a down removes it): ``gateway``,
    else the declared one."""
    lines = [f"link set dev {net.interface} down", f"link set dev {net.interface} up"]
    via = gateway if gateway is not None else net.gateway
    if via is not None:
        lines.append(f"route replace default via {via} dev {net.interface}")
    return "\n".join(lines) + "\n"
