"""Flow rates of an attachment: the OVSDB read, and the clauses and changes of each transition."""

from __future__ import annotations

import pytest

from saltmesh.containers import rates
from saltmesh.containers.names import host_ifname
from tests.unit.containers.fakes import spec

PORT = host_ifname("web01", "eth0")
Q1, Q2 = "c5198b95-48d7-4845-ae71-d57403a26127", "c947e041-3212-4afc-b5b5-c6c14617f13a"
# ovs-vsctl 3.1 answering rates.READ_ARGS: web01's eth0 port policed at 8000 kbps (burst 800)
# with our linux-htb row; a second row of ours (eth9) that no port references.
CAPTURED = (
    r"""
{"data":[["br0",["set",[]]],["PORT",["uuid","Q1"]]],"headings":["name","qos"]}
{"data":[["br0",0,0],["PORT",8000,800]],"headings":["name","ingress_policing_rate","ingress_policing_burst"]}
{"data":[[["uuid","Q1"],"linux-htb",["map",[["max-rate","8000000"]]],["map",[["saltmesh-container","web01"],["saltmesh-iface","eth0"]]]],[["uuid","Q2"],"linux-htb",["map",[]],["map",[["saltmesh-container","web01"],["saltmesh-iface","eth9"]]]]],"headings":["_uuid","type","other_config","external_ids"]}
""".replace("PORT", PORT)
    .replace("Q1", Q1)
    .replace("Q2", Q2)
)


def net(**kw):
    return spec(networks=[{"bridge": "br0", **kw}]).networks[0]


@pytest.fixture
def have():
    return rates.parse(CAPTURED)


def test_parse(have):
    assert have.port_qos == {"br0": None, PORT: Q1}
    assert have.policing == {"br0": (0, 0), PORT: (8000, 800)}
    assert have.qos[Q1].type == "linux-htb" and have.qos[Q1].other_config == {"max-rate": "8000000"}
    assert rates.egress_of(have.qos[Q1]) == 8000 and rates.egress_of(have.qos[Q2]) is None


def test_in_sync_is_a_noop(have):
    assert rates.diff_rate("web01", net(rate=8000, burst=800), have) == ([], {})


def test_new_port_gets_both_limits_in_its_transaction():
    clauses, changes = rates.diff_rate("web01", net(rate=1000), rates.Rates(), new_port=True)
    assert changes == {}  # the attachment's own change names the rate
    assert clauses == [
        ("set", "Interface", PORT, "ingress_policing_rate=1000", "ingress_policing_burst=0"),
        ("--id=@smq", "create", "QoS", "type=linux-htb", 'other_config={max-rate="1000000"}',
         'external_ids:saltmesh-container="web01"', 'external_ids:saltmesh-iface="eth0"'),
        ("set", "Port", PORT, "qos=@smq"),
    ]  # fmt: skip
    assert rates.diff_rate("web01", net(), rates.Rates(), new_port=True) == ([], {})


def test_added_to_an_existing_port():
    have = rates.Rates(port_qos={PORT: None}, policing={PORT: (0, 0)})
    clauses, changes = rates.diff_rate("web01", net(rate=1000, burst=100), have, ref="@smq3")
    assert changes == {"rate": {"old": None, "new": 1000}, "burst": {"old": None, "new": 100}}
    assert [c[:3] for c in clauses] == [
        ("set", "Interface", PORT), ("--id=@smq3", "create", "QoS"), ("set", "Port", PORT),
    ]  # fmt: skip
    assert clauses[0][3:] == ("ingress_policing_rate=1000", "ingress_policing_burst=100")


def test_changed_in_place_on_our_row(have):
    clauses, changes = rates.diff_rate("web01", net(rate=2000, burst=800), have)
    assert changes == {"rate": {"old": 8000, "new": 2000}}
    assert clauses == [
        ("set", "Interface", PORT, "ingress_policing_rate=2000", "ingress_policing_burst=800"),
        ("set", "QoS", Q1, "type=linux-htb", 'other_config={max-rate="2000000"}'),
    ]


def test_removed_clears_both_and_destroys_our_row(have):
    clauses, changes = rates.diff_rate("web01", net(), have)
    assert changes == {"rate": {"old": 8000, "new": None}, "burst": {"old": 800, "new": None}}
    assert clauses == [
        ("set", "Interface", PORT, "ingress_policing_rate=0", "ingress_policing_burst=0"),
        ("clear", "Port", PORT, "qos"),
        ("destroy", "QoS", Q1),
    ]


def test_hand_edited_policing_is_drift(have):
    drifted = rates.Rates({PORT: Q1}, {PORT: (5, 800)}, have.qos)
    clauses, changes = rates.diff_rate("web01", net(rate=8000, burst=800), drifted)
    assert changes == {"rate": {"old": {"ingress": 5, "egress": 8000}, "new": 8000}}
    assert clauses == [
        ("set", "Interface", PORT, "ingress_policing_rate=8000", "ingress_policing_burst=800")
    ]


def test_foreign_qos_is_never_changed_nor_destroyed(have):
    foreign = rates.Qos("f00", "linux-htb", {"max-rate": "5"}, {"owner": "ops"})
    other = rates.Rates({PORT: "f00"}, {PORT: (0, 0)}, {"f00": foreign})
    assert rates.diff_rate("web01", net(), other) == ([], {})  # no rate: left alone
    clauses, _ = rates.diff_rate("web01", net(rate=1000), other)
    assert not any("f00" in c for c in clauses) and ("set", "Port", PORT, "qos=@smq") in clauses
    assert rates.drop_qos([PORT], other) == [] and rates.orphans("web01", other) == ([], {})


def test_deleted_port_takes_our_row_along_and_orphans_are_destroyed(have):
    assert rates.drop_qos([PORT, "br0"], have) == [("destroy", "QoS", Q1)]
    assert rates.orphans("web01", have) == (
        [("destroy", "QoS", Q2)],
        {"eth9": {"qos": {"old": Q2, "new": None}}},
    )
    assert rates.orphans("db01", have) == ([], {})


def test_the_shaper_is_read_compared_and_removed():
    from tests.unit.containers.fakes import spec as spec_

    (net,) = spec_(networks=[{"bridge": "br0", "rate": 8000}]).networks
    (bare,) = spec_(networks=[{"bridge": "br0"}]).networks
    text = '[{"kind":"tbf","handle":"8002:","root":true,"options":{"rate":1000000,"burst":99000}}]'
    have = rates.shaper_of(text)
    assert have == (1000000, 99000) and rates.shaper_of("[]") is None
    assert rates.shaper_want(net) == (1000000, 100000)
    assert rates.shaper_argv(net, have) is None  # tc's rounding of the burst: within 2 %
    assert rates.shaper_argv(net, (1000000, 90000))[:7] == [
        "tc", "qdisc", "replace", "dev", "eth0", "root", "tbf"]  # fmt: skip
    assert rates.shaper_argv(bare, have) == ["tc", "qdisc", "del", "dev", "eth0", "root"]
    assert rates.shaper_argv(bare, None) is None
    assert rates.shaper_view(have) == {"rate": 8000, "burst": 99000}
