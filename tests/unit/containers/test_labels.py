"""Ownership labels: what is ours, what is a stray, what ps shows."""

from __future__ import annotations

from saltmesh.containers import labels
from tests.unit.containers.fakes import spec


def summary(name, host=None, managed=True, **extra):
    lab = {"team": "x"}
    if managed:
        lab[labels.MANAGED_LABEL] = "true"
    if host:
        lab[labels.HOST_LABEL] = host
    return {"Id": f"id-{name}", "Names": [f"/{name}"], "Labels": lab, **extra}


def test_managed_labels():
    assert labels.managed_labels(spec(labels={"a": "1"}), "d1") == {
        "a": "1", "saltmesh.managed": "true", "saltmesh.host": "d1"
    }  # fmt: skip
    assert labels.managed_labels(spec(), None) == {"saltmesh.managed": "true"}


def test_is_managed_reads_inspect_and_listing():
    assert labels.is_managed({"Config": {"Labels": {"saltmesh.managed": "true"}}})
    assert labels.is_managed(summary("a"))
    assert not labels.is_managed(summary("a", managed=False))
    assert not labels.is_managed({"Config": {"Labels": {}}, "Labels": {"saltmesh.managed": "true"}})
    assert not labels.is_managed({})


def test_summary_name():
    assert labels.summary_name(summary("web")) == "web"
    assert labels.summary_name({}) == ""


def test_strays_are_managed_here_and_undeclared():
    listing = {
        "keep": summary("keep", "d1"),
        "gone": summary("gone", "d1"),
        "elsewhere": summary("elsewhere", "d2"),
        "foreign": summary("foreign", "d1", managed=False),
        "unplaced": summary("unplaced"),
        "also": summary("also", "d1"),
    }
    assert labels.strays(listing, ["keep"], "d1") == ["also", "gone"]
    assert labels.strays(listing, {"keep", "gone", "also"}, "d1") == []


def test_table():
    rows = [summary("web", "d1", State="running", Image="img:1"), summary("db", State="exited")]
    assert labels.table(rows) == {
        "web": {"state": "running", "image": "img:1", "host": "d1"},
        "db": {"state": "exited", "image": None, "host": None},
    }
