"""Placement by rules and resources (saltmesh.placement.fleet and the planner): every constraint
kind, the resource fit, minimal moves, and the explanations of a plan that cannot be made."""

from __future__ import annotations

import copy
from collections import Counter

import pytest

from saltmesh.errors import PillarError
from saltmesh.placement import fleet, report
from saltmesh.units import parse_size

IMAGE = "local/busybox:latest"


def host(i, zone=None, **extra):
    data = {"node_type": "docker_host", "address": f"10.0.{i // 250}.{i % 250 + 1}"}
    if zone is not None:
        data["zone"] = zone
    data.update(extra)
    return data


def app(instances, *constraints, cpus=None, memory=None, pool=False, **extra):
    spec = {"image": IMAGE}
    if cpus is not None:
        spec["cpus"] = cpus
    if memory is not None:
        spec["memory"] = memory
    if pool:
        spec["networks"] = [{"bridge": "br-mesh", "pool": "overlay"}]
    return {"node_type": "app", "instances": instances, "constraints": list(constraints),
            "container": spec, **extra}  # fmt: skip


def fleet_pillar(hosts, apps, **saltmesh):
    servers = dict(hosts)
    servers.update(apps)
    return {"servers": servers, "saltmesh": saltmesh}


def zones(n, names="abc", **extra):
    """``n`` hosts d00.. spread over zones ``names`` in turn."""
    return {f"d{i:02d}": host(i, names[i % len(names)], **extra) for i in range(n)}


def hosts_of(plan):
    return {r.name: r.host for r in plan.rows}


def replan(pillar, plan, **saltmesh):
    """``pillar`` with ``plan`` recorded (what placement.apply writes) and ``saltmesh`` changes."""
    out = copy.deepcopy(pillar)
    out["saltmesh"].update(
        placement=plan.placement(),
        allocations=plan.allocations(),
        placement_hosts=plan.usable_hosts(),
    )
    out["saltmesh"].update(saltmesh)
    return out


def failure(pillar) -> str:
    with pytest.raises(PillarError) as err:
        fleet.plan(pillar)
    return str(err.value)


# ------------------------------------------------------------------------ each constraint kind


def test_unique_host_one_per_host_and_infeasible_beyond():
    p = fleet.plan(fleet_pillar(zones(4), {"web": app(4, {"unique": "host"})}))
    assert len(set(hosts_of(p).values())) == 4
    text = failure(fleet_pillar(zones(3), {"web": app(4, {"unique": "host"})}))
    assert "servers:web: web-4 cannot be placed on any of 3 docker hosts" in text
    assert "unique host rules out" in text and "d00 (runs web-" in text


def test_unique_zone_and_hosts_without_the_attribute():
    hosts = {**zones(6), "bare": host(99)}
    p = fleet.plan(fleet_pillar(hosts, {"web": app(3, {"unique": "zone"})}))
    placed = {hosts[h]["zone"] for h in hosts_of(p).values()}
    assert placed == {"a", "b", "c"}
    text = failure(fleet_pillar(hosts, {"web": app(4, {"unique": "zone"})}))
    assert "unique zone needs a zone; none on bare" in text
    assert "unique zone rules out" in text and "has 1 of web" in text


def test_max_per():
    hosts = zones(4, "ab")  # 2 hosts per zone
    p = fleet.plan(fleet_pillar(hosts, {"web": app(4, {"max_per": {"zone": 2}})}))
    assert Counter(hosts[h]["zone"] for h in hosts_of(p).values()) == {"a": 2, "b": 2}
    text = failure(fleet_pillar(hosts, {"web": app(5, {"max_per": {"zone": 2}})}))
    assert "max_per zone 2 rules out" in text


def test_max_per_host_allows_doubling_up():
    p = fleet.plan(fleet_pillar(zones(2), {"web": app(4, {"max_per": {"host": 2}})}))
    assert Counter(hosts_of(p).values()) == {"d00": 2, "d01": 2}


@pytest.mark.parametrize("instances", [2, 3, 4, 5, 7, 9])
def test_spread_is_exact(instances):
    hosts = zones(9)  # 3 zones of 3 hosts
    p = fleet.plan(fleet_pillar(hosts, {"web": app(instances, {"spread": "zone"})}))
    counts = Counter(hosts[h]["zone"] for h in hosts_of(p).values())
    counts.update(dict.fromkeys("abc", 0))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_spread_refuses_uneven_when_a_zone_is_full():
    hosts = zones(6)
    for data in hosts.values():
        if data["zone"] == "c":
            data["capacity"] = {"cpus": 0.5, "memory": "1g"}
    text = failure(fleet_pillar(hosts, {"web": app(6, {"spread": "zone"}, cpus=0.6)}))
    assert "cannot be placed" in text and "not enough cpu on" in text
    assert "spread zone rules out" in text and "has its share: 2 of 6 over 3 zones" in text


