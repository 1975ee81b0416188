"""Batched ovs_port/ovs_bridge states: choosing the chunks, planning them on one snapshot."""

import importlib.util
import inspect
from dataclasses import replace
from pathlib import Path

import pytest

from saltmesh.ovs import batch
from saltmesh.ovs.batch import Item, plan, plan_op
from saltmesh.ovs.chunks import chunk_tag, select
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.reconcile import Reconciler
from saltmesh.ovs.schema import Bridge
from tests.unit.ovs.helpers import FakeDb, make_snap, tunnel

REPO = Path(__file__).resolve().parents[3]


def port(name, bridge="brN", **fields):
    return Item(f"ovs_port_|-{name}_|-{name}_|-present", "ensure_port",
                {"name": name, "bridge": bridge, "type": "internal", **fields})  # fmt: skip


def bridge(name="brN", **fields):
    return Item(f"ovs_bridge_|-{name}_|-{name}_|-present", "ensure_bridge",
                {"name": name, "datapath_type": "netdev", **fields})  # fmt: skip


def alone(item, snap):
    """The outcome of ``item`` planned by itself on ``snap``."""
    return batch.outcome(*plan_op(item.op, item.kwargs, snap))


def with_bridge(snap, name):
    return replace(snap, bridges={**snap.bridges, name: Bridge(name, uuid="u", datapath_type="netdev")})  # fmt: skip


