"""Clauses: their text, user-given clauses, what a write touches (for the snapshot cache)."""

import pytest

from saltmesh.ovs.bridge import diff_bridge, remove_bridge
from saltmesh.ovs.clauses import clauses_text, normalise, touched_names
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.port import diff_port, remove_port
from saltmesh.ovs.schema import Interface, Port
from saltmesh.ovs.spec import PortSpec
from tests.unit.ovs.helpers import GRE, make_snap, tunnel


def test_touched_names():
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
    # a member's row changed: the bond that reads it is dirty too
    assert touched_names([("set", "Interface", "eth1", "mtu_request=1500")], snap) == {
        "eth1",
        "bond0",
    }
    assert touched_names([("set", "Open_vSwitch", ".", "other_config:a=1")], snap) is None


def test_user_clauses_are_normalised():
    assert normalise([["add-br", "br0"], ("set", "Port", "p", "tag", 5)]) == [
        ("add-br", "br0"),
        ("set", "Port", "p", "tag", "5"),
    ]
    assert normalise(["add-br", "br0"]) == [("add-br", "br0")]  # one clause
    assert normalise([]) == []
    for bad in ("add-br br0", [["add-br", None]], [1, 2], {"a": 1}):
        with pytest.raises(SpecError, match="clauses must be a list of argument lists"):
            normalise(bad)


def test_clauses_text():
    assert clauses_text([("add-br", "b"), ("set", "Bridge", "b", "x=1")]) == (
        "add-br b -- set Bridge b x=1"
    )
