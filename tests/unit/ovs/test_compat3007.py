"""Salt 3007 openvswitch_* arguments -> saltmesh port and bridge fields."""

import pytest

from saltmesh.ovs.compat3007 import bridge_fields, port_fields
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.spec import PortSpec


def test_gre_tunnel():
    assert port_fields("gre1", "gre", 200, "192.0.2.2") == {
        "type": "gre",
        "options": {"remote_ip": "192.0.2.2", "key": "200"},
        "options_exact": False,
    }
    # no id: no key (Salt 3007 failed here)
    assert port_fields("gre1", "gre", remote="192.0.2.2")["options"] == {"remote_ip": "192.0.2.2"}


def test_vxlan_dst_port_only_when_given():
    fields = port_fields("vx1", "vxlan", "5000", "2001:db8::3", dst_port=4789)
    assert fields["options"] == {"remote_ip": "2001:db8::3", "key": "5000", "dst_port": "4789"}
    for none in (None, 0, "0", ""):
        assert "dst_port" not in port_fields("vx1", "vxlan", 1, "192.0.2.3", none)["options"]
    assert port_fields("vx1", "vxlan", 2**64 - 1, "192.0.2.3")["options"]["key"] == str(2**64 - 1)


def test_vlan_and_internal_ports():
    assert port_fields("v10", "vlan", 10) == {"type": None, "tag": 10}
    assert port_fields("v10", "vlan", "10", internal=True) == {"type": "internal", "tag": 10}
    assert port_fields("p1") == {"type": None}
    assert port_fields("p1", internal=True) == {"type": "internal"}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("stt",), "tunnel_type must be one of vlan, vxlan, gre, got 'stt'"),
        (("gre", 1, "not-an-ip"), "remote must be an IP address, got 'not-an-ip'"),
        (("gre", 1), "remote must be an IP address, got None"),
        (("gre", 2**32, "192.0.2.2"), "id must be an integer between 0 and 4294967295"),
        (("gre", True, "192.0.2.2"), "id must be an integer between 0 and 4294967295, got True"),
        (("vxlan", 1, "192.0.2.2", 70000), "dst_port must be an integer between 1 and 65535"),
        (("vlan",), "id (the VLAN) is required with tunnel_type vlan"),
        (("vlan", "x"), "id (VLAN) must be an integer between 0 and 4095, got 'x'"),
    ],
)
def test_bad_arguments(args, message):
    with pytest.raises(SpecError) as err:
        port_fields("p1", *args)
    assert str(err.value).startswith(f"port p1: {message}")


def test_fields_make_a_valid_spec():
    spec = PortSpec(name="gre1", bridge="br0", **port_fields("gre1", "gre", 7, "192.0.2.2"))
    assert spec.problems == () and spec.options_exact is False


def test_bridge_fields():
    assert bridge_fields(datapath_type="netdev") == {
        "datapath_type": "netdev",
        "parent": None,
        "vlan": None,
    }
    # a fake bridge uses its parent's datapath
    assert bridge_fields("br0", 100, "netdev") == {
        "datapath_type": None,
        "parent": "br0",
        "vlan": 100,
    }
