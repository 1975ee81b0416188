"""The pure OVS diff: exact clauses and changes for each rule, no OVS needed."""

import pytest

from saltmesh.ovsdb import Bridge, Interface, Port, Snapshot
from saltmesh.ovsdiff import (
    PortSpec,
    SpecError,
    clauses_text,
    diff_bridge,
    diff_map,
    diff_port,
    diff_record,
    fmt_value,
    quote,
    remove_bridge,
    remove_port,
    state_ret,
)


def make_snap(*ports: tuple[Port, list[Interface]], bridges=("br0", "br1"), **br_cols) -> Snapshot:
    plist = {p.name: p for p, _ in ports}
    ifaces = {i.name: i for _, ilist in ports for i in ilist}
    brs = {
        b: Bridge(
            name=b,
            uuid=f"uuid-{b}",
            ports=tuple(sorted(n for n, p in plist.items() if p.bridge == b)),
            **br_cols,
        )
        for b in bridges
    }
    return Snapshot(bridges=brs, ports=plist, interfaces=ifaces)


def tunnel(name="gre-0a000002", bridge="br0", type="gre", options=None, protected=True, **port):
    opts = {"remote_ip": "10.0.0.2", "key": "5000"} if options is None else options
    return (
        Port(name=name, uuid=f"uuid-{name}", bridge=bridge, interfaces=(name,), protected=protected,
             interface_uuids={name: f"iuuid-{name}"}, **port),
        [Interface(name=name, uuid=f"iuuid-{name}", type=type, options=opts, port=name)],
    )  # fmt: skip


GRE = PortSpec(
    name="gre-0a000002",
    bridge="br0",
    type="gre",
    options={"remote_ip": "10.0.0.2", "key": 5000},
    protected=True,
)


# --- values --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "text"),
    [
        ("10.0.0.1", '"10.0.0.1"'),
        ('a"b\\c', '"a\\"b\\\\c"'),
        ("x y,z=1", '"x y,z=1"'),
        (True, "true"),
        (5, "5"),
        (["OpenFlow13", "OpenFlow10"], '["OpenFlow10","OpenFlow13"]'),
        ({"b": 1, "a": True}, '{"a"="true","b"="1"}'),
    ],
)
def test_fmt_value_quotes_for_ovs_vsctl(value, text):
    assert fmt_value(value) == text


def test_quote_is_json_string():
    assert quote("-- del-br br0") == '"-- del-br br0"'


# --- maps ----------------------------------------------------------------------------------


def test_diff_map_exact_sets_changed_and_removes_stale():
    clauses, changes = diff_map(
        "Interface", "p", "options", {"remote_ip": "10.0.0.3", "key": "5"},
        {"remote_ip": "10.0.0.2", "key": "5", "df_default": "false"},
    )  # fmt: skip
    assert clauses == [
        ("remove", "Interface", "p", "options", '"df_default"'),
        ("set", "Interface", "p", 'options:remote_ip="10.0.0.3"'),
    ]
    assert changes == {
        "options": {
            "old": {"df_default": "false", "key": "5", "remote_ip": "10.0.0.2"},
            "new": {"key": "5", "remote_ip": "10.0.0.3"},
        }
    }


def test_diff_map_empty_means_clear_none_means_leave():
    assert diff_map("Port", "p", "external_ids", {}, {"a": "1"})[0] == [
        ("remove", "Port", "p", "external_ids", '"a"')
    ]
    assert diff_map("Port", "p", "external_ids", None, {"a": "1"}) == ([], {})
    assert diff_map("Port", "p", "external_ids", {"a": "1"}, {"a": "1"}) == ([], {})


def test_diff_map_key_by_key():
    clauses, changes = diff_map(
        "Open_vSwitch", ".", "other_config", {"foo": "bar", "gone": None, "absent": None},
        {"gone": "1", "keep": "2"}, exact=False,
    )  # fmt: skip
    assert clauses == [
        ("remove", "Open_vSwitch", ".", "other_config", '"gone"'),
        ("set", "Open_vSwitch", ".", 'other_config:foo="bar"'),
    ]
    assert changes == {
        "other_config": {"old": {"foo": None, "gone": "1"}, "new": {"foo": "bar", "gone": None}}
    }


def test_odd_map_keys_are_quoted():
    clauses, _ = diff_map("Interface", "p", "external_ids", {"a b": 'x"y'}, {})
    assert clauses == [("set", "Interface", "p", 'external_ids:"a b"="x\\"y"')]


# --- ports ---------------------------------------------------------------------------------


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


