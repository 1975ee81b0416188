"""Property-based tests (Hypothesis) of the pure cores: the mesh planner and the OVS port diff.

The planner: deterministic and independent of the pillar's key order, N-1 tunnels per host
(one to every other host), port names unique per host and at most 15 bytes. The diff: the
order of map keys never changes the clauses or the changes, and the same input always gives
the same output. (Applying a diff and diffing again: tests/integration/ovs/test_properties.py,
on a real OVSDB.)
"""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltmesh import inventory
from saltmesh.constants import IFNAMSIZ, TUNNEL_TYPES
from saltmesh.mesh import planner
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.port import diff_port
from saltmesh.ovs.schema import Snapshot
from saltmesh.ovs.spec import PortSpec
from tests.unit.ovs.helpers import make_snap, tunnel

pytestmark = pytest.mark.reliability

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

host_names = st.from_regex(r"[a-z]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True)
ipv4 = st.integers(min_value=0x01000000, max_value=0xDFFFFFFF).map(
    lambda n: str(ipaddress.IPv4Address(n))
)
ipv6 = st.integers(min_value=1, max_value=2**64).map(
    lambda n: str(ipaddress.IPv6Address((0xFD00 << 112) | n))
)


@st.composite
def mesh_pillars(draw):
    """A valid pillar: 2-12 docker hosts with distinct underlay addresses of one family, any
    tunnel type and key, and some non-mesh servers."""
    names = draw(st.lists(host_names, min_size=2, max_size=12, unique=True))
    ips = draw(st.lists(draw(st.sampled_from([ipv4, ipv6])), min_size=len(names),
                        max_size=len(names), unique=True))  # fmt: skip
    servers = {
        n: {"node_type": "docker_host", "address": ip} for n, ip in zip(names, ips, strict=True)
    }
    for extra in draw(st.lists(host_names.filter(lambda n: n not in servers), max_size=3,
                               unique=True)):  # fmt: skip
        servers[extra] = {"address": f"{extra}.example.com"}
    mesh = {"tunnel": draw(st.sampled_from(TUNNEL_TYPES)), "underlay_mtu": 1600}
    if draw(st.booleans()):
        mesh["key"] = draw(st.integers(0, 2**24 - 1))
    if draw(st.booleans()):
        mesh["options"] = {"csum": "true", "tos": "inherit"}
    return {"servers": servers, "saltmesh": {"mesh": mesh}}


def shuffled(value, rnd: random.Random):
    if isinstance(value, dict):
        items = list(value.items())
        rnd.shuffle(items)
        return {k: shuffled(v, rnd) for k, v in items}
    return value


def fleet_json(pillar) -> str:
    fleet = planner.plan_fleet(inventory.parse(pillar))
    return json.dumps({h: hp.to_dict() for h, hp in fleet.items()})


@SETTINGS
@given(pillar=mesh_pillars(), seed=st.integers(0, 2**32))
def test_planner_is_deterministic_whatever_the_key_order(pillar, seed):
    reference = fleet_json(pillar)
    assert fleet_json(pillar) == reference
    assert fleet_json(shuffled(pillar, random.Random(seed))) == reference


@SETTINGS
@given(pillar=mesh_pillars())
def test_every_host_gets_one_tunnel_to_every_other_host(pillar):
    fleet = planner.plan_fleet(inventory.parse(pillar))
    hosts = {n for n, s in pillar["servers"].items() if s.get("node_type") == "docker_host"}
    assert set(fleet) == hosts
    for host, hp in fleet.items():
        assert len(hp.tunnels) == len(hosts) - 1
        assert {t.peer for t in hp.tunnels} == hosts - {host}
        names = [t.name for t in hp.tunnels]
        assert len(set(names)) == len(names)
        assert all(len(n.encode()) <= IFNAMSIZ for n in names), names
        assert all(n.startswith(f"{hp.type}-") for n in names)
        # a peer's port has the same name on every host that carries it
        for t in hp.tunnels:
            assert t.name == planner.port_name(hp.type, t.remote_ip)


# --- the OVS port diff ----------------------------------------------------------------------

map_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x7E) | st.sampled_from("éß€"),
    min_size=1,
    max_size=8,
)
maps = st.dictionaries(map_text, map_text, max_size=4)


@st.composite
def port_specs(draw, name="p1", bridge="br0"):
    kind = draw(st.sampled_from(["", "internal", "gre", "vxlan", "geneve", "patch", None]))
    options = draw(st.none() | maps)
    if options is not None and kind in ("gre", "vxlan", "geneve"):
        options = {**options, "remote_ip": draw(ipv4)}
    if options is not None and kind == "patch":
        options = {**options, "peer": "peer0"}
    bond = kind in ("", None) and draw(st.booleans())
    return PortSpec(
        name=name,
        bridge=bridge,
        type=kind,
        options=options,
        external_ids=draw(st.none() | maps),
        iface_external_ids=draw(st.none() | maps),
        other_config=draw(st.none() | maps),
        bfd=draw(st.none() | maps),
        protected=draw(st.none() | st.booleans()),
        tag=draw(st.none() | st.integers(0, 4095)),
        trunks=draw(st.none() | st.lists(st.integers(0, 4095), max_size=4).map(tuple)),
        vlan_mode=draw(st.none() | st.sampled_from(["access", "trunk", "native-untagged"])),
        mtu_request=draw(st.none() | st.integers(68, 9000)),
        interfaces=("m1", "m2") if bond else None,
        bond_mode=draw(st.sampled_from(["balance-slb", "active-backup"])) if bond else None,
        lacp=draw(st.sampled_from(["active", "off", None])) if bond else None,
        options_exact=draw(st.booleans()),
    )


def reordered(spec: PortSpec, rnd: random.Random) -> PortSpec:
    """The same spec with every map given in another key order."""
    fields = {}
    for attr in ("options", "external_ids", "iface_external_ids", "other_config", "bfd"):
        value = getattr(spec, attr)
        if value is not None:
            fields[attr] = shuffled(dict(value), rnd)
    return dataclasses.replace(spec, **fields)


snapshots = st.sampled_from(
    [
        make_snap(),
        make_snap(tunnel(name="p1", options={"remote_ip": "10.0.0.9", "k": "v"})),
        make_snap(tunnel(name="p1", bridge="br1", type="vxlan", protected=False, tag=7)),
    ]
)


@SETTINGS
@given(spec=port_specs(), snap=snapshots, seed=st.integers(0, 2**32))
def test_diff_ignores_the_order_of_map_keys(spec: PortSpec, snap: Snapshot, seed):
    first = outcome(spec, snap)
    assert outcome(spec, snap) == first  # deterministic
    assert outcome(reordered(spec, random.Random(seed)), snap) == first


def outcome(spec: PortSpec, snap: Snapshot):
    """The diff, or the error refusing it."""
    try:
        return diff_port(spec, snap)
    except SpecError as err:
        return str(err)