def test_match_and_avoid():
    hosts = zones(6)
    hosts["d00"]["labels"] = {"ssd": True}
    hosts["d01"]["labels"] = {"ssd": "true"}
    hosts["d02"]["labels"] = {"ssd": "false"}
    p = fleet.plan(fleet_pillar(hosts, {"db": app(2, {"match": {"labels.ssd": "true"}})}))
    assert set(hosts_of(p).values()) == {"d00", "d01"}
    p = fleet.plan(fleet_pillar(hosts, {"web": app(4, {"avoid": {"zone": ["a", "b"]}},
                                                   {"max_per": {"host": 2}})}))  # fmt: skip
    assert {hosts[h]["zone"] for h in hosts_of(p).values()} == {"c"}
    text = failure(fleet_pillar(hosts, {"db": app(3, {"match": {"labels.ssd": "true"}},
                                                  {"unique": "host"})}))  # fmt: skip
    assert "match labels.ssd=true rules out d02 (labels.ssd false), d03 (no labels.ssd)" in text


def test_prefer_is_soft_and_weighted():
    hosts = zones(6)
    p = fleet.plan(fleet_pillar(hosts, {"web": app(2, {"prefer": {"zone": "b"}, "weight": 50})}))
    assert {hosts[h]["zone"] for h in hosts_of(p).values()} == {"b"}
    assert {r.rule for r in p.rows} <= {"prefer", "spread host"}
    # two prefers: the heavier wins; more instances than preferred hosts spill over
    rules = ({"prefer": {"zone": "a"}, "weight": 10}, {"prefer": {"zone": "c"}, "weight": 30})
    p = fleet.plan(fleet_pillar(hosts, {"web": app(4, *rules)}))
    zone_of = Counter(hosts[h]["zone"] for h in hosts_of(p).values())
    assert zone_of == {"c": 2, "a": 2}


def test_drained_host_takes_nothing_and_its_containers_leave():
    hosts = zones(4)
    base = fleet_pillar(hosts, {"web": app(3, {"unique": "host"})})
    first = fleet.plan(base)
    victim = hosts_of(first)["web-2"]
    second = fleet.plan(replan(base, first, placement_weights={victim: 0}))
    moved = {r.name: r for r in second.rows if r.moved}
    assert list(moved) == ["web-2"]
    assert moved["web-2"].left == f"{victim} is drained (weight 0)"
    assert victim not in hosts_of(second).values()
    assert report.steps({"web-2": {"old": victim, "new": moved["web-2"].host}}) == [
        f"1. {victim}: stop web-2 (containers.prune)",
        f"2. {moved['web-2'].host}: start web-2 (containers)",
    ]


# ------------------------------------------------------------------------ resources


def test_resource_fit_never_exceeds_capacity():
    hosts = {f"d{i}": host(i, capacity={"cpus": 2, "memory": "1g"}) for i in range(3)}
    apps = {"web": app(4, cpus=0.9, memory="300m"), "big": app(2, memory="700m")}
    p = fleet.plan(fleet_pillar(hosts, apps))
    for h in p.hosts:
        assert h.cpus <= h.cpus_total + 1e-9 and h.memory <= h.memory_total
    # what runs stays; the newcomer that fits nowhere is named
    later = replan(fleet_pillar(hosts, apps), p)
    later["servers"]["more"] = app(1, memory="900m")
    text = failure(later)
    assert "more-1 cannot be placed" in text and "not enough memory on d0 (needs 900m" in text


def test_reserve_overrides_limits_and_grains_give_missing_capacity():
    hosts = {"d0": host(0, minion_id="m0"), "d1": host(1, capacity={"memory": "1g"})}
    apps = {"web": app(3, cpus=2, memory="512m", reserve={"cpus": 1})}
    grains = {"m0": {"num_cpus": 2, "mem_total": 1024}}
    p = fleet.plan(fleet_pillar(hosts, apps), grains)
    by_host = {h.name: h for h in p.hosts}
    assert (by_host["d0"].cpus_total, by_host["d0"].memory_total) == (2.0, parse_size("1g"))
    assert by_host["d0"].source == "grains" and by_host["d1"].source == "pillar"
    assert by_host["d1"].cpus_total is None  # no cpu limit known for d1: not limited
    assert sorted(Counter(hosts_of(p).values()).values()) == [1, 2]
    assert {r.cpus for r in p.rows} == {1.0}


def test_placement_capacity_still_counts_containers():
    hosts = {f"d{i}": host(i) for i in range(2)}
    p = fleet.plan(fleet_pillar(hosts, {"web": app(5)}, placement_capacity={"d0": 1}))
    assert Counter(hosts_of(p).values()) == {"d0": 1, "d1": 4}


