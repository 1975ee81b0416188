"""Placement pillar in the inventory: apps expanded into instances, host attributes, capacity,
constraints, reservations, pools and the recorded pool addresses."""

from __future__ import annotations

import copy

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.inventory.model import Constraint, Resources
from saltmesh.units import format_size, parse_size

BASE = {
    "saltmesh": {
        "pools": {"overlay": {"subnet": "192.168.77.0/24", "gateway": "192.168.77.1",
                              "range": ["192.168.77.100", "192.168.77.199"]}},
    },
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11", "zone": "a",
                     "rack": "r1", "labels": {"ssd": True}, "capacity": {"cpus": 4, "memory": "8g"}},
        "docker02": {"node_type": "docker_host", "address": "10.0.0.12", "zone": "b"},
        "web": {
            "node_type": "app",
            "instances": 3,
            "use": "linux-server",
            "constraints": [
                {"unique": "host"},
                {"max_per": {"zone": 2}},
                {"spread": "zone"},
                {"match": {"labels.ssd": "true"}},
                {"avoid": {"rack": ["r8", "r9"]}},
                {"prefer": {"zone": "a"}, "weight": 50},
            ],
            "container": {"image": "local/busybox:latest", "cpus": 0.5, "memory": "256m",
                          "networks": [{"bridge": "br-mesh", "pool": "overlay"}]},
        },
    },
}  # fmt: skip


def pillar(**saltmesh):
    data = copy.deepcopy(BASE)
    data["saltmesh"].update(saltmesh)
    return data


def problems(change):
    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(PillarError) as err:
        inventory.parse(data)
    return dict(err.value.problems)


