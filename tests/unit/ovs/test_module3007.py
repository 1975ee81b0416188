"""Salt 3007's openvswitch execution module: argument checks, clauses, answer shapes."""

import json

import pytest

from saltmesh.ovs import module3007 as m
from saltmesh.ovs.errors import SpecError


def test_lines_as_3007_but_empty_is_empty():
    assert m.lines("br0\nbr1\n") == ["br0", "br1"]
    assert m.lines("[]\n") == ["[]"]
    assert m.lines("") == [] and m.lines("\n") == []  # 3007: [""]


def test_db_get_values_keep_3007_shapes():
    doc = {"headings": ["x"], "data": [[["set", [["uuid", "u1"], ["uuid", "u2"]]]]]}
    assert m.db_get_value(json.dumps(doc)) == [["uuid", "u1"], ["uuid", "u2"]]
    assert m.convert(["map", [["a", "1"], ["b", ["set", [1, 2]]]]]) == {"a": "1", "b": [1, 2]}
    assert m.convert(["uuid", "u"]) == ["uuid", "u"]
    assert m.convert(["set", []]) == []
    assert m.convert(["map", [["a"]]]) == ["map", [["a"]]]  # not pairs: as it is
    assert m.convert([1, ["set", [2]], 3]) == [1, [2], 3]
    assert m.db_get_value(json.dumps({"headings": ["x"], "data": []})) is None
    assert m.db_get_args("Bridge", "br0", "fail_mode", True) == [
        "--format=json", "--columns=fail_mode", "--if-exists", "list", "Bridge", "br0",
    ]  # fmt: skip


def test_bridge_and_port_clauses():
    assert m.add_br("br0", True) == [("--may-exist", "add-br", "br0")]
    assert m.add_br("f", False, "br0", 10) == [("add-br", "f", "br0", "10")]
    with pytest.raises(ValueError, match="If parent is specified, vlan must also"):
        m.add_br("f", True, parent="br0")
    with pytest.raises(ValueError, match="If vlan is specified, parent must also"):
        m.add_br("f", True, vlan=10)
    assert m.del_br("br0", True) == [("--if-exists", "del-br", "br0")]
    assert m.add_port("br0", 8080, False, True) == [
        ("add-port", "br0", "8080"),
        ("set", "Interface", "8080", "type=internal"),
    ]
    assert m.del_port(None, "p", False) == [("del-port", "p")]
    assert m.del_port("br0", "p", True) == [("--if-exists", "del-port", "br0", "p")]


def test_vlan_and_tunnel_clauses():
    assert m.in_range("4095", m.VLAN_RANGE) == 4095
    assert [m.in_range(v, m.VLAN_RANGE) for v in (4096, -1, "x", None, True)] == [None] * 5
    assert m.vlan_port("br0", "p", 10, True, listed=True) == [
        ("set", "Port", "p", "tag=10"),
        ("set", "Interface", "p", "type=internal"),
    ]
    assert m.vlan_port("br0", "p", 10, False, listed=False) == [("add-port", "br0", "p", "tag=10")]
    opts = m.tunnel_options("10.0.0.2", 5)
    assert opts == ['options:remote_ip="10.0.0.2"', 'options:key="5"']
    assert m.tunnel_options("10.0.0.2", 5, 0) == opts
    assert m.tunnel_options("10.0.0.2", 5, "4789")[-1] == 'options:dst_port="4789"'
    assert m.tunnel_options("10.0.0.2", 5, 70000) is None
    assert m.tunnel_options("10.0.0.0/24", 5) is None
    assert m.tunnel_port("br0", "g", "gre", opts, listed=False) == [
        ("add-port", "br0", "g"),
        ("set", "Interface", "g", "type=gre", *opts),
    ]


def test_db_set_clause():
    assert m.db_set_clause("Bridge", "br0", "fail_mode", "secure", False) == (
        "set", "Bridge", "br0", 'fail_mode="secure"',
    )  # fmt: skip
    assert m.db_set_clause("Bridge", "br0", "other_config", {"a": "b"}, True)[-1] == (
        'other_config={"a"="b"}'
    )
    assert m.db_set_clause("Port", "p", "trunks", [2, 1], False)[-1] == "trunks=[1,2]"
    with pytest.raises(SpecError):
        m.db_set_clause("Port", "p", "tag", None, False)