def test_options_merge_mode_leaves_foreign_keys():
    spec = PortSpec(name="gre-0a000002", bridge="br0", type="gre", options={"remote_ip": "10.0.0.2"},
                    options_exact=False)  # fmt: skip
    snap = make_snap(tunnel(options={"remote_ip": "10.0.0.2", "df_default": "false"}))
    assert diff_port(spec, snap) == ([], {})


def test_type_none_leaves_type_alone_but_creates_system_port():
    spec = PortSpec(name="p1", bridge="br0", type=None)
    assert diff_port(spec, make_snap(tunnel(name="p1", type="internal", options={}))) == ([], {})
    assert diff_port(spec, make_snap())[0] == [("add-port", "br0", "p1")]


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


# --- bridges -------------------------------------------------------------------------------


def test_create_bridge_in_one_transaction():
    clauses, changes = diff_bridge(
        "br9", make_snap(), datapath_type="netdev", fail_mode="secure", protocols=["OpenFlow13"],
        other_config={"hwaddr": "02:00:00:00:00:01"}, external_ids={},
    )  # fmt: skip
    assert clauses == [
        ("add-br", "br9"),
        ("set", "Bridge", "br9", 'datapath_type="netdev"', 'fail_mode="secure"',
         'protocols=["OpenFlow13"]', 'other_config:hwaddr="02:00:00:00:00:01"'),
    ]  # fmt: skip
    assert changes == {
        "bridge": {"old": None, "new": "br9"},
        "datapath_type": {"old": None, "new": "netdev"},
        "fail_mode": {"old": None, "new": "secure"},
        "protocols": {"old": None, "new": ["OpenFlow13"]},
        "other_config": {"old": None, "new": {"hwaddr": "02:00:00:00:00:01"}},
    }


def test_bridge_update_and_sync():
    snap = make_snap(datapath_type="", other_config={"a": "1", "b": "2"}, protocols=("OpenFlow10",))
    clauses, changes = diff_bridge("br0", snap, datapath_type="system", fail_mode="", protocols=[],
                                   other_config={"a": "1"})  # fmt: skip
    assert clauses == [
        ("clear", "Bridge", "br0", "protocols"),
        ("remove", "Bridge", "br0", "other_config", '"b"'),
    ]
    assert changes["other_config"] == {"old": {"a": "1", "b": "2"}, "new": {"a": "1"}}
    assert "datapath_type" not in changes and "fail_mode" not in changes  # "" == system, none set
    clauses, changes = diff_bridge("br0", snap, datapath_type="netdev")
    assert clauses == [("set", "Bridge", "br0", 'datapath_type="netdev"')]
    assert changes == {"datapath_type": {"old": None, "new": "netdev"}}


def test_bridge_protocols_cleared():
    snap = make_snap(protocols=("OpenFlow10",))
    assert diff_bridge("br0", snap, protocols=[]) == (
        [("clear", "Bridge", "br0", "protocols")],
        {"protocols": {"old": ["OpenFlow10"], "new": []}},
    )


def test_fake_bridge():
    clauses, changes = diff_bridge("fk1", make_snap(), parent="br0", vlan=10)
    assert clauses == [("add-br", "fk1", "br0", "10")]
    assert changes == {"bridge": {"old": None, "new": "fk1"}, "parent": {"old": None, "new": "br0"},
                       "vlan": {"old": None, "new": 10}}  # fmt: skip
    fake = Port(name="fk1", uuid="u", bridge="br0", interfaces=("fk1",), tag=10, fake_bridge=True)
    snap = make_snap((fake, [Interface(name="fk1", uuid="i", type="internal", port="fk1")]))
    assert diff_bridge("fk1", snap, parent="br0", vlan=10) == ([], {})
    assert diff_bridge("fk1", snap, parent="br0", vlan=11) == (
        [("set", "Port", "fk1", "tag=11")],
        {"vlan": {"old": 10, "new": 11}},
    )
    with pytest.raises(SpecError, match="fake bridge of br0, not of br1"):
        diff_bridge("fk1", snap, parent="br1", vlan=10)
    assert remove_bridge("fk1", snap) == (
        [("del-br", "fk1")],
        {"bridge": {"old": "fk1", "new": None}},
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"datapath_type": "dpdk"}, "datapath_type"),
        ({"fail_mode": "open"}, "fail_mode"),
        ({"protocols": "OpenFlow13"}, "protocols"),
        ({"other_config": ["a"]}, "other_config must be a mapping"),
        ({"vlan": 5}, "needs parent"),
        ({"parent": "br0"}, "needs vlan"),
    ],
)
def test_bad_bridge_args(kwargs, message):
    with pytest.raises(SpecError, match=message):
        diff_bridge("brx", make_snap(), **kwargs)


def test_remove_bridge():
    assert remove_bridge("br0", make_snap()) == (
        [("del-br", "br0")],
        {"bridge": {"old": "br0", "new": None}},
    )
    assert remove_bridge("nobr", make_snap()) == ([], {})


