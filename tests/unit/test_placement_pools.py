"""The pool allocator (saltmesh.placement.addresses) and the record round trip: stable
addresses and MACs, never twice, exhaustion, reuse after removal; and hypothesis properties of
the planner (determinism, capacity, no address twice)."""

from __future__ import annotations

import copy
import ipaddress

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.inventory.model import Pool
from saltmesh.inventory.pools import Allocation
from saltmesh.placement import addresses, fleet, record

IP = ipaddress.IPv4Address
POOL = Pool("overlay", ipaddress.IPv4Network("192.168.77.0/24"), IP("192.168.77.100"),
            IP("192.168.77.104"), IP("192.168.77.1"))  # fmt: skip
POOLS = {"overlay": POOL}


def needs(*names, pool="overlay"):
    return [addresses.Need(n, "eth0", pool, (n,)) for n in names]


def ips(result):
    return {n: str(i["eth0"].ip) for n, i in result.allocations.items()}


def test_mac_is_derived_from_pool_and_ip():
    assert addresses.mac_for("overlay", IP("192.168.77.100")).endswith(":c0:a8:4d:64")
    mac = addresses.mac_for("overlay", IP("10.0.0.1"))
    assert mac.startswith("02:") and int(mac[:2], 16) & 1 == 0
    assert addresses.mac_for("other", IP("10.0.0.1")) != mac  # the second byte tags the pool


def test_lowest_free_first_and_recorded_ones_kept():
    first = addresses.allocate(needs("a", "b", "c"), POOLS, {})
    assert ips(first) == {"a": "192.168.77.100", "b": "192.168.77.101", "c": "192.168.77.102"}
    # b is recorded with another address: it keeps it (and its MAC); newcomers fill the gaps
    old = {"b": {"eth0": Allocation("overlay", IP("192.168.77.104"), "02:aa:aa:aa:aa:aa")}}
    second = addresses.allocate(needs("a", "b", "d"), POOLS, old)
    assert ips(second) == {"a": "192.168.77.100", "b": "192.168.77.104", "d": "192.168.77.101"}
    assert second.allocations["b"]["eth0"].mac == "02:aa:aa:aa:aa:aa"


def test_hand_written_addresses_and_gateway_are_never_allocated():
    pool = Pool("p", POOL.subnet, IP("192.168.77.1"), IP("192.168.77.4"), IP("192.168.77.1"))
    result = addresses.allocate(needs("a", "b", pool="p"), {"p": pool}, {}, [IP("192.168.77.2")])
    assert ips(result) == {"a": "192.168.77.3", "b": "192.168.77.4"}


def test_exhaustion_names_the_pool_and_the_containers():
    result = addresses.allocate(needs(*[f"c{i}" for i in range(8)]), POOLS, {})
    assert len(result.allocations) == 5
    ((path, message),) = result.problems
    assert path == "saltmesh:pools:overlay"
    assert "pool overlay is exhausted (192.168.77.100-192.168.77.104: 5 addresses, 5 taken)" in (
        message
    )
    assert message.endswith("no address for c5, c6, c7")


def test_released_address_waits_one_change_then_is_reused():
    first = addresses.allocate(needs("a", "b", "c"), POOLS, {})
    # c is gone and d arrives in the same change: d does not get c's address (c may still run)
    second = addresses.allocate(needs("a", "b", "d"), POOLS, first.allocations)
    assert ips(second)["d"] == "192.168.77.103"
    assert "c" not in second.allocations
    # next change: c's old address is free again
    third = addresses.allocate(needs("a", "b", "d", "e", "f"), POOLS, second.allocations)
    assert ips(third)["e"] == "192.168.77.102" and ips(third)["f"] == "192.168.77.104"


def test_released_address_is_reused_at_once_when_nothing_else_is_left():
    full = addresses.allocate(needs("a", "b", "c", "d", "e"), POOLS, {})
    swapped = addresses.allocate(needs("a", "b", "c", "d", "x"), POOLS, full.allocations)
    assert ips(swapped)["x"] == "192.168.77.104" and not swapped.problems
    assert "released by e in this change" in swapped.notes["x"][0]


