"""Plain-data views of a snapshot (``ovs.bridges``/``ports``/``interfaces``, mesh status)."""

from saltmesh.ovs import views
from saltmesh.ovs.schema import Interface, Port
from tests.unit.ovs.helpers import make_snap, tunnel


def snap():
    lonely = Port(name="p9", uuid="u9", bridge="br1", interfaces=("p9",), trunks=(1, 2))
    return make_snap(
        tunnel(),
        (lonely, [Interface(name="p9", uuid="i9", port="p9", error="no such device")]),
    )


def test_records_as_plain_dicts():
    bridges = views.bridges(snap())
    assert bridges["br0"]["ports"] == ["gre-0a000002"]  # tuples become lists
    assert set(bridges) == {"br0", "br1"}
    ports = views.ports(snap())
    assert ports["p9"]["trunks"] == [1, 2] and ports["p9"]["bridge"] == "br1"
    assert set(views.ports(snap(), "br0")) == {"gre-0a000002"}


def test_interfaces_of_a_bridge():
    assert set(views.interfaces(snap())) == {"gre-0a000002", "p9"}
    assert set(views.interfaces(snap(), "br1")) == {"p9"}
    assert views.interfaces(snap(), "br1")["p9"]["error"] == "no such device"


def test_interface_errors():
    assert views.interface_errors(snap(), ["p9", "gre-0a000002", "absent"]) == {
        "p9": "no such device"
    }


def test_port_status():
    assert views.port_status(snap(), "gre-0a000002") == {
        "bridge": "br0",
        "uuid": "uuid-gre-0a000002",
        "protected": True,
        "type": "gre",
        "options": {"remote_ip": "10.0.0.2", "key": "5000"},
        "ofport": None,
        "link_state": None,
        "bfd_status": {},
        "error": None,
    }
    bare = make_snap((Port(name="p1", uuid="u", bridge="br0"), []))
    assert views.port_status(bare, "p1")["type"] is None
