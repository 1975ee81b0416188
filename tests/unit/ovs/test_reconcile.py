"""Reconcile: plan on the run's snapshot, one transaction, one retry on a fresh read."""

import pytest

from saltmesh.errors import CommandError
from saltmesh.ovs.cache import KEY
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.reconcile import Reconciler
from saltmesh.ovs.schema import Interface, Port
from tests.unit.ovs.helpers import FakeDb, make_snap, tunnel

GRE_FIELDS = {"options": {"remote_ip": "10.0.0.2", "key": "5000"}, "protected": True}
ADD_GRE = [
    ("add-port", "br0", "gre-0a000002", "protected=true"),
    ("set", "Interface", "gre-0a000002", 'type="gre"', 'options:key="5000"',
     'options:remote_ip="10.0.0.2"'),
]  # fmt: skip


def reconciler(*snaps, **kwargs):
    store = {}
    return Reconciler(FakeDb(*snaps, **kwargs), store), store


def test_ensure_port_writes_one_transaction():
    rec, _ = reconciler()
    out = rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)
    assert rec.db.written == [ADD_GRE]
    assert out["clauses"] == [list(c) for c in ADD_GRE]
    assert out["changes"]["port"] == {"old": None, "new": "gre-0a000002"}
    assert "errors" not in out


def test_test_mode_writes_nothing_and_assumes_the_bridge():
    rec, _ = reconciler()
    out = rec.ensure_port("p1", "br-new", test=True)
    assert rec.db.written == []
    assert out["clauses"] == [["add-port", "br-new", "p1"]]


def test_in_sync_port_reports_interface_errors():
    port = Port(name="p1", uuid="u", bridge="br0", interfaces=("p1",))
    iface = Interface(name="p1", uuid="i", port="p1", error="could not open network device p1")
    rec, _ = reconciler(make_snap((port, [iface])))
    out = rec.ensure_port("p1", "br0")
    assert out == {
        "changes": {},
        "clauses": [],
        "errors": {"p1": "could not open network device p1"},
    }
    assert rec.db.written == []


def test_failed_transaction_is_re_planned_on_a_fresh_read_once():
    # the port appeared behind the cache: the retry sees it in sync and writes nothing
    rec, _ = reconciler(make_snap(), make_snap(tunnel()), fail=1)
    out = rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)
    assert rec.db.reads == 2
    assert out == {"changes": {}, "clauses": [], "errors": {}}


def test_second_failure_is_raised():
    rec, _ = reconciler(fail=2)
    with pytest.raises(CommandError):
        rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)


def test_state_runs_share_one_read_until_a_touched_name_is_read():
    rec, _ = reconciler(make_snap(), make_snap(tunnel()))
    rec.ensure_bridge("br0", use_cache=True)  # in sync: nothing written
    rec.ensure_port("gre-0a000002", "br0", "gre", use_cache=True, **GRE_FIELDS)
    assert rec.db.reads == 1
    rec.remove_port("p-other", use_cache=True)  # does not look at the new port
    assert rec.db.reads == 1
    out = rec.ensure_port("gre-0a000002", "br0", "gre", use_cache=True, **GRE_FIELDS)
    assert rec.db.reads == 2 and out["changes"] == {}


def test_direct_calls_read_afresh():
    rec, _ = reconciler()
    rec.ensure_bridge("br0")
    rec.ensure_bridge("br0")
    assert rec.db.reads == 2


def test_port_arguments_from_yaml():
    rec, _ = reconciler()
    out = rec.ensure_port("p1", "br0", trunks=[20, 10], test=True)
    assert out["changes"]["trunks"] == {"old": None, "new": [10, 20]}
    with pytest.raises(SpecError, match="^port p1: .*unexpected keyword argument 'bogus'"):
        rec.ensure_port("p1", "br0", bogus=1)


def test_bridge_arguments_are_checked():
    rec, _ = reconciler()
    with pytest.raises(SpecError, match=r"^bridge br0: unknown argument\(s\) bogus, zz$"):
        rec.ensure_bridge("br0", zz=1, bogus=2)
    out = rec.ensure_bridge("br9", datapath_type="netdev")
    assert rec.db.written == [
        [("add-br", "br9"), ("set", "Bridge", "br9", 'datapath_type="netdev"')]
    ]
    assert out["changes"]["bridge"] == {"old": None, "new": "br9"}


def test_remove_bridge_and_port():
    rec, _ = reconciler(make_snap(tunnel()))
    assert rec.remove_port("gre-0a000002", "br1")["changes"] == {}
    assert rec.remove_bridge("br1")["clauses"] == [["del-br", "br1"]]
    assert rec.db.written == [[("del-br", "br1")]]


def test_ensure_record_drops_the_cache_after_a_write():
    records = {("Open_vSwitch", "."): {"other_config": {"a": "1"}}}
    rec, store = reconciler(records=records)
    rec.cache.get()
    out = rec.ensure_record("Open_vSwitch", ".", {"other_config": {"b": "2"}})
    assert rec.db.written == [[("set", "Open_vSwitch", ".", 'other_config:b="2"')]]
    assert out["changes"] == {"other_config": {"old": {"b": None}, "new": {"b": "2"}}}
    assert KEY not in store


def test_ensure_record_missing_row():
    rec, _ = reconciler()
    data = {"other_config": {"a": "1"}, "flood_vlans": [10], "fail_mode": "secure"}
    # test mode: an earlier state may create the bridge; planned from an empty record
    out = rec.ensure_record("Bridge", "br9", data, test=True)
    assert out["changes"] == {
        "other_config": {"old": {"a": None}, "new": {"a": "1"}},
        "flood_vlans": {"old": [], "new": [10]},
        "fail_mode": {"old": None, "new": "secure"},
    }
    with pytest.raises(SpecError, match='^Bridge br9: ovs-vsctl failed .*no row "br9"'):
        rec.ensure_record("Bridge", "br9", data)
    with pytest.raises(SpecError, match="^SSL x: "):  # not a table a state creates
        rec.ensure_record("SSL", "x", {"a": 1}, test=True)


@pytest.mark.parametrize("data", [{}, None, [("a", 1)]])
def test_ensure_record_needs_columns(data):
    rec, _ = reconciler()
    with pytest.raises(SpecError, match="^T r: data must be a non-empty mapping of columns$"):
        rec.ensure_record("T", "r", data)


def test_transact_user_clauses():
    rec, store = reconciler()
    rec.cache.get()
    rec.transact([])  # nothing to run: the cache stays
    assert KEY in store and rec.db.written == []
    rec.transact(["add-br", "br7"])  # a single clause
    rec.transact([["set", "Port", "p", "tag", 5]])
    assert rec.db.written == [[("add-br", "br7")], [("set", "Port", "p", "tag", "5")]]
    assert KEY not in store
    with pytest.raises(SpecError, match="list of argument lists"):
        rec.transact("add-br br7")
