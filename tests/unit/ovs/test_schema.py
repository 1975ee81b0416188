"""Parsing of captured ``ovs-vsctl --format=json`` output (OVS 3.1) into a Snapshot."""

import json

import pytest

from saltmesh.errors import SaltmeshError
from saltmesh.ovs import schema

# ovs-vsctl 3.1 output of ovsdb.SNAPSHOT_ARGS for: br0 (netdev, secure, OpenFlow13, maps),
# a protected GRE port with bfd/mtu/iface external_ids, a LACP bond, a trunk port, a fake
# bridge fk0 (VLAN 100).
CAPTURED = r"""
{"data":[[["uuid","427aa92f-4935-42b9-9bef-ec097a4a90a8"],"br0",["set",[["uuid","07a402e8-304e-48ea-a47b-ba93cafe0c73"],["uuid","4f524612-3c3e-43ac-b937-8f9fb946d40e"],["uuid","580e7231-3967-4ea6-bdc9-5efbcc16facd"],["uuid","5bbbe86a-4866-43b8-b401-7979fd5e62b4"],["uuid","f17a049c-3656-416e-8c2c-a4ec747716f8"]]],"netdev","secure","OpenFlow13",["map",[["hwaddr","02:00:00:00:00:01"]]],["map",[["saltmesh-mesh","m1"]]]]],"headings":["_uuid","name","ports","datapath_type","fail_mode","protocols","other_config","external_ids"]}
{"data":[[["uuid","f17a049c-3656-416e-8c2c-a4ec747716f8"],"gre-0a000002",["uuid","375de738-4e56-4528-9d96-3d153a60132a"],10,["set",[]],["set",[]],true,["set",[]],["set",[]],["map",[]],["map",[]],false],[["uuid","07a402e8-304e-48ea-a47b-ba93cafe0c73"],"p1",["uuid","a9b3d8d1-0564-4080-a34d-0a3aa964ecb8"],["set",[]],["set",[1,2,3]],"trunk",false,["set",[]],["set",[]],["map",[]],["map",[]],false],[["uuid","580e7231-3967-4ea6-bdc9-5efbcc16facd"],"fk0",["uuid","9055ca9e-d46a-4fdb-b275-752bfe43418c"],100,["set",[]],["set",[]],false,["set",[]],["set",[]],["map",[]],["map",[]],true],[["uuid","5bbbe86a-4866-43b8-b401-7979fd5e62b4"],"bond0",["set",[["uuid","254b6dbf-c761-4e21-b501-91ca944badab"],["uuid","7db15114-8ce6-4e19-b6c4-becaf4f080f1"]]],["set",[]],["set",[1,2]],["set",[]],false,"balance-slb","active",["map",[]],["map",[]],false],[["uuid","4f524612-3c3e-43ac-b937-8f9fb946d40e"],"br0",["uuid","4f129f0b-576f-4129-b12c-82e47850ba95"],["set",[]],["set",[]],["set",[]],false,["set",[]],["set",[]],["map",[]],["map",[]],false]],"headings":["_uuid","name","interfaces","tag","trunks","vlan_mode","protected","bond_mode","lacp","other_config","external_ids","fake_bridge"]}
{"data":[[["uuid","7db15114-8ce6-4e19-b6c4-becaf4f080f1"],"eth8","",["map",[]],["map",[]],["set",[]],-1,["set",[]],"could not open network device eth8 (No such device)",["map",[]],["map",[]],["set",[]],["map",[]]],[["uuid","375de738-4e56-4528-9d96-3d153a60132a"],"gre-0a000002","gre",["map",[["key","5000"],["remote_ip","10.0.0.2"]]],["map",[["a b","x\"y"]]],1400,1,"up",["set",[]],["map",[["enable","true"]]],["map",[["diagnostic","No Diagnostic"],["flap_count","0"],["forwarding","false"],["remote_diagnostic","No Diagnostic"],["remote_state","down"],["state","down"]]],"up",["map",[]]],[["uuid","a9b3d8d1-0564-4080-a34d-0a3aa964ecb8"],"p1","",["map",[]],["map",[]],["set",[]],-1,["set",[]],"could not open network device p1 (No such device)",["map",[]],["map",[]],["set",[]],["map",[]]],[["uuid","9055ca9e-d46a-4fdb-b275-752bfe43418c"],"fk0","internal",["map",[]],["map",[]],["set",[]],2,"down",["set",[]],["map",[]],["map",[]],"down",["map",[]]],[["uuid","254b6dbf-c761-4e21-b501-91ca944badab"],"eth9","",["map",[]],["map",[]],["set",[]],-1,["set",[]],"could not open network device eth9 (No such device)",["map",[]],["map",[]],["set",[]],["map",[]]],[["uuid","4f129f0b-576f-4129-b12c-82e47850ba95"],"br0","internal",["map",[]],["map",[]],["set",[]],65534,"down",["set",[]],["map",[]],["map",[]],"down",["map",[]]]],"headings":["_uuid","name","type","options","external_ids","mtu_request","ofport","link_state","error","bfd","bfd_status","admin_state","other_config"]}
{"data":[[["uuid","75b0a05f-66e8-41c2-b0c9-92c794b92ee0"],["map",[["foo","bar"]]],["map",[]],["set",[]],["set",[]],["set",["netdev","system"]],["set",["afxdp","afxdp-nonpmd","bareudp","erspan","geneve","gre","gtpu","internal","ip6erspan","ip6gre","lisp","patch","stt","system","tap","vxlan"]]]],"headings":["_uuid","other_config","external_ids","ovs_version","db_version","datapath_types","iface_types"]}
"""


