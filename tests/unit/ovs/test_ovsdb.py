"""The OVSDB access layer: ovs-vsctl argument lists and how failures surface (no OVS needed)."""

import pytest

from saltmesh.errors import CommandError
from saltmesh.ovs import ovsdb
from saltmesh.ovs.clauses import transaction_args


def test_argv_and_transaction_args():
    db = ovsdb.Ovsdb("unix:/x/db.sock", timeout=7)
    assert db.argv("show") == ["ovs-vsctl", "--timeout=7", "--db=unix:/x/db.sock", "show"]
    assert ovsdb.Ovsdb().argv("show") == ["ovs-vsctl", "--timeout=30", "show"]
    assert transaction_args([("add-br", "b"), (), ("set", "Bridge", "b", "x=1")]) == [
        "--", "add-br", "b", "--", "set", "Bridge", "b", "x=1",
    ]  # fmt: skip


def test_empty_transaction_runs_nothing(monkeypatch):
    db = ovsdb.Ovsdb()
    monkeypatch.setattr(db, "run", lambda *a: pytest.fail("ran ovs-vsctl"))
    db.transact([])


def test_missing_binary_is_a_command_error(monkeypatch):
    monkeypatch.setenv("PATH", "/nonexistent")
    with pytest.raises(CommandError, match="ovs-vsctl not found"):
        ovsdb.Ovsdb().snapshot()


def test_virtual_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(ovsdb.shutil, "which", lambda _name: None)
    assert ovsdb.virtual("openvswitch") == (
        False,
        "ovs-vsctl not found: install Open vSwitch (openvswitch-switch)",
    )
    monkeypatch.setattr(ovsdb.shutil, "which", lambda name: f"/usr/bin/{name}")
    assert ovsdb.virtual("openvswitch") == "openvswitch"


def test_from_options_reads_the_minion_options():
    opts = {"saltmesh:ovsdb": "unix:/x.sock", "saltmesh:ovsdb_timeout": "7"}
    db = ovsdb.Ovsdb.from_options(lambda key, default=None: opts.get(key, default))
    assert (db.db, db.timeout) == ("unix:/x.sock", 7)
    assert ovsdb.Ovsdb.from_options(lambda key, default=None: default).db is None