# --- records -------------------------------------------------------------------------------


def test_diff_record():
    have = {"other_config": {"a": "1"}, "fail_mode": [], "mcast_snooping_enable": False,
            "flood_vlans": [], "stp_enable": True, "datapath_id": "x"}  # fmt: skip
    data = {"other_config": {"a": "1", "b": 2}, "fail_mode": "secure", "mcast_snooping_enable": "true",
            "flood_vlans": [10, 20], "stp_enable": True, "datapath_id": None}  # fmt: skip
    clauses, changes = diff_record("Bridge", "br0", data, have)
    assert clauses == [
        ("set", "Bridge", "br0", 'other_config:b="2"'),
        ("set", "Bridge", "br0", 'fail_mode="secure"'),
        ("set", "Bridge", "br0", "mcast_snooping_enable=true"),
        ("set", "Bridge", "br0", "flood_vlans=[10,20]"),
        ("clear", "Bridge", "br0", "datapath_id"),
    ]
    assert changes["other_config"] == {"old": {"b": None}, "new": {"b": "2"}}
    assert changes["fail_mode"] == {"old": None, "new": "secure"}
    after = {"other_config": {"a": "1", "b": "2"}, "fail_mode": "secure", "mcast_snooping_enable": True,
             "flood_vlans": [10, 20], "stp_enable": True, "datapath_id": []}  # fmt: skip
    assert diff_record("Bridge", "br0", data, after) == ([], {})


def test_diff_record_errors():
    with pytest.raises(SpecError, match="no column nope"):
        diff_record("Bridge", "br0", {"nope": 1}, {"name": "br0"})
    with pytest.raises(SpecError, match="not a map"):
        diff_record("Bridge", "br0", {"name": {"a": 1}}, {"name": "br0"})


def test_state_ret_wording():
    assert state_ret("p", "Port", {})["comment"] == "Port p is already as requested"
    created = {"port": {"old": None, "new": "p"}}
    assert state_ret("p", "Port", created, test=True) == {
        "name": "p", "result": None, "comment": "Port p would be created", "changes": created,
    }  # fmt: skip
    assert (
        state_ret("p", "Port", {"port": {"old": "p", "new": None}})["comment"] == "Port p removed"
    )
    assert state_ret("p", "Port", {"tag": {"old": 1, "new": 2}})["comment"] == "Port p updated"
    assert state_ret("p", "Port", error="boom") == {
        "name": "p",
        "result": False,
        "comment": "boom",
        "changes": {},
    }


def test_touched_names():
    from saltmesh.ovsdiff import touched_names

    bond = Port(name="bond0", uuid="u-b", bridge="br1", interfaces=("eth1", "eth2"),
                interface_uuids={"eth1": "u1", "eth2": "u2"})  # fmt: skip
    snap = make_snap(tunnel(), (bond, [Interface(name="eth1", uuid="u1", port="bond0"),
                                       Interface(name="eth2", uuid="u2", port="bond0")]))  # fmt: skip
    assert touched_names(diff_port(GRE, make_snap())[0], snap) == {"gre-0a000002"}
    spec = PortSpec(name="bond0", bridge="br1", interfaces=("eth1", "eth3"))
    assert touched_names(diff_port(spec, snap)[0], snap) == {"bond0", "eth1", "eth2", "eth3"}
    assert touched_names(remove_port("bond0", snap)[0], snap) == {"bond0", "eth1", "eth2"}
    assert touched_names(remove_bridge("br1", snap)[0], snap) == {"br1", "bond0", "eth1", "eth2"}
    assert touched_names(diff_bridge("br7", snap, datapath_type="netdev")[0], snap) == {"br7"}
    assert touched_names([("set", "Open_vSwitch", ".", "other_config:a=1")], snap) is None


@pytest.mark.parametrize(
    ("have", "want", "same"),
    [
        (True, True, True),
        (True, "true", True),
        (False, "True", False),
        (True, 1, False),
        (5, "5", True),
        (5, 5, True),
        (5, 6, False),
        ("secure", "secure", True),
        ("2048", 2048, True),
        ([], "x", False),
    ],
)
def test_record_scalar_comparison(have, want, same):
    clauses, _ = diff_record("T", "r", {"c": want}, {"c": have})
    assert (clauses == []) is same


def test_state_ret_passes_on_interface_errors():
    ret = state_ret(
        "p1", "Port", {}, iface_errors={"p1": "could not open network device p1 (No such device)"}
    )
    assert ret["result"] is True
    assert ret["comment"] == (
        "Port p1 is already as requested; OVS reports p1: could not open network device p1 (No such device)"
    )


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