def test_invalid_records_are_reallocated_with_a_reason():
    old = {
        "a": {"eth0": Allocation("overlay", IP("192.168.77.50"), "02:00:00:00:00:01")},
        "b": {"eth0": Allocation("overlay", IP("192.168.77.101"), "02:00:00:00:00:02")},
        "c": {"eth0": Allocation("overlay", IP("192.168.77.101"), "02:00:00:00:00:03")},
        "d": {"eth0": Allocation("elsewhere", IP("192.168.77.102"), "02:00:00:00:00:04")},
    }
    result = addresses.allocate(needs("a", "b", "c", "d"), POOLS, old)
    assert len(set(ips(result).values())) == 4
    assert ips(result)["b"] == "192.168.77.101"
    assert "outside the range" in result.notes["a"][0]
    assert "already b's" in result.notes["c"][0]
    assert "moved from pool elsewhere" in result.notes["d"][0]


# ------------------------------------------------------------------------ through pillar

PILLAR = {
    "saltmesh": {"pools": {"overlay": {"subnet": "192.168.77.0/24", "gateway": "192.168.77.1",
                                       "range": ["192.168.77.100", "192.168.77.199"]}}},
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11"},
        "docker02": {"node_type": "docker_host", "address": "10.0.0.12"},
        "docker03": {"node_type": "docker_host", "address": "10.0.0.13"},
        "web": {"node_type": "app", "instances": 3, "constraints": [{"unique": "host"}],
                "container": {"image": "local/busybox:latest",
                              "networks": [{"bridge": "br-mesh", "pool": "overlay"}]}},
        "solo": {"node_type": "container", "parents": "docker02",
                 "container": {"image": "local/busybox:latest",
                               "networks": [{"bridge": "br-mesh", "pool": "overlay"}]}},
    },
}  # fmt: skip


def with_record(pillar, plan):
    """What the compiled pillar holds after placement.apply: the record file included."""
    text = record.render(plan.placement(), plan.allocations(), plan.usable_hosts())
    data = yaml.safe_load(text)["saltmesh"]
    out = copy.deepcopy(pillar)
    out["saltmesh"].update(data)
    return out


def test_the_record_makes_instances_ordinary_containers_with_their_addresses():
    plan = fleet.plan(PILLAR)
    assert record.parse_allocations(record.render(plan.placement(), plan.allocations())) == (
        plan.allocations()
    )
    inv = inventory.parse(with_record(PILLAR, plan))
    assert inv.pending == {}
    on_hosts = {s.name: s.parents[0] for s in inv.by_type("container")}
    assert on_hosts == {r.name: r.host for r in plan.rows}
    assert len(set(on_hosts[f"web-{i}"] for i in (1, 2, 3))) == 3
    for row in plan.rows:
        server = inv.servers[row.name]
        net = server.container.networks[0]
        assert (
            str(net.ip) == row.addresses["eth0"]["ip"] and net.mac == row.addresses["eth0"]["mac"]
        )
        assert server.address == str(net.ip.ip)  # Nagios uses the pool address
        assert str(net.gateway) == "192.168.77.1"
    # the pinned container is not in the placement record, but its address is
    assert "solo" not in plan.placement() and "solo" in plan.allocations()


def test_addresses_survive_moves_and_scale_down_releases():
    plan = fleet.plan(PILLAR)
    recorded = with_record(PILLAR, plan)
    recorded["saltmesh"]["placement_weights"] = {plan.placement()["web-2"]: 0}
    recorded["servers"]["docker04"] = {"node_type": "docker_host", "address": "10.0.0.14"}
    moved = fleet.plan(recorded)
    assert [r.name for r in moved.rows if r.moved] == ["web-2"]
    assert moved.allocations() == plan.allocations()
    smaller = with_record(PILLAR, plan)
    smaller["servers"]["web"]["instances"] = 2
    after = fleet.plan(smaller)
    assert "web-3" not in after.allocations()
    assert record.address_changes(plan.allocations(), after.allocations()) == {
        "web-3": {"old": {"eth0": plan.allocations()["web-3"]["eth0"]["ip"]}, "new": None}
    }


def test_pool_exhaustion_through_pillar_fails_before_anything():
    pillar = copy.deepcopy(PILLAR)
    pillar["saltmesh"]["pools"]["overlay"]["range"] = ["192.168.77.100", "192.168.77.102"]
    with pytest.raises(PillarError) as err:
        fleet.plan(pillar)
    assert "saltmesh:pools:overlay: pool overlay is exhausted" in str(err.value)


