"""The port diff: exact clauses and changes for each rule, no OVS needed."""

import pytest

from saltmesh.ovs.clauses import clauses_text
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.port import diff_port, remove_port
from saltmesh.ovs.schema import Interface, Port
from saltmesh.ovs.spec import PortSpec
from tests.unit.ovs.helpers import GRE, make_snap, tunnel


def test_create_tunnel_sets_everything_in_one_transaction():
    clauses, changes = diff_port(GRE, make_snap())
    assert clauses == [
        ("add-port", "br0", "gre-0a000002", "protected=true"),
        ("set", "Interface", "gre-0a000002", 'type="gre"', 'options:key="5000"',
         'options:remote_ip="10.0.0.2"'),
    ]  # fmt: skip
    assert changes == {
        "port": {"old": None, "new": "gre-0a000002"},
        "bridge": {"old": None, "new": "br0"},
        "type": {"old": None, "new": "gre"},
        "options": {"old": None, "new": {"key": "5000", "remote_ip": "10.0.0.2"}},
        "protected": {"old": None, "new": True},
    }


def test_create_port_with_every_column():
    spec = PortSpec(
        name="vx1", bridge="br0", type="vxlan",
        options={"remote_ip": "10.0.0.9", "local_ip": "10.0.0.1", "dst_port": 4790, "csum": True},
        external_ids={"saltmesh-mesh": "m"}, iface_external_ids={"peer": "h2"},
        tag=5, trunks=[3, 1], vlan_mode="native-untagged", mtu_request=1450,
        bfd={"enable": True}, other_config={"priority-tags": "true"},
    )  # fmt: skip
    clauses, changes = diff_port(spec, make_snap())
    assert clauses == [
        ("add-port", "br0", "vx1", "tag=5", 'vlan_mode="native-untagged"', "trunks=[1,3]",
         'external_ids:saltmesh-mesh="m"', 'other_config:priority-tags="true"'),
        ("set", "Interface", "vx1", 'type="vxlan"', "mtu_request=1450", 'options:csum="true"',
         'options:dst_port="4790"', 'options:local_ip="10.0.0.1"', 'options:remote_ip="10.0.0.9"',
         'bfd:enable="true"', 'external_ids:peer="h2"'),
    ]  # fmt: skip
    assert changes["trunks"] == {"old": None, "new": [1, 3]}
    assert changes["bfd"] == {"old": None, "new": {"enable": "true"}}


def test_in_sync_port_gives_nothing():
    assert diff_port(GRE, make_snap(tunnel())) == ([], {})


def test_none_fields_are_left_alone():
    spec = PortSpec(name="gre-0a000002", bridge="br0", type="gre")
    snap = make_snap(tunnel(options={"remote_ip": "1.2.3.4", "x": "y"}, protected=False, tag=3))
    assert diff_port(spec, snap) == ([], {})


def test_option_drift_is_corrected_in_place():
    snap = make_snap(tunnel(options={"remote_ip": "10.0.0.7", "key": "5000", "tos": "inherit"}))
    clauses, changes = diff_port(GRE, snap)
    assert clauses == [
        ("remove", "Interface", "gre-0a000002", "options", '"tos"'),
        ("set", "Interface", "gre-0a000002", 'options:remote_ip="10.0.0.2"'),
    ]
    assert changes == {
        "options": {
            "old": {"key": "5000", "remote_ip": "10.0.0.7", "tos": "inherit"},
            "new": {"key": "5000", "remote_ip": "10.0.0.2"},
        }
    }


def test_type_change_is_in_place_never_del_add():
    spec = PortSpec(
        name="gre-0a000002", bridge="br0", type="vxlan", options={"remote_ip": "10.0.0.2"}
    )
    clauses, changes = diff_port(spec, make_snap(tunnel()))
    assert clauses == [
        ("set", "Interface", "gre-0a000002", 'type="vxlan"'),
        ("remove", "Interface", "gre-0a000002", "options", '"key"'),
    ]
    assert "del-port" not in clauses_text(clauses)
    assert changes["type"] == {"old": "gre", "new": "vxlan"}


