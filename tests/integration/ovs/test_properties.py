"""Apply-then-diff on a real OVSDB (Hypothesis): for any two port specs, bringing a port from
the first to the second writes a transaction OVSDB accepts, after which the port is what the
second spec asks for (read directly), the diff is empty, and ovs-vswitchd is still running
(a move combined with a type change, which aborts ovs-vswitchd 3.1, is refused).

Each example starts from a port created from a random spec (or no port at all), then diffs a
second random spec against a fresh read, applies the clauses through the core's Ovsdb (the same
single transaction the states run), reads again and diffs: no clauses, no changes. Map keys and
values include quotes, spaces, ``=``, ``:``, ``,``, braces and non-ASCII characters.
"""

from __future__ import annotations

import dataclasses
import itertools
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltmesh.ovs.bridge import diff_bridge
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.port import diff_port
from tests.unit.test_properties import port_specs

pytestmark = pytest.mark.reliability

_counter = itertools.count()


@pytest.fixture(scope="module")
def bridges(ovs):
    """Two netdev bridges of the session OVS for this module (a spec may move a port)."""
    db = Ovsdb(ovs.db, timeout=5)  # a vswitchd that dies must fail the example fast
    prefix = "smtp" + uuid.uuid4().hex[:4]
    names = [f"{prefix}a", f"{prefix}b"]
    for name in names:
        db.transact(diff_bridge(name, db.snapshot(), datapath_type="netdev")[0])
    yield db, names, ovs
    ovs.reset(prefix)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_applying_a_diff_then_diffing_again_gives_nothing(bridges, data):
    db, (br_a, br_b), ovs = bridges
    n = next(_counter)
    name = f"smtq{n}"
    members = (f"smtq{n}a", f"smtq{n}b")

    def spec(bridge):
        s = data.draw(port_specs(name=name, bridge=bridge))
        if s.interfaces:  # bond members unique to this example
            s = dataclasses.replace(s, interfaces=members)
        return s

    try:
        if data.draw(st.booleans(), label="start from an existing port"):
            first = spec(data.draw(st.sampled_from([br_a, br_b])))
            db.transact(diff_port(first, db.snapshot())[0])
            assert diff_port(first, db.snapshot()) == ([], {})
        second = spec(data.draw(st.sampled_from([br_a, br_b])))
        before = db.snapshot()
        try:
            clauses, changes = diff_port(second, before)
        except SpecError as err:  # a move that would also change the type: refused
            assert "crashes ovs-vswitchd" in str(err)
            return
        db.transact(clauses)
        snap = db.snapshot()
        assert diff_port(second, snap) == ([], {}), (clauses, changes)
        old = before.ports.get(name)
        assert_port_is(second, snap, old.interfaces if old else (name,))
        assert ovs.running(), "ovs-vswitchd died"
    finally:
        db.transact([("--if-exists", "del-port", name)])


def assert_port_is(spec, snap, members_before) -> None:
    """What OVSDB holds is what the spec asks for (read directly, not through the diff);
    without ``interfaces`` the port keeps the members it had."""
    port = snap.ports[spec.name]
    assert port.bridge == spec.bridge
    for col in ("protected", "tag", "vlan_mode", "bond_mode", "lacp"):
        if getattr(spec, col) is not None:
            assert getattr(port, col) == getattr(spec, col), col
    if spec.trunks is not None:
        assert port.trunks == spec.trunks
    for col in ("external_ids", "other_config"):
        if getattr(spec, col) is not None:
            assert getattr(port, col) == getattr(spec, col), col
    members = spec.interfaces if spec.interfaces is not None else members_before
    assert port.interfaces == tuple(sorted(members))
    for member in members:
        iface = snap.interfaces[member]
        if spec.type is not None:
            assert iface.type == spec.type
        if spec.mtu_request is not None:
            assert iface.mtu_request == spec.mtu_request
        if spec.options is not None:
            if spec.options_exact:
                assert iface.options == spec.options
            else:
                assert spec.options.items() <= iface.options.items()
        if spec.bfd is not None:
            assert iface.bfd == spec.bfd
        if spec.iface_external_ids is not None:
            assert iface.external_ids == spec.iface_external_ids