# ------------------------------------------------------------------------ properties

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def fleets(draw):
    n_hosts = draw(st.integers(1, 8))
    servers = {}
    for i in range(n_hosts):
        servers[f"h{i}"] = {
            "node_type": "docker_host",
            "address": f"10.0.0.{i + 1}",
            "zone": draw(st.sampled_from("ab")),
            "capacity": {"cpus": draw(st.integers(1, 4)), "memory": f"{draw(st.integers(1, 4))}g"},
        }
    for a in range(draw(st.integers(1, 5))):
        rules = draw(st.lists(st.sampled_from([
            {"unique": "host"}, {"max_per": {"zone": 2}}, {"spread": "zone"},
            {"avoid": {"zone": "b"}}, {"prefer": {"zone": "a"}, "weight": 5},
        ]), max_size=2, unique_by=lambda r: str(r)))  # fmt: skip
        servers[f"app{a}"] = {
            "node_type": "app",
            "instances": draw(st.integers(0, 4)),
            "constraints": rules,
            "container": {
                "image": "local/busybox:latest",
                "cpus": draw(st.sampled_from([0.1, 0.5, 1.0])),
                "memory": draw(st.sampled_from(["64m", "512m", "1g"])),
                "networks": [{"bridge": "br-mesh", "pool": "p"}],
            },
        }
    return {"servers": servers, "saltmesh": {"pools": {"p": {"subnet": "10.9.0.0/24"}}}}


def _plan_or_none(pillar):
    try:
        return fleet.plan(pillar)
    except PillarError as err:
        assert all("cannot be placed" in m or "exhausted" in m for _, m in err.problems), err
        return None


@SETTINGS
@given(fleets())
def test_property_deterministic_capacity_and_unique_addresses(pillar):
    plan = _plan_or_none(pillar)
    shuffled = copy.deepcopy(pillar)
    shuffled["servers"] = dict(reversed(list(pillar["servers"].items())))
    again = _plan_or_none(shuffled)
    if plan is None:
        assert again is None
        return
    assert [(r.name, r.host, r.addresses) for r in plan.rows] == [
        (r.name, r.host, r.addresses) for r in again.rows
    ]
    for h in plan.hosts:
        assert h.cpus <= h.cpus_total + 1e-9 and h.memory <= h.memory_total
    ips_ = [a["ip"] for r in plan.rows for a in r.addresses.values()]
    macs = [a["mac"] for r in plan.rows for a in r.addresses.values()]
    assert len(ips_) == len(set(ips_)) and len(macs) == len(set(macs))
    # recorded and planned again: nothing moves, no address changes
    replanned = fleet.plan(with_record(pillar, plan))
    assert not any(r.moved for r in replanned.rows)
    assert replanned.allocations() == plan.allocations()
    # one more instance of an app: exactly one container more, nothing moves
    bigger = with_record(pillar, plan)
    bigger["servers"]["app0"]["instances"] += 1
    grown = _plan_or_none(bigger)
    if grown is not None:
        assert len(grown.rows) == len(plan.rows) + 1
        assert not any(r.moved for r in grown.rows)
        assert {k: v for k, v in grown.allocations().items() if k in plan.allocations()} == (
            plan.allocations()
        )


def test_nagios_monitors_instances_at_their_pool_address_once_recorded():
    from tests.unit.nagios import sample

    data = sample.pillar()
    del data["servers"]["docker01"]["parents"]  # a hand-written Nagios host: runners refuse it
    data["saltmesh"]["pools"] = {"overlay": {"subnet": "192.168.78.0/24"}}
    data["servers"]["api"] = {
        "node_type": "app", "instances": 2, "use": "linux-server",
        "container": {"image": "local/busybox:latest",
                      "networks": [{"bridge": "br-mesh", "pool": "overlay"}]},
    }  # fmt: skip
    before = sample.render(data)
    assert not any("api-" in name for name in before)  # pending: no address yet
    recorded = with_record(data, fleet.plan(data))
    files = sample.render(recorded)
    hosts = {name: text.decode() for name, text in files.items() if "api-" in name}
    assert len(hosts) == 2
    for text in hosts.values():
        assert "parents" in text and "docker01" in text
        assert "address" in text and "192.168.78." in text