def test_pinned_containers_count_and_may_overfill():
    hosts = {"d0": host(0, capacity={"cpus": 1, "memory": "1g"}), "d1": host(1)}
    apps = {
        "pin": {"node_type": "container", "address": "10.9.0.1", "parents": "d0",
                "container": {"image": IMAGE, "cpus": 2}},
        "web": app(2, cpus=0.5),
    }  # fmt: skip
    p = fleet.plan(fleet_pillar(hosts, apps))
    assert hosts_of(p) == {"pin": "d0", "web-1": "d1", "web-2": "d1"}
    d0 = next(h for h in p.hosts if h.name == "d0")
    assert d0.over == ["cpu"]
    assert "OVER capacity" in "\n".join(report.table(p))
    assert "pin" not in p.placement()


# ------------------------------------------------------------------------ stability


FLEET_APPS = {
    "web": app(6, {"unique": "host"}, {"spread": "zone"}, cpus=0.5, memory="256m", pool=True),
    "api": app(4, {"max_per": {"zone": 2}}, {"prefer": {"zone": "a"}, "weight": 5}, cpus=1),
    "db": app(2, {"unique": "host"}, {"avoid": {"zone": "c"}}, memory="2g", pool=True),
    "cache": {
        "node_type": "container",
        "address": "cache.example.com",
        "container": {"image": IMAGE, "memory": "64m"},
    },
}
POOL = {"overlay": {"subnet": "10.77.0.0/24", "range": ["10.77.0.10", "10.77.0.99"]}}


def base_fleet(n=9):
    return fleet_pillar(zones(n, capacity={"cpus": 4, "memory": "8g"}), copy.deepcopy(FLEET_APPS),
                        pools=POOL)  # fmt: skip


def test_replan_of_a_recorded_plan_moves_nothing():
    pillar = base_fleet()
    first = fleet.plan(pillar)
    again = fleet.plan(replan(pillar, first))
    assert hosts_of(again) == hosts_of(first)
    assert [r.how for r in again.rows] == ["kept"] * len(again.rows)
    assert again.allocations() == first.allocations()
    assert not any(r.moved or r.notes for r in again.rows)


def test_scaling_up_adds_exactly_one_and_moves_nothing():
    pillar = base_fleet()
    first = fleet.plan(pillar)
    for name in ("web", "api", "db"):
        bigger = replan(pillar, first)
        bigger["servers"][name]["instances"] += 1
        after = fleet.plan(bigger)
        assert set(hosts_of(after)) - set(hosts_of(first)) == {
            f"{name}-{bigger['servers'][name]['instances']}"
        }
        assert not [r.name for r in after.rows if r.moved]
        assert {k: v for k, v in after.allocations().items() if k in first.allocations()} == (
            first.allocations()
        )


def test_removing_a_host_moves_only_its_containers():
    pillar = base_fleet()
    first = fleet.plan(pillar)
    gone = hosts_of(first)["web-1"]
    smaller = replan(pillar, first)
    del smaller["servers"][gone]
    after = fleet.plan(smaller)
    moved = {r.name: r for r in after.rows if r.moved}
    assert set(moved) == {n for n, h in hosts_of(first).items() if h == gone}
    assert all(r.left == f"{gone} is no longer a docker host" for r in moved.values())
    # addresses stay with their containers across the move
    assert after.allocations() == first.allocations()


def test_adding_a_host_moves_only_onto_it_and_about_its_share():
    names = [f"c{i:03d}" for i in range(300)]
    hosts = {f"d{i}": host(i) for i in range(3)}
    apps = {n: {"node_type": "container", "address": f"{n}.example.com"} for n in names}
    pillar = fleet_pillar(hosts, apps)
    first = fleet.plan(pillar)
    bigger = replan(pillar, first)
    bigger["servers"]["d3"] = host(3)
    after = fleet.plan(bigger)
    moved = [r for r in after.rows if r.moved]
    assert moved and all(r.host == "d3" and r.how == "rebalanced" for r in moved)
    assert 45 < len(moved) < 110  # the ideal is 300/4 = 75
    assert fleet.plan(replan(bigger, after)).rows == fleet.plan(replan(bigger, after)).rows
    assert not [r for r in fleet.plan(replan(bigger, after)).rows if r.moved]


def test_a_drained_host_coming_back_gets_its_containers_back():
    pillar = fleet_pillar(zones(5), {"web": app(4, {"unique": "host"})})
    first = fleet.plan(pillar)
    victim = hosts_of(first)["web-3"]
    drained = fleet.plan(replan(pillar, first, placement_weights={victim: 0}))
    back = fleet.plan(replan(pillar, drained, placement_weights={victim: 1}))
    assert hosts_of(back) == hosts_of(first)
    (row,) = [r for r in back.rows if r.moved]
    assert row.how == "rebalanced" and "rebalance" in row.left