@pytest.mark.parametrize(
    ("module", "fun", "op"),
    [("ovs_port", "present", "ensure_port"), ("ovs_port", "absent", "remove_port"),
     ("ovs_bridge", "present", "ensure_bridge"), ("ovs_bridge", "absent", "remove_bridge")],
)  # fmt: skip
def test_params_are_the_state_signatures(module, fun, op):
    spec = importlib.util.spec_from_file_location(module, REPO / "_states" / f"{module}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    params = inspect.signature(getattr(mod, fun)).parameters
    required, optional = batch.PARAMS[op]
    assert [p for p in params if params[p].default is inspect.Parameter.empty] == list(required)
    assert sorted(p for p in params if p not in required) == sorted(optional)
    assert batch.OPS[(module, fun)] == op


def test_new_bridge_and_its_ports_one_transaction_same_outcomes_as_alone():
    snap = make_snap()
    items = [bridge(), port("p1"), port("p2", tag=5), bridge("br0", fail_mode="secure")]
    got = plan(items, snap)
    assert list(got.outcomes) == [i.tag for i in items]
    # each outcome is what the state reports alone, after the earlier ones ran
    assert got.outcomes[items[0].tag] == alone(items[0], snap)
    after = with_bridge(snap, "brN")
    assert got.outcomes[items[1].tag] == alone(items[1], after)
    assert got.outcomes[items[2].tag] == alone(items[2], after)
    assert got.outcomes[items[3].tag] == alone(items[3], snap)
    assert got.clauses == [tuple(c) for i in items for c in got.outcomes[i.tag]["clauses"]]
    assert got.clauses[0] == ("add-br", "brN")
    assert got.writers == [i.tag for i in items]


def test_in_sync_items_are_batched_with_their_interface_errors():
    p, ifaces = tunnel("gre-1")
    snap = make_snap((p, [replace(ifaces[0], error="boom")]))
    item = Item("t", "ensure_port", {"name": "gre-1", "bridge": "br0", "type": "gre",
                "options": {"remote_ip": "10.0.0.2", "key": "5000"}, "protected": True})  # fmt: skip
    got = plan([item, port("p1", "br0")], snap)
    assert got.outcomes["t"] == {"changes": {}, "clauses": [], "errors": {"gre-1": "boom"}}
    assert got.writers == [port("p1", "br0").tag]


def test_invalid_item_fails_alone_and_its_dependants_are_left_out():
    bad = port("p2", tag=9999)
    dep = replace(port("p3"), requires=(bad.tag,))
    items = [bridge(), port("p1"), bad, dep, port("p4")]
    got = plan(items, make_snap())
    assert "tag" in got.outcomes[bad.tag]["error"] and "p2" in got.outcomes[bad.tag]["error"]
    assert dep.tag not in got.outcomes  # Salt will not run it: its requisite failed
    assert got.outcomes[port("p4").tag]["changes"]["port"] == {"old": None, "new": "p4"}
    assert not any("p2" in c or "p3" in c for c in got.clauses)


def test_failhard_ends_the_batch_at_the_invalid_item():
    bad = replace(port("p2", tag=9999), failhard=True)
    got = plan([bridge(), bad, port("p3")], make_snap())
    assert list(got.outcomes) == [bridge().tag, bad.tag]
    # ... and at an item whose requisite failed (Salt fails it, then stops the run)
    bad = port("p2", tag=9999)
    dep = replace(port("p3"), requires=(bad.tag,), failhard=True)
    got = plan([bridge(), bad, dep, port("p4")], make_snap())
    assert list(got.outcomes) == [bridge().tag, bad.tag]


@pytest.mark.parametrize(
    "second",
    [
        port("p1", "br1"),  # the same port again (a move): it would see the first's write
        Item("b", "remove_bridge", {"name": "brN"}),  # the bridge the first writes a port to
        bridge("brN", fail_mode="secure"),
    ],
)
def test_an_item_that_would_see_an_earlier_write_ends_the_batch(second):
    first = port("p1", "brN")
    snap = with_bridge(make_snap(), "brN")
    got = plan([first, second, port("p9", "br0")], snap)
    assert list(got.outcomes) == [first.tag]


def test_existing_port_moved_to_a_new_bridge_is_not_batched_with_it():
    p, ifaces = tunnel("gre-1")
    snap = make_snap((p, ifaces))
    move = Item("m", "ensure_port", {"name": "gre-1", "bridge": "brN"})
    got = plan([bridge(), move], snap)
    assert list(got.outcomes) == [bridge().tag]


def test_port_on_an_updated_bridge_is_batched():
    snap = with_bridge(make_snap(), "brN")
    got = plan([bridge("brN", fail_mode="secure"), port("p1")], snap)
    assert len(got.outcomes) == 2 and got.writers == list(got.outcomes)


def chunk(state, name, fun="present", **kw):
    return {"state": state, "__id__": name, "name": name, "fun": fun, "__sls__": "s", **kw}


def test_select_takes_the_contiguous_ovs_chunks():
    br = chunk("ovs_bridge", "brN", datapath_type="netdev")
    low = [
        chunk("test", "before"),
        br,
        chunk("ovs_port", "p1", bridge="brN", require=[{"ovs_bridge": "brN"}]),
        chunk("ovs_port", "p2", bridge="brN", require=["before"]),
        chunk("ovs_port", "p3", "absent"),
        chunk("cmd", "between"),
        chunk("ovs_port", "p4", bridge="brN"),
    ]
    running = {chunk_tag(low[0]): {"result": True, "__sls__": "s"}}
    items = select(br, low, running)
    assert [i.kwargs["name"] for i in items] == ["brN", "p1", "p2", "p3"]
    assert items[1].requires == (chunk_tag(br),)
    assert items[0].kwargs == {"name": "brN", "datapath_type": "netdev"}


def test_select_leaves_out_chunks_whose_requisite_failed():
    low = [
        chunk("test", "bad"),
        chunk("ovs_port", "p1", bridge="b"),
        chunk("ovs_port", "p2", bridge="b", require=[{"test": "bad"}]),
        chunk("ovs_port", "p3", bridge="b", watch=[{"ovs_port": "p2"}]),
        chunk("ovs_port", "p4", bridge="b", require=[{"ovs_port": "p[23]"}]),  # left out
        chunk("ovs_port", "p5", bridge="b"),
    ]
    running = {chunk_tag(low[0]): {"result": False}}
    assert [i.kwargs["name"] for i in select(low[1], low, running)] == ["p1", "p5"]


@pytest.mark.parametrize(
    "odd",
    [
        {"onchanges": [{"cmd": "x"}]},
        {"onlyif": "true"},
        {"parallel": True},
        {"require": [{"cmd": "later"}]},  # not run yet
        {"require": [{"cmd": "nothing"}]},  # names nothing
        {"tag": "__slot__:salt:test.echo(5)"},
        {"options": {"remote_ip": "__slot__:salt:test.echo(10.0.0.1)"}},
    ],
)
def test_select_stops_at_a_conditional_or_unresolved_chunk(odd):
    low = [
        chunk("ovs_port", "p1", bridge="b"),
        chunk("ovs_port", "p2", bridge="b", **odd),
        chunk("ovs_port", "p3", bridge="b"),
        chunk("cmd", "later"),
    ]
    assert [i.kwargs["name"] for i in select(low[0], low, {})] == ["p1"]


def test_select_batches_nothing_in_a_run_with_a_prereq():
    low = [chunk("ovs_port", "p1", bridge="b"), chunk("ovs_port", "p2", bridge="b"),
           chunk("cmd", "x", prereq=[{"ovs_port": "p2"}])]  # fmt: skip
    assert select(low[0], low, {}) == []


def test_select_failhard_option_marks_every_item():
    low = [chunk("ovs_port", "p1", bridge="b"), chunk("ovs_port", "p2", bridge="b")]
    assert all(i.failhard for i in select(low[0], low, {}, failhard=True))
    assert not any(i.failhard for i in select(low[0], low, {}))


def test_select_with_failhard_a_chunk_whose_requisite_failed_ends_the_batch():
    low = [
        chunk("test", "bad"),
        chunk("ovs_port", "p1", bridge="b"),
        chunk("ovs_port", "p2", bridge="b", require=[{"test": "bad"}]),
        chunk("ovs_port", "p3", bridge="b"),
    ]
    running = {chunk_tag(low[0]): {"result": False}}
    assert [i.kwargs["name"] for i in select(low[1], low, running)] == ["p1", "p3"]
    assert [i.kwargs["name"] for i in select(low[1], low, running, failhard=True)] == ["p1"]


def test_item_round_trip_and_bad_items():
    item = replace(port("p1"), requires=("t",))
    assert Item.from_dict(item.as_dict()) == item
    for bad in ({"tag": "t"}, {"tag": "t", "op": "nope", "kwargs": {"name": "x"}}, "x"):
        with pytest.raises(SpecError):
            Item.from_dict(bad)


def test_apply_batch_one_transaction_then_cached():
    rec = Reconciler(FakeDb(make_snap()), {})
    items = [bridge(), port("p1"), port("p2")]
    out = rec.apply_batch(items)
    assert len(rec.db.written) == 1 and rec.db.written[0] == plan(items, make_snap()).clauses
    assert out[port("p2").tag]["changes"]["port"] == {"old": None, "new": "p2"}


def test_apply_batch_retries_once_then_every_writer_fails():
    rec = Reconciler(FakeDb(make_snap(), fail=1), {})
    assert len(rec.apply_batch([bridge(), port("p1")])) == 2
    assert len(rec.db.written) == 1
    rec = Reconciler(FakeDb(make_snap(), fail=2), {})
    bad = port("p2", tag=9999)
    out = rec.apply_batch([bridge(), port("p1"), bad])
    assert rec.db.written == []
    for item in (bridge(), port("p1")):
        assert out[item.tag]["error"].startswith("the OVSDB transaction of 2 batched")
        assert "transaction error" in out[item.tag]["error"]
    assert "tag" in out[bad.tag]["error"]  # its own reason


def test_an_unexpected_error_fails_its_item_alone_with_the_states_one_line_answer():
    odd = Item("odd", "ensure_bridge", {"name": "brX", "parent": ["br0"], "vlan": 5})
    items = [bridge(), odd, port("p1")]
    got = plan(items, make_snap())
    assert got.outcomes["odd"] == {"error": "unexpected TypeError: unhashable type: 'list'"}
    assert got.writers == [bridge().tag, port("p1").tag]
    # the same answer as the state alone gives (Reconciler -> stateret.from_call)
    rec = Reconciler(FakeDb(make_snap()), {})
    out = rec.apply_batch(items)
    assert out["odd"] == got.outcomes["odd"] and len(rec.db.written) == 1
    with pytest.raises(TypeError, match="unhashable type: 'list'"):
        rec.run_op(odd.op, odd.kwargs)