def test_port_columns_update():
    spec = PortSpec(name="gre-0a000002", bridge="br0", protected=True, tag=7, trunks=(), type="gre")
    clauses, changes = diff_port(spec, make_snap(tunnel(protected=False, trunks=(1, 2))))
    assert clauses == [
        ("set", "Port", "gre-0a000002", "protected=true", "tag=7"),
        ("clear", "Port", "gre-0a000002", "trunks"),
    ]
    assert changes == {
        "protected": {"old": False, "new": True},
        "tag": {"old": None, "new": 7},
        "trunks": {"old": [1, 2], "new": []},
    }


def test_port_on_other_bridge_is_moved_keeping_rows():
    clauses, changes = diff_port(GRE, make_snap(tunnel(bridge="br1")))
    assert clauses == [
        ("remove", "Bridge", "br1", "ports", "uuid-gre-0a000002"),
        ("add", "Bridge", "br0", "ports", "uuid-gre-0a000002"),
    ]
    assert changes == {"bridge": {"old": "br1", "new": "br0"}}


def test_patch_port():
    spec = PortSpec(name="patch-a", bridge="br0", type="patch", options={"peer": "patch-b"})
    clauses, _ = diff_port(spec, make_snap())
    assert clauses[1] == ("set", "Interface", "patch-a", 'type="patch"', 'options:peer="patch-b"')


def test_bond_create_and_member_change():
    spec = PortSpec(
        name="bond0",
        bridge="br0",
        interfaces=["eth2", "eth1"],
        bond_mode="balance-tcp",
        lacp="active",
    )
    clauses, changes = diff_port(spec, make_snap())
    assert clauses == [
        ("add-bond", "br0", "bond0", "eth1", "eth2", 'bond_mode="balance-tcp"', 'lacp="active"')
    ]
    assert changes["interfaces"] == {"old": None, "new": ["eth1", "eth2"]}

    bond = Port(name="bond0", uuid="u-b", bridge="br0", interfaces=("eth1", "eth3"),
                bond_mode="balance-tcp", lacp="active", interface_uuids={"eth1": "u1", "eth3": "u3"})  # fmt: skip
    ifaces = [
        Interface(name="eth1", uuid="u1", port="bond0"),
        Interface(name="eth3", uuid="u3", port="bond0"),
    ]
    clauses, changes = diff_port(spec, make_snap((bond, ifaces)))
    assert clauses == [
        ("--id=@smif0", "create", "Interface", 'name="eth2"'),
        ("add", "Port", "bond0", "interfaces", "@smif0"),
        ("remove", "Port", "bond0", "interfaces", "u3"),
    ]
    assert changes == {"interfaces": {"old": ["eth1", "eth3"], "new": ["eth1", "eth2"]}}


def test_bond_member_interface_fields_apply_to_each_member():
    spec = PortSpec(name="bond0", bridge="br0", interfaces=("eth1", "eth2"), mtu_request=9000)
    bond = Port(name="bond0", uuid="u-b", bridge="br0", interfaces=("eth1", "eth2"),
                interface_uuids={"eth1": "u1", "eth2": "u2"})  # fmt: skip
    ifaces = [Interface(name="eth1", uuid="u1", port="bond0", mtu_request=9000),
              Interface(name="eth2", uuid="u2", port="bond0")]  # fmt: skip
    clauses, changes = diff_port(spec, make_snap((bond, ifaces)))
    assert clauses == [("set", "Interface", "eth2", "mtu_request=9000")]
    assert changes == {"mtu_request": {"old": {"eth2": None}, "new": {"eth2": 9000}}}