def test_plan_is_independent_of_pillar_order():
    pillar = base_fleet()
    shuffled = copy.deepcopy(pillar)
    shuffled["servers"] = dict(reversed(list(pillar["servers"].items())))
    a, b = fleet.plan(pillar), fleet.plan(shuffled)
    assert hosts_of(a) == hosts_of(b) and a.allocations() == b.allocations()


# ------------------------------------------------------------------------ explanations, report


def test_infeasible_plan_names_every_container_rule_and_host():
    hosts = {
        "d0": host(0, "a", capacity={"cpus": 4, "memory": "128m"}),
        "d1": host(1, "b"),
        "d2": host(2, "c"),
    }
    apps = {"web": app(3, {"unique": "host"}, {"avoid": {"zone": "c"}}, memory="256m")}
    text = failure(fleet_pillar(hosts, apps, placement_weights={"d1": 0}))
    lines = [line for line in text.splitlines() if "cannot be placed" in line]
    assert len(lines) == 3  # every instance that fits nowhere, one line each
    line = lines[0]
    assert line.startswith("  servers:web: web-1 cannot be placed on any of 3 docker hosts:")
    assert "not enough memory on d0 (needs 256m, 128m free of 128m)" in line
    assert "avoid zone=c rules out d2" in line and "drained (weight 0): d1" in line


def test_report_text_and_data():
    pillar = base_fleet()
    plan = fleet.plan(pillar)
    lines = report.table(plan)
    assert lines[0].split() == ["CONTAINER", "HOST", "CPUS", "MEMORY", "ADDRESS", "RULE", "CHANGE"]
    web1 = next(line for line in lines if line.startswith("web-1 "))
    assert "0.5" in web1 and "256m" in web1 and "10.77.0." in web1 and web1.endswith("new")
    assert any(line.split()[:2] == ["HOST", "CONTAINERS"] for line in lines)
    data = report.data(plan)
    assert set(data) == set(hosts_of(plan))
    w = data["web-1"]
    assert set(w) == {"host", "app", "how", "rule", "reasons", "reserved", "addresses", "move"}
    assert w["app"] == "web" and w["move"] is None and w["addresses"]["eth0"]["pool"] == "overlay"
    assert data["cache"]["addresses"] == {} and data["cache"]["reserved"]["memory"] == "64m"
    hosts = report.hosts_data(plan)
    assert hosts["d00"]["cpus"]["total"] == 4.0 and hosts["d00"]["memory"]["total"] == "8g"


def test_only_new_hosts_draw_rebalancing():
    """A host that was usable at the last apply and simply runs nothing is not new: a container
    recorded elsewhere stays. A record written before ``placement_hosts`` knows every host
    (upgrading moves nothing); one that lists hosts makes the others new."""
    hosts = {"d0": host(0), "d1": host(1)}
    pillar = fleet_pillar(hosts, {"cc": {"node_type": "container", "address": "cc.example.com"}})
    top = hosts_of(fleet.plan(pillar))["cc"]
    other = "d1" if top == "d0" else "d0"
    for known in (["d0", "d1"], None):
        recorded = copy.deepcopy(pillar)
        recorded["saltmesh"]["placement"] = {"cc": other}
        if known is not None:
            recorded["saltmesh"]["placement_hosts"] = known
        assert hosts_of(fleet.plan(recorded)) == {"cc": other}
    joined = copy.deepcopy(pillar)
    joined["saltmesh"].update(placement={"cc": other}, placement_hosts=[other])
    (row,) = fleet.plan(joined).rows
    assert (row.host, row.how) == (top, "rebalanced")


@pytest.mark.parametrize("weighted", [False, True])
def test_ranker_within_agrees_with_the_full_ranking(weighted):
    from saltmesh.placement import ranking
    from saltmesh.placement.model import Host

    hosts = [Host(f"h{i:02d}", weight=(1 + i % 3) if weighted else 1) for i in range(40)]
    soft = {f"h{i:02d}": 5 for i in range(0, 40, 7)}
    ranker = ranking.Ranker(hosts, soft)
    for group in ("web", "api", "db", "x1", "x2"):
        order = [h.name for h in ranker.rank(group)]
        assert order[:6] == sorted(soft, key=order.index)  # preferred hosts first
        assert order == [h.name for h in ranking.rank(group, hosts, soft)]
        for limit in (1, 3, 10, 39):
            assert [h.name for h in hosts if ranker.within(group, h.name, limit)] == sorted(
                order[:limit]
            )
