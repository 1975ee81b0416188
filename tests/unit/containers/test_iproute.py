"""The ip commands of an attachment: link listing, veth creation, the in-container batch."""

from __future__ import annotations

from saltmesh.containers import iproute
from tests.unit.containers.fakes import spec

LINKS = """\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT
7: vsm0123456789ab@if6: <BROADCAST,MULTICAST,UP> mtu 1450 qdisc noqueue master ovs-system
    link/ether 5e:1c:aa:bb:cc:dd brd ff:ff:ff:ff:ff:ff link-netnsid 0
9: ovs-netdev: <BROADCAST,MULTICAST> mtu 1500 qdisc noop state DOWN
"""


def test_link_names():
    assert iproute.link_names(LINKS) == {"lo", "vsm0123456789ab", "ovs-netdev"}
    assert iproute.link_names("") == set()


def test_ip_in_namespace_or_not():
    assert iproute.ip(None, "link", "show") == ["ip", "link", "show"]
    assert iproute.ip("hostA", "link", "show") == ["ip", "-n", "hostA", "link", "show"]


def test_veth_add():
    assert iproute.veth_add("hostA", "vsmX", "vspX", None, 42) == [
        "ip", "-n", "hostA", "link", "add", "vsmX", "mtu", "1500", "type", "veth",
        "peer", "name", "vspX", "mtu", "1500", "netns", "42",
    ]  # fmt: skip
    assert iproute.veth_add(None, "vsmX", "vspX", 1450, 7)[:5] == [
        "ip",
        "link",
        "add",
        "vsmX",
        "mtu",
    ]
    assert "1450" in iproute.veth_add(None, "vsmX", "vspX", 1450, 7)


def test_inside_batch():
    full = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "mac": "02:00:00:00:00:02",
                           "gateway": "10.0.0.1", "interface": "eth1"}]).networks[0]  # fmt: skip
    assert iproute.inside_batch("vspX", full).splitlines() == [
        "link set dev vspX name eth1",
        "link set dev eth1 address 02:00:00:00:00:02",
        "addr add 10.0.0.2/24 dev eth1",
        "link set dev eth1 up",
        "route replace default via 10.0.0.1 dev eth1",
    ]
    bare = spec(networks=[{"bridge": "br0"}]).networks[0]
    assert (
        iproute.inside_batch("vspX", bare) == "link set dev vspX name eth0\nlink set dev eth0 up\n"
    )