def test_units():
    assert parse_size("256m") == 256 * 1024**2
    assert parse_size("8g") == 8 * 1024**3
    assert parse_size("1.5g") == 3 * 1024**3 // 2
    assert parse_size(1000) == 1000
    assert [parse_size(v) for v in ("lots", "1.5", True, -1, "")] == [None] * 5
    assert [format_size(v) for v in (256 * 1024**2, 3 * 1024**3 // 2, 512, 2048)] == [
        "256m", "1.5g", "512b", "2k",
    ]  # fmt: skip


def test_app_expands_into_pending_instances():
    inv = inventory.parse(BASE)
    assert inv.apps == {"web": ("web-1", "web-2", "web-3")}
    assert sorted(inv.pending) == ["web-1", "web-2", "web-3"]  # no address recorded yet
    assert "web" not in inv.servers and "web-1" not in inv.servers
    web2 = inv.pending["web-2"]
    assert (web2.node_type, web2.app, web2.minion_id, web2.use) == (
        "container", "web", "web-2", ("linux-server",),
    )  # fmt: skip
    assert web2.demand == Resources(0.5, 256 * 1024**2)
    kinds = [(c.kind, c.attribute, c.values, c.count, c.weight) for c in web2.constraints]
    assert kinds == [
        ("unique", "host", (), 1, 0),
        ("max_per", "zone", (), 2, 0),
        ("spread", "zone", (), 0, 0),
        ("match", "labels.ssd", ("true",), 0, 0),
        ("avoid", "rack", ("r8", "r9"), 0, 0),
        ("prefer", "zone", ("a",), 0, 50),
    ]
    assert web2.constraints[0].path == "servers:web:constraints:0"
    assert [c.describe() for c in web2.constraints[3:]] == [
        "match labels.ssd=true", "avoid rack=r8|r9", "prefer zone=a (+50)",
    ]  # fmt: skip


def test_host_attributes_and_capacity():
    inv = inventory.parse(BASE)
    d1 = inv.servers["docker01"]
    assert (d1.zone, d1.rack, d1.labels) == ("a", "r1", (("ssd", "true"),))
    assert d1.capacity == Resources(4.0, 8 * 1024**3)
    assert [d1.attribute(a) for a in ("host", "zone", "rack", "labels.ssd", "labels.x")] == [
        "docker01", "a", "r1", "true", None,
    ]  # fmt: skip
    assert inv.servers["docker02"].capacity is None


def test_recorded_addresses_and_placement_make_instances_ordinary_containers():
    rec = {
        f"web-{i}": {"eth0": {"pool": "overlay", "ip": f"192.168.77.{99 + i}",
                              "mac": f"02:5e:c0:a8:4d:{99 + i:02x}"}}
        for i in (1, 2, 3)
    }  # fmt: skip
    inv = inventory.parse(pillar(allocations=rec, placement={"web-1": "docker01"}))
    assert inv.pending == {}
    web1 = inv.servers["web-1"]
    net = web1.container.networks[0]
    assert (str(net.ip), net.mac, str(net.gateway), net.pool) == (
        "192.168.77.100/24", "02:5e:c0:a8:4d:64", "192.168.77.1", "overlay",
    )  # fmt: skip
    assert web1.address == "192.168.77.100"  # Nagios' address too
    assert web1.parents == ("docker01",)
    assert [s.name for s in inv.containers_on("docker01")] == ["web-1"]
    # a record from another pool or outside the subnet does not count: pending again
    rec["web-3"]["eth0"]["pool"] = "other"
    rec["web-2"]["eth0"]["ip"] = "10.9.9.9"
    inv = inventory.parse(pillar(allocations=rec))
    assert sorted(inv.pending) == ["web-2", "web-3"]


def test_a_recorded_address_twice_is_refused():
    rec = {
        name: {"eth0": {"pool": "overlay", "ip": "192.168.77.100", "mac": "02:00:00:00:00:01"}}
        for name in ("web-1", "web-2")
    }
    with pytest.raises(PillarError) as err:
        inventory.parse(pillar(allocations=rec))
    assert "servers:web:container:networks:0:pool" in dict(err.value.problems)


def test_single_container_with_pool_needs_no_address():
    data = copy.deepcopy(BASE)
    data["servers"]["db"] = {
        "node_type": "container",
        "constraints": [{"match": {"zone": "b"}}],
        "reserve": {"memory": "1g"},
        "container": {"image": "local/busybox:latest", "memory": "2g",
                      "networks": [{"bridge": "br-mesh", "pool": "overlay"}]},
    }  # fmt: skip
    inv = inventory.parse(data)
    assert inv.pending["db"].demand == Resources(0.0, 1024**3)
    assert inv.pending["db"].constraints == (
        Constraint("match", "zone", ("b",), path="servers:db:constraints:0"),
    )


def _set(path, value):
    def change(data):
        node = data
        for key in path[:-1]:
            node = node[key]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value

    return change


WEB = ["servers", "web"]


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (_set([*WEB, "instances"], -1), "servers:web:instances", "out of range"),
        (_set([*WEB, "instances"], "many"), "servers:web:instances", "must be an integer"),
        (_set([*WEB, "address"], "10.1.1.1"), "servers:web:address", "own address"),
        (_set([*WEB, "parents"], "docker01"), "servers:web:parents", "own parents"),
        (_set([*WEB, "container"], KeyError), "servers:web:container", "is required"),
        (_set([*WEB, "zone"], "a"), "servers:web:zone", "only node_type docker_host"),
        (_set(["servers", "docker01", "instances"], 2), "servers:docker01:instances",
         "only node_type app"),
        (_set([*WEB, "constraints"], {"unique": "host"}), "servers:web:constraints",
         "must be a list"),
        (_set([*WEB, "constraints"], [{"unique": "colour"}]), "servers:web:constraints:0:unique",
         "not a host attribute"),
        (_set([*WEB, "constraints"], [{"unique": "host", "spread": "zone"}]),
         "servers:web:constraints:0", "exactly one"),
        (_set([*WEB, "constraints"], [{"uniq": "host"}]), "servers:web:constraints:0:uniq",
         "unknown key"),
        (_set([*WEB, "constraints"], [{"max_per": {"zone": 0}}]),
         "servers:web:constraints:0:max_per:zone", ">= 1"),
        (_set([*WEB, "constraints"], [{"match": {}}]), "servers:web:constraints:0:match",
         "at least one"),
        (_set([*WEB, "constraints"], [{"match": {"zone": "a b"}}]),
         "servers:web:constraints:0:match:zone", "short string"),
        (_set([*WEB, "constraints"], [{"match": {"zone": "a"}, "weight": 3}]),
         "servers:web:constraints:0:weight", "only prefer"),
        (_set([*WEB, "constraints"], [{"prefer": {"zone": "a"}, "weight": 0}]),
         "servers:web:constraints:0:weight", "other than 0"),
        (_set([*WEB, "reserve"], {"cpus": -1}), "servers:web:reserve:cpus", ">= 0"),
        (_set(["servers", "docker01", "capacity"], {"memory": "lots"}),
         "servers:docker01:capacity:memory", "not a size"),
        (_set(["servers", "docker01", "capacity"], {"cpus": 0}),
         "servers:docker01:capacity:cpus", "> 0"),
        (_set(["servers", "docker01", "labels"], {"ssd": ["x"]}),
         "servers:docker01:labels:ssd", "short string"),
        (_set([*WEB, "container", "networks", 0, "pool"], "nope"),
         "servers:web:container:networks:0:pool", "unknown pool 'nope'"),
        (_set([*WEB, "container", "networks", 0, "ip"], "192.168.77.5/24"),
         "servers:web:container:networks:0:ip", "pool overlay gives the ip"),
        (_set(["saltmesh", "pools", "overlay", "subnet"], "192.168.77.1/24"),
         "saltmesh:pools:overlay:subnet", "not a network"),
        (_set(["saltmesh", "pools", "overlay", "subnet"], "fd00::/64"),
         "saltmesh:pools:overlay:subnet", "pools are IPv4"),
        (_set(["saltmesh", "pools", "overlay", "range"], ["192.168.77.9", "192.168.78.1"]),
         "saltmesh:pools:overlay:range:1", "outside"),
        (_set(["saltmesh", "pools", "overlay", "range"], ["192.168.77.9", "192.168.77.1"]),
         "saltmesh:pools:overlay:range", "comes after"),
        (_set(["saltmesh", "pools", "second"], {"subnet": "192.168.77.128/25"}),
         "saltmesh:pools:second:range", "overlaps"),
        (_set(["servers", "web-2"], {"node_type": "container", "address": "10.9.0.1"}),
         "servers:web:instances", "already a server name"),
        (_set(["saltmesh", "allocations"], {"web-1": {"eth0": {"pool": "overlay",
              "ip": "192.168.77.100", "mac": "nope"}}}),
         "saltmesh:allocations:web-1:eth0:mac", "not a MAC"),
        (_set(["saltmesh", "placement"], {"web-1": "ghost"}), "saltmesh:placement:web-1",
         "unknown parent"),
    ],
)  # fmt: skip
def test_bad_placement_pillar_names_the_path(change, path, message):
    found = problems(change)
    assert path in found, found
    assert message in found[path]
