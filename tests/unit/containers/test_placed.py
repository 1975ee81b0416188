"""A whole docker host over an in-memory engine: exactly the declared containers, checked first."""

from __future__ import annotations

import pytest

from saltmesh import inventory
from saltmesh.containers import placed, reconcile
from saltmesh.errors import SaltmeshError
from saltmesh.inventory.model import ContainerSettings
from tests.unit.containers.fakes import IMAGE, FakeAttacher, FakeEngine, inspect_of, spec

REF = "local/bb:1"


def pillar(**containers):
    servers = {
        "d1": {"node_type": "docker_host", "address": "10.0.0.1", "minion_id": "m1"},
        "d2": {"node_type": "docker_host", "address": "10.0.0.2", "minion_id": "m2"},
        "n1": {"node_type": "server", "address": "10.0.0.3", "minion_id": "m3"},
    }
    for i, (name, parent) in enumerate(sorted(containers.items())):
        servers[name] = {"node_type": "container", "address": f"10.1.0.{i + 1}",
                         "parents": parent, "container": {"image": REF}}  # fmt: skip
    return inventory.parse({"servers": servers})


def test_declared_and_docker_host_of():
    inv = pillar(c1="d1", c2="d1", c3="d2")
    assert placed.docker_host_of(inv, "m1") == "d1"
    assert placed.docker_host_of(inv, "m3") is None  # not a docker host
    assert placed.docker_host_of(inv, "nobody") is None
    host, containers = placed.declared(inv, "m1")
    assert host == "d1" and sorted(containers) == ["c1", "c2"]
    assert containers["c1"] == spec()
    assert placed.declared(inv, "m3") == (None, {})
    assert placed.declared(inv, "m3", "d2")[0] == "d2"
    with pytest.raises(SaltmeshError, match="n1 is not a docker_host"):
        placed.declared(inv, "m1", "n1")


def test_not_a_host():
    out = placed.not_a_host("m3")
    assert out.as_dict() == {
        "name": "m3",
        "changes": {},
        "comment": "Minion m3 is not a docker_host in the servers pillar; no containers to place",
        "result": True,
    }


def managed(name, host, **kw):
    return {**inspect_of(spec(**kw), host), "Id": f"id-{name}"}


def host_d1():
    """d1 runs ``keep`` (in sync) and ``stray``; ``other`` belongs to d2, ``mine`` to nobody."""
    foreign = {**inspect_of(spec()), "Id": "id-mine"}
    foreign["Config"]["Labels"] = {}
    return FakeEngine(
        images={REF: IMAGE},
        containers={
            "keep": managed("keep", "d1"),
            "stray": managed("stray", "d1"),
            "other": managed("other", "d2"),
            "mine": foreign,
        },
    )


def test_exactly_the_declared_containers():
    eng = host_d1()
    att = FakeAttacher(ports={"vsm1": "keep", "vsm2": "stray", "vsm3": "ghost"})
    want = {"keep": spec(), "new": spec(networks=[{"bridge": "br0"}])}
    pred = placed.ensure_placed(eng, want, "d1", test=True, attacher=att)
    assert pred.result is True and eng.writes == []
    assert pred.changes == {
        "new": {"created": "new", "networks": {"eth0": {"old": "not attached", "new": {"bridge": "br0"}}}},
        "stray": {"removed": "stray"},
        "orphan_ports": {"removed": ["vsm2", "vsm3"]},
    }  # fmt: skip
    assert pred.comment == (
        "2 containers declared for d1; would change: new, orphan_ports, stray; pruned: would remove stray"
    )
    out = placed.ensure_placed(eng, want, "d1", test=False, attacher=att)
    assert out.changes == pred.changes
    assert sorted(eng.containers) == ["keep", "mine", "new", "other"]
    assert att.ports == {"vsm1": "keep"}
    again = placed.ensure_placed(FakeEngine({REF: IMAGE}, {"keep": managed("keep", "d1")}),
                                 {"keep": spec()}, "d1", test=False)  # fmt: skip
    assert again.changes == {} and again.comment == "1 containers declared for d1; all as requested"


def test_problems_stop_everything():
    eng = host_d1()
    want = {"mine": spec(), "new": spec(networks=[{"bridge": "br-x"}])}
    out = placed.ensure_placed(eng, want, "d1", test=False, attacher=FakeAttacher())
    assert out.result is False and out.changes == {} and eng.writes == []
    assert out.comment == (
        "Nothing changed: container mine exists but is not managed by saltmesh; "
        "container new: bridge br-x does not exist"
    )


def test_failures_are_listed_and_the_rest_goes_on():
    eng = host_d1()
    eng.fail["create_container"] = "no space left"
    out = placed.ensure_placed(eng, {"keep": spec(), "new": spec()}, "d1", test=False)
    assert out.result is False
    assert out.changes == {"stray": {"removed": "stray"}}
    assert out.comment.endswith("FAILED: new: Docker engine: no space left")


