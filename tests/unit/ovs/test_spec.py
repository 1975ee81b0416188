"""Port and bridge specs: every problem found before anything is written."""

import pytest

from saltmesh.constants import TUNNEL_TYPES
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.port import diff_port
from saltmesh.ovs.spec import BRIDGE_ARGS, PORT_TYPES, TUNNEL_PORT_TYPES, BridgeSpec, PortSpec
from tests.unit.ovs.helpers import make_snap


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"type": "bogus"}, "unknown interface type 'bogus'"),
        ({"type": "gre", "options": {"key": "1"}}, "needs options.remote_ip"),
        ({"type": "patch", "options": {}}, "needs options.peer"),
        ({"tag": 5000}, "not a VLAN id"),
        ({"trunks": [1, "x"]}, "must be VLAN ids"),
        ({"mtu_request": 10}, "not an MTU"),
        ({"vlan_mode": "weird"}, "vlan_mode: 'weird' is not one of"),
        ({"interfaces": ["a"]}, "at least two"),
        ({"lacp": "active"}, "only valid for a bond"),
        ({"options": "remote_ip=1"}, "options must be a mapping"),
        ({"protected": "yes"}, "not a boolean"),
        ({"name": "a-very-long-port-name"}, "longer than 15"),
    ],
)
def test_bad_specs_fail_before_anything(kwargs, message):
    spec = PortSpec(**{"name": "p1", "bridge": "br0", **kwargs})
    with pytest.raises(SpecError, match=message):
        diff_port(spec, make_snap())


def test_long_tunnel_names_are_allowed():
    spec = PortSpec(
        name="a-very-long-tunnel", bridge="br0", type="vxlan", options={"remote_ip": "1.1.1.1"}
    )
    assert diff_port(spec, make_snap())[0]


def test_port_spec_from_loose_arguments():
    spec = PortSpec.from_args("bond0", "br0", "system", interfaces=["eth2", "eth1"], trunks=[5, 3])
    assert (spec.type, spec.interfaces, spec.trunks) == ("", ("eth1", "eth2"), (3, 5))
    with pytest.raises(SpecError, match="^port p1: .*'colour'"):
        PortSpec.from_args("p1", "br0", colour="red")


def test_port_spec_collects_every_problem():
    spec = PortSpec(name="p1", bridge="", tag="x", mtu_request=1)
    assert spec.problems == (
        "bridge: a bridge name is required",
        "tag: 'x' is not a VLAN id (0-4095)",
        "mtu_request: 1 is not an MTU (68-65535)",
    )
    with pytest.raises(SpecError, match="^port p1: bridge: .*; tag: .*; mtu_request: "):
        spec.check()


def test_bridge_spec_normalises_and_validates():
    spec = BridgeSpec("br0", protocols=["OpenFlow13", "OpenFlow10", "OpenFlow13"],
                      other_config={"n": 5, "gone": None}, parent="br1", vlan="10")  # fmt: skip
    assert spec.problems == ()
    assert spec.vlan == 10 and spec.other_config == {"n": "5"}
    assert spec.columns() == {"protocols": ("OpenFlow10", "OpenFlow13")}
    assert BridgeSpec("br0", fail_mode="", datapath_type="netdev").columns() == {
        "datapath_type": "netdev",
        "fail_mode": "",
    }
    bad = BridgeSpec("a-very-long-bridge", vlan="x", parent="br0")
    assert bad.problems == (
        "name: 'a-very-long-bridge' is longer than 15 characters (Linux interface name limit)",
        "vlan: 'x' is not a VLAN id (0-4095)",
        "parent: a fake bridge needs vlan as well",
    )
    assert sorted(BRIDGE_ARGS) == [
        "datapath_type", "external_ids", "fail_mode", "other_config", "parent", "protocols", "vlan",
    ]  # fmt: skip


def test_tunnel_port_types_include_every_mesh_tunnel_type():
    assert set(TUNNEL_TYPES) <= set(TUNNEL_PORT_TYPES) <= set(PORT_TYPES)
