"""The bridge diff: creation in one transaction, updates in place, fake bridges."""

import pytest

from saltmesh.ovs.bridge import diff_bridge, remove_bridge
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.schema import Interface, Port
from tests.unit.ovs.helpers import make_snap


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