def test_unreachable_ovs_is_fine_without_networks():
    eng = host_d1()
    out = placed.ensure_placed(eng, {"keep": spec()}, "d1", False, FakeAttacher(unreachable=True))
    assert out.result is True and out.changes == {"stray": {"removed": "stray"}}


# -- pruning: what a host does with managed containers it no longer runs


def strays_d1():
    """d1: ``gone`` (dropped from the pillar), ``moved`` (now on d2), both running and ours;
    ``foreign`` carries d1's host label but not the managed one; ``theirs`` is managed by d2."""
    foreign = managed("foreign", "d1")
    foreign["Config"]["Labels"] = {"saltmesh.host": "d1"}
    return FakeEngine(
        images={REF: IMAGE},
        containers={
            "gone": managed("gone", "d1"),
            "moved": managed("moved", "d1"),
            "foreign": foreign,
            "theirs": managed("theirs", "d2"),
        },
    )


PORTS = {"vsm1": "gone", "vsm2": "moved", "vsm3": "foreign", "vsm4": "ghost"}


def prune_run(prune, prune_max=None, test=False, prune_only=False, want=None):
    eng, att = strays_d1(), FakeAttacher(ports=PORTS)
    settings = ContainerSettings(prune=prune, prune_max=prune_max)
    out = placed.ensure_placed(eng, want or {}, "d1", test, att, settings, {"moved": "d2"},
                               prune_only)  # fmt: skip
    states = {n: reconcile.state_of(c) for n, c in eng.containers.items()}
    return out, states, att.ports


@pytest.mark.reliability
def test_prune_true_removes_what_is_no_longer_declared_and_says_so():
    out, states, ports = prune_run(True)
    assert out.result and states == {"foreign": "running", "theirs": "running"}
    assert out.changes == {
        "gone": {"removed": "gone"},
        "moved": {"removed": "moved"},
        "orphan_ports": {"removed": ["vsm1", "vsm2", "vsm3", "vsm4"]},
    }
    assert out.comment.endswith("pruned: removed gone, moved")


@pytest.mark.reliability
def test_prune_stop_stops_and_keeps_them():
    out, states, _ = prune_run("stop")
    assert out.result and states == {
        "gone": "exited", "moved": "exited", "foreign": "running", "theirs": "running",
    }  # fmt: skip
    assert out.changes["gone"] == {"state": {"old": "running", "new": "exited"}}
    assert out.comment.endswith("pruned: stopped gone, moved (moved to d2)")
    assert prune_run("stop", test=True)[1]["gone"] == "running"


@pytest.mark.reliability
def test_prune_false_leaves_them_but_still_stops_a_moved_one():
    out, states, ports = prune_run(False)
    assert out.result and states == {
        "gone": "running", "moved": "exited", "foreign": "running", "theirs": "running",
    }  # fmt: skip
    assert set(out.changes) == {"moved", "orphan_ports"}
    assert "vsm1" in ports, "the port of a container left running stays"
    assert out.comment.endswith(
        "pruned: stopped moved (moved to d2); left running gone (not declared here)"
    )


@pytest.mark.reliability
def test_prune_max_refuses_to_remove_more():
    out, states, _ = prune_run(True, prune_max=1)
    assert out.result is False
    assert states["gone"] == "running" and states["moved"] == "exited"
    assert (
        "not removing 2 containers (gone, moved): more than saltmesh:containers:prune_max (1)"
        in out.comment
    )
    assert prune_run(True, prune_max=2)[0].result is True


@pytest.mark.reliability
def test_prune_only_touches_no_declared_container():
    want = {"new": spec(), "gone": spec(command=["other"])}
    out, states, _ = prune_run(True, prune_only=True, want=want)
    assert "new" not in states and "gone" not in out.changes  # declared: left for phase two
    assert out.changes["moved"] == {"removed": "moved"} and states["gone"] == "running"


@pytest.mark.reliability
def test_an_interrupted_recreate_is_restored_not_pruned():
    eng = FakeEngine(images={REF: IMAGE}, containers={"c1.saltmesh-old": managed("c1", "d1")})
    out = placed.ensure_placed(eng, {"c1": spec()}, "d1", False)
    assert out.result and list(eng.containers) == ["c1"]
    assert out.changes == {"c1": {"restored": {"old": "c1.saltmesh-old", "new": "c1"}}}
    # its base exists: a leftover, pruned like any stray
    eng = FakeEngine(images={REF: IMAGE}, containers={"c1": managed("c1", "d1"),
                                                      "c1.saltmesh-old": managed("x", "d1")})  # fmt: skip
    out = placed.ensure_placed(eng, {"c1": spec()}, "d1", False)
    assert list(eng.containers) == ["c1"] and out.changes == {
        "c1.saltmesh-old": {"removed": "c1.saltmesh-old"}
    }


def test_elsewhere():
    inv = pillar(c1="d1", c2="d2")
    assert placed.elsewhere(inv, "d1") == {"c2": "d2"}
