"""The OVS record of an attachment: port spec, intact or not, owned ports."""

from __future__ import annotations

from saltmesh.containers import names, ports
from saltmesh.ovs.schema import Interface, Port, Snapshot
from tests.unit.containers.fakes import spec


def _snap(net, container="web01", pid=42, bridge=None):
    name = names.host_ifname(container, net.interface)
    ext = ports.port_spec(container, net, pid).iface_external_ids
    return Snapshot(
        ports={name: Port(name, "u1", bridge=bridge or net.bridge,
                          external_ids={ports.EXT_CONTAINER: container})},
        interfaces={name: Interface(name, "u2", external_ids=dict(ext), port=name)},
    )  # fmt: skip


def test_attachment_check():
    net = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24"}]).networks[0]
    name = names.host_ifname("web01", "eth0")
    snap = _snap(net)
    assert ports.check("web01", net, 42, snap, {name}) is None
    assert ports.check("web01", net, 43, snap, {name}) == "container restarted"
    assert ports.check("web01", net, 42, snap, set()) == "host veth missing"
    assert ports.check("web01", net, 42, Snapshot(), {name}) == "not attached"
    moved = spec(networks=[{"bridge": "br0", "ip": "10.0.0.3/24"}]).networks[0]
    assert ports.check("web01", moved, 42, snap, {name}) == "settings changed"
    assert ports.owned_ports(snap) == {name: "web01"}


def test_check_other_owner_and_bridge():
    net = spec(networks=[{"bridge": "br0"}]).networks[0]
    name = names.host_ifname("web01", "eth0")
    snap = _snap(net)
    assert ports.check("web02", net, 42, snap, {name}) == "not attached"  # another name
    iface = snap.interfaces[name]
    stolen = Snapshot(
        ports=snap.ports,
        interfaces={name: Interface(name, "u2", port=name, external_ids={
            **iface.external_ids, ports.EXT_CONTAINER: "web02"})},
    )  # fmt: skip
    assert ports.check("web01", net, 42, stolen, {name}) == "port belongs to another container"
    assert ports.check("web01", net, 42, _snap(net, bridge="br1"), {name}) == "settings changed"


def test_owned_ports_of_one_container():
    snap = Snapshot(
        ports={
            "vsmb": Port("vsmb", "u1", external_ids={ports.EXT_CONTAINER: "web02"}),
            "vsma": Port("vsma", "u2", external_ids={ports.EXT_CONTAINER: "web01"}),
            "eth9": Port("eth9", "u3"),
            "vsmc": Port("vsmc", "u4", external_ids={ports.EXT_CONTAINER: ""}),
        }
    )
    assert ports.owned_ports(snap) == {"vsma": "web01", "vsmb": "web02"}
    assert list(ports.owned_ports(snap)) == ["vsma", "vsmb"]
    assert ports.owned_ports(snap, "web02") == {"vsmb": "web02"}
    assert ports.owned_ports(snap, "ghost") == {}


def test_port_spec_and_describe():
    net = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "vlan": 7, "mtu": 1450}]).networks[
        0
    ]
    port = ports.port_spec("web01", net, 42)
    assert port.name == names.host_ifname("web01", "eth0") and port.tag == 7
    assert port.external_ids == {ports.EXT_CONTAINER: "web01", ports.EXT_IFACE: "eth0"}
    ext = port.iface_external_ids
    assert ext["container_id"] == "web01" and ext[ports.EXT_PID] == "42"
    assert ext[ports.EXT_CONFIG] == ports.fingerprint(net)
    assert ports.describe(net) == {"bridge": "br0", "ip": "10.0.0.2/24", "vlan": 7, "mtu": 1450}
    other = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24", "vlan": 8}]).networks[0]
    assert ports.fingerprint(other) != ports.fingerprint(net)