@pytest.fixture(scope="module")
def snap():
    return schema.parse_snapshot(CAPTURED)


def test_bridge_columns(snap):
    br = snap.bridges["br0"]
    assert br.datapath_type == "netdev"
    assert br.fail_mode == "secure"
    assert br.protocols == ("OpenFlow13",)  # a one-element set comes as a bare atom
    assert br.other_config == {"hwaddr": "02:00:00:00:00:01"}
    assert br.external_ids == {"saltmesh-mesh": "m1"}
    assert br.ports == ("bond0", "br0", "fk0", "gre-0a000002", "p1")
    assert set(snap.bridges) == {"br0"}  # a fake bridge has no Bridge row


def test_port_columns(snap):
    gre = snap.ports["gre-0a000002"]
    assert (gre.bridge, gre.interfaces, gre.tag, gre.protected) == (
        "br0",
        ("gre-0a000002",),
        10,
        True,
    )
    assert gre.trunks == () and gre.vlan_mode is None and gre.bond_mode is None
    bond = snap.ports["bond0"]
    assert bond.interfaces == ("eth8", "eth9")
    assert (bond.bond_mode, bond.lacp, bond.trunks) == ("balance-slb", "active", (1, 2))
    assert set(bond.interface_uuids) == {"eth8", "eth9"}
    p1 = snap.ports["p1"]
    assert (p1.trunks, p1.vlan_mode, p1.tag) == ((1, 2, 3), "trunk", None)
    fk = snap.ports["fk0"]
    assert fk.fake_bridge and fk.tag == 100 and fk.bridge == "br0"


def test_interface_columns(snap):
    gre = snap.interfaces["gre-0a000002"]
    assert gre.type == "gre"
    assert gre.options == {"key": "5000", "remote_ip": "10.0.0.2"}
    assert gre.external_ids == {"a b": 'x"y'}
    assert gre.bfd == {"enable": "true"}
    assert gre.bfd_status["state"] == "down"
    assert (gre.mtu_request, gre.ofport, gre.link_state, gre.error) == (1400, 1, "up", None)
    assert gre.port == "gre-0a000002"
    eth8 = snap.interfaces["eth8"]
    assert eth8.type == "" and eth8.ofport == -1 and eth8.port == "bond0"
    assert eth8.error.startswith("could not open network device eth8")
    assert eth8.mtu_request is None and eth8.link_state is None


def test_open_vswitch_row(snap):
    assert snap.open_vswitch["other_config"] == {"foo": "bar"}
    assert "vxlan" in snap.open_vswitch["iface_types"]


def test_decode():
    assert schema.decode(["map", [["a", "1"]]]) == {"a": "1"}
    assert schema.decode(["set", [1, 2]]) == [1, 2]
    assert schema.decode(["uuid", "u-1"]) == "u-1"
    assert schema.decode("x") == "x"
    assert schema.decode(["set", []]) == []


def test_bad_output_is_an_error():
    with pytest.raises(SaltmeshError):
        schema.parse_snapshot(json.dumps({"data": [], "headings": []}))


def test_snapshot_args_chain_four_lists():
    args = list(schema.SNAPSHOT_ARGS)
    assert args[:2] == ["--format=json", "--data=json"]
    assert [args[i + 1] for i, a in enumerate(args) if a == "list"] == [
        "Bridge", "Port", "Interface", "Open_vSwitch",
    ]  # fmt: skip