def test_a_bond_without_interfaces_given_keeps_its_members_and_gets_the_fields():
    spec = PortSpec(name="bond0", bridge="br0", type="internal", mtu_request=9000)
    bond = Port(name="bond0", uuid="u-b", bridge="br0", interfaces=("eth1", "eth2"),
                interface_uuids={"eth1": "u1", "eth2": "u2"})  # fmt: skip
    ifaces = [Interface(name="eth1", uuid="u1", port="bond0", type="internal", mtu_request=9000),
              Interface(name="eth2", uuid="u2", port="bond0")]  # fmt: skip
    clauses, changes = diff_port(spec, make_snap((bond, ifaces)))
    assert clauses == [("set", "Interface", "eth2", 'type="internal"'),
                       ("set", "Interface", "eth2", "mtu_request=9000")]  # fmt: skip
    assert changes == {
        "type": {"old": {"eth2": "system"}, "new": {"eth2": "internal"}},
        "mtu_request": {"old": {"eth2": None}, "new": {"eth2": 9000}},
    }


def test_a_move_never_changes_the_type_in_the_same_transaction():
    snap = make_snap(tunnel(bridge="br0", type="gre"))
    spec = PortSpec(name="gre-0a000002", bridge="br1", type="internal")
    with pytest.raises(SpecError, match=r"from bridge br0 to br1 and changing its type "
                       r"\(gre -> internal\) in one transaction crashes ovs-vswitchd"):  # fmt: skip
        diff_port(spec, snap)
    moved = PortSpec(name="gre-0a000002", bridge="br1", type="gre")  # same type: moved
    assert diff_port(moved, snap)[1] == {"bridge": {"old": "br0", "new": "br1"}}
    untyped = PortSpec(name="gre-0a000002", bridge="br1", type=None)  # type left alone
    assert diff_port(untyped, snap)[1] == {"bridge": {"old": "br0", "new": "br1"}}


def test_options_merge_mode_leaves_foreign_keys():
    spec = PortSpec(name="gre-0a000002", bridge="br0", type="gre", options={"remote_ip": "10.0.0.2"},
                    options_exact=False)  # fmt: skip
    snap = make_snap(tunnel(options={"remote_ip": "10.0.0.2", "df_default": "false"}))
    assert diff_port(spec, snap) == ([], {})


def test_type_none_leaves_type_alone_but_creates_system_port():
    spec = PortSpec(name="p1", bridge="br0", type=None)
    assert diff_port(spec, make_snap(tunnel(name="p1", type="internal", options={}))) == ([], {})
    assert diff_port(spec, make_snap())[0] == [("add-port", "br0", "p1")]


def test_port_errors_against_the_snapshot():
    with pytest.raises(SpecError, match="bridge nobr does not exist"):
        diff_port(PortSpec(name="p", bridge="nobr"), make_snap())
    with pytest.raises(SpecError, match="that name is a bridge"):
        diff_port(PortSpec(name="br1", bridge="br0"), make_snap())
    bond = Port(name="bond0", uuid="u", bridge="br0", interfaces=("eth1", "eth2"))
    snap = make_snap((bond, [Interface(name="eth1", uuid="u1", port="bond0")]))
    with pytest.raises(SpecError, match="interface eth1 already belongs to port bond0"):
        diff_port(PortSpec(name="eth1", bridge="br0"), snap)


def test_remove_port():
    snap = make_snap(tunnel())
    assert remove_port("gre-0a000002", snap) == (
        [("del-port", "br0", "gre-0a000002")],
        {"port": {"old": "gre-0a000002", "new": None}},
    )
    assert remove_port("gre-0a000002", snap, bridge="br1") == ([], {})
    assert remove_port("nope", snap) == ([], {})


def test_null_map_value_means_absent():
    spec = PortSpec(
        name="gre-0a000002",
        bridge="br0",
        type="gre",
        options={"remote_ip": "10.0.0.2", "key": None},
    )
    clauses, changes = diff_port(spec, make_snap(tunnel()))
    assert clauses == [("remove", "Interface", "gre-0a000002", "options", '"key"')]
    assert changes["options"]["new"] == {"remote_ip": "10.0.0.2"}
