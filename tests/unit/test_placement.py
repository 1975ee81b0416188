"""Placement by weighted rendezvous hashing: stable, weighted, capacity-aware, validated."""

from __future__ import annotations

from collections import Counter

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.placement import hashing, record


def pillar(hosts, containers, pinned=None, **saltmesh):
    servers = {
        h: {"node_type": "docker_host", "address": f"10.0.0.{i + 1}"} for i, h in enumerate(hosts)
    }
    for i, c in enumerate(containers):
        servers[c] = {"node_type": "container", "address": f"10.1.{i // 250}.{i % 250 + 1}"}
        if pinned and c in pinned:
            servers[c]["parents"] = pinned[c]
    return {"servers": servers, "saltmesh": saltmesh}


NAMES = [f"c{i:03d}" for i in range(300)]


def hosts_of(rows):
    return {r.container: r.host for r in rows}


def test_deterministic_and_roughly_even():
    a = hosts_of(hashing.plan(pillar(["d1", "d2", "d3"], NAMES)))
    b = hosts_of(hashing.plan(pillar(["d3", "d1", "d2"], list(reversed(NAMES)))))
    assert a == b
    counts = Counter(a.values())
    assert set(counts) == {"d1", "d2", "d3"} and min(counts.values()) > 70


def test_adding_a_host_moves_only_to_the_new_host():
    before = hosts_of(hashing.plan(pillar(["d1", "d2", "d3"], NAMES)))
    after = hosts_of(hashing.plan(pillar(["d1", "d2", "d3", "d4"], NAMES)))
    moved = [c for c in NAMES if before[c] != after[c]]
    assert all(after[c] == "d4" for c in moved)
    assert 40 < len(moved) < 110  # about a quarter


def test_removing_a_host_moves_only_its_containers():
    before = hosts_of(hashing.plan(pillar(["d1", "d2", "d3"], NAMES)))
    after = hosts_of(hashing.plan(pillar(["d1", "d2"], NAMES)))
    assert all(before[c] == "d3" for c in NAMES if before[c] != after[c])


def test_weights_and_drain():
    rows = hashing.plan(
        pillar(["d1", "d2", "d3"], NAMES, placement_weights={"d1": 3, "d2": 1, "d3": 0})
    )
    counts = Counter(r.host for r in rows)
    assert "d3" not in counts and counts["d1"] > 2 * counts["d2"]


def test_capacity_and_pinned_count():
    pinned = {f"c{i:03d}": "d1" for i in range(5)}
    rows = hashing.plan(
        pillar(["d1", "d2"], NAMES[:20], pinned, placement_capacity={"d1": 8, "d2": 12})
    )
    counts = Counter(r.host for r in rows)
    assert counts == {"d1": 8, "d2": 12}
    assert {r.container for r in rows if r.how == "pinned"} == set(pinned)
    assert hashing.placement_map(rows).keys() == {r.container for r in rows if r.how == "hashed"}


def test_full_everywhere_is_a_pillar_error():
    with pytest.raises(PillarError) as err:
        hashing.plan(pillar(["d1"], NAMES[:3], placement_capacity={"d1": 2}))
    assert "servers:c002:parents" in str(err.value) and "every host is full" in str(err.value)


def test_bad_weights_are_named():
    with pytest.raises(PillarError) as err:
        hashing.plan(pillar(["d1"], NAMES[:2], placement_weights={"d1": -1, "nope": 1}))
    text = str(err.value)
    assert "saltmesh:placement_weights:d1" in text and "saltmesh:placement_weights:nope" in text


def test_previous_placement_is_ignored_and_moves_flagged():
    base = pillar(["d1", "d2"], NAMES[:10])
    rows = hashing.plan(base)
    wrong = {r.container: ("d2" if r.host == "d1" else "d1") for r in rows}
    again = hashing.plan({**base, "saltmesh": {"placement": wrong}})
    assert hosts_of(again) == hosts_of(rows) and all(r.moved for r in again)
    lines = hashing.table(again)
    assert lines[0].split() == ["CONTAINER", "HOST", "HOW"] and "moves from" in lines[1]
    # the inventory reads the written map back as parents
    inv = inventory.parse({**base, "saltmesh": {"placement": hashing.placement_map(rows)}})
    assert {s.name: s.parents[0] for s in inv.by_type("container")} == hosts_of(rows)


def test_record_round_trip_and_moves():
    text = record.render({"web02": "docker02", "api": "docker01"})
    assert text.startswith(record.HEADER)
    assert text.endswith("saltmesh:\n  placement:\n    api: docker01\n    web02: docker02\n")
    assert record.parse(text) == {"api": "docker01", "web02": "docker02"}
    assert record.parse("") == {}
    assert record.moves({"a": "h1", "b": "h2"}, {"a": "h1", "b": "h3", "c": "h1"}) == {
        "b": {"old": "h2", "new": "h3"},
        "c": {"old": None, "new": "h1"},
    }
    assert record.moves({"a": "h1"}, {}) == {"a": {"old": "h1", "new": None}}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("saltmesh: [", "placement.sls: not valid YAML"),
        ("saltmesh:\n  placement: [a, b]\n", "placement.sls: saltmesh:placement must be a mapping"),
    ],
)
def test_record_parse_errors_name_the_file(text, message):
    with pytest.raises(SaltmeshError, match=message):
        record.parse(text, "placement.sls")
