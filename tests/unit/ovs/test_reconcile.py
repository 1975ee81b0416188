"""Reconcile: plan on the run's snapshot, one transaction, one retry on a fresh read."""

import fcntl
import os
import threading

import pytest

from saltmesh import fileio, hostlock
from saltmesh.errors import CommandError
from saltmesh.ovs.cache import KEY
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.reconcile import Reconciler
from saltmesh.ovs.schema import Interface, Port
from tests.unit.ovs.helpers import FakeDb, make_snap, tunnel

GRE_FIELDS = {"options": {"remote_ip": "10.0.0.2", "key": "5000"}, "protected": True}
ADD_GRE = [
    ("add-port", "br0", "gre-0a000002", "protected=true"),
    ("set", "Interface", "gre-0a000002", 'type="gre"', 'options:key="5000"',
     'options:remote_ip="10.0.0.2"'),
]  # fmt: skip


def reconciler(*snaps, **kwargs):
    store = {}
    return Reconciler(FakeDb(*snaps, **kwargs), store), store


def test_ensure_port_writes_one_transaction():
    rec, _ = reconciler()
    out = rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)
    assert rec.db.written == [ADD_GRE]
    assert out["clauses"] == [list(c) for c in ADD_GRE]
    assert out["changes"]["port"] == {"old": None, "new": "gre-0a000002"}
    assert "errors" not in out


def test_test_mode_writes_nothing_and_assumes_the_bridge():
    rec, _ = reconciler()
    out = rec.ensure_port("p1", "br-new", test=True)
    assert rec.db.written == []
    assert out["clauses"] == [["add-port", "br-new", "p1"]]


def test_in_sync_port_reports_interface_errors():
    port = Port(name="p1", uuid="u", bridge="br0", interfaces=("p1",))
    iface = Interface(name="p1", uuid="i", port="p1", error="could not open network device p1")
    rec, _ = reconciler(make_snap((port, [iface])))
    out = rec.ensure_port("p1", "br0")
    assert out == {
        "changes": {},
        "clauses": [],
        "errors": {"p1": "could not open network device p1"},
    }
    assert rec.db.written == []


def test_failed_transaction_is_re_planned_on_a_fresh_read_once():
    # the port appeared behind the cache: the retry sees it in sync and writes nothing
    rec, _ = reconciler(make_snap(), make_snap(tunnel()), fail=1)
    out = rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)
    assert rec.db.reads == 2
    assert out == {"changes": {}, "clauses": [], "errors": {}}


def test_second_failure_is_raised():
    rec, _ = reconciler(fail=2)
    with pytest.raises(CommandError):
        rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)


def test_state_runs_share_one_read_until_a_touched_name_is_read():
    rec, _ = reconciler(make_snap(), make_snap(tunnel()))
    rec.ensure_bridge("br0", use_cache=True)  # in sync: nothing written
    rec.ensure_port("gre-0a000002", "br0", "gre", use_cache=True, **GRE_FIELDS)
    assert rec.db.reads == 1
    rec.remove_port("p-other", use_cache=True)  # does not look at the new port
    assert rec.db.reads == 1
    out = rec.ensure_port("gre-0a000002", "br0", "gre", use_cache=True, **GRE_FIELDS)
    assert rec.db.reads == 2 and out["changes"] == {}


def test_direct_calls_read_afresh():
    rec, _ = reconciler()
    rec.ensure_bridge("br0")
    rec.ensure_bridge("br0")
    assert rec.db.reads == 2


def test_port_arguments_from_yaml():
    rec, _ = reconciler()
    out = rec.ensure_port("p1", "br0", trunks=[20, 10], test=True)
    assert out["changes"]["trunks"] == {"old": None, "new": [10, 20]}
    with pytest.raises(SpecError, match="^port p1: .*unexpected keyword argument 'bogus'"):
        rec.ensure_port("p1", "br0", bogus=1)


def test_bridge_arguments_are_checked():
    rec, _ = reconciler()
    with pytest.raises(SpecError, match=r"^bridge br0: unknown argument\(s\) bogus, zz$"):
        rec.ensure_bridge("br0", zz=1, bogus=2)
    out = rec.ensure_bridge("br9", datapath_type="netdev")
    assert rec.db.written == [
        [("add-br", "br9"), ("set", "Bridge", "br9", 'datapath_type="netdev"')]
    ]
    assert out["changes"]["bridge"] == {"old": None, "new": "br9"}


def test_remove_bridge_and_port():
    rec, _ = reconciler(make_snap(tunnel()))
    assert rec.remove_port("gre-0a000002", "br1")["changes"] == {}
    assert rec.remove_bridge("br1")["clauses"] == [["del-br", "br1"]]
    assert rec.db.written == [[("del-br", "br1")]]


def test_ensure_record_drops_the_cache_after_a_write():
    records = {("Open_vSwitch", "."): {"other_config": {"a": "1"}}}
    rec, store = reconciler(records=records)
    rec.cache.get()
    out = rec.ensure_record("Open_vSwitch", ".", {"other_config": {"b": "2"}})
    assert rec.db.written == [[("set", "Open_vSwitch", ".", 'other_config:b="2"')]]
    assert out["changes"] == {"other_config": {"old": {"b": None}, "new": {"b": "2"}}}
    assert KEY not in store


def test_ensure_record_missing_row():
    rec, _ = reconciler()
    data = {"other_config": {"a": "1"}, "flood_vlans": [10], "fail_mode": "secure"}
    # test mode: an earlier state may create the bridge; planned from an empty record
    out = rec.ensure_record("Bridge", "br9", data, test=True)
    assert out["changes"] == {
        "other_config": {"old": {"a": None}, "new": {"a": "1"}},
        "flood_vlans": {"old": [], "new": [10]},
        "fail_mode": {"old": None, "new": "secure"},
    }
    with pytest.raises(SpecError, match='^Bridge br9: ovs-vsctl failed .*no row "br9"'):
        rec.ensure_record("Bridge", "br9", data)
    with pytest.raises(SpecError, match="^SSL x: "):  # not a table a state creates
        rec.ensure_record("SSL", "x", {"a": 1}, test=True)


@pytest.mark.parametrize("data", [{}, None, [("a", 1)]])
def test_ensure_record_needs_columns(data):
    rec, _ = reconciler()
    with pytest.raises(SpecError, match="^T r: data must be a non-empty mapping of columns$"):
        rec.ensure_record("T", "r", data)


def test_transact_user_clauses():
    rec, store = reconciler()
    rec.cache.get()
    rec.transact([])  # nothing to run: the cache stays
    assert KEY in store and rec.db.written == []
    rec.transact(["add-br", "br7"])  # a single clause
    rec.transact([["set", "Port", "p", "tag", 5]])
    assert rec.db.written == [[("add-br", "br7")], [("set", "Port", "p", "tag", "5")]]
    assert KEY not in store
    with pytest.raises(SpecError, match="list of argument lists"):
        rec.transact("add-br br7")


# --- the host lock: every write holds it from its read to its transaction; test mode never ---


class RecordingDb(FakeDb):
    """A FakeDb noting whether the host lock was held (by someone) at each read and write."""

    def __init__(self, lock, *snaps, **kwargs):
        super().__init__(*snaps, **kwargs)
        self.lock = lock
        self.held: list[tuple[str, bool]] = []

    def _held(self) -> bool:
        if not os.path.exists(self.lock):
            return False
        fd = os.open(self.lock, os.O_RDONLY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        finally:
            os.close(fd)
        return False

    def snapshot(self):
        self.held.append(("read", self._held()))
        return super().snapshot()

    def transact(self, clauses):
        self.held.append(("write", self._held()))
        return super().transact(clauses)


@pytest.mark.reliability
def test_writes_hold_the_host_lock_from_read_to_write(tmp_path):
    lock = hostlock.path(str(tmp_path))
    db = RecordingDb(lock, make_snap(), make_snap(tunnel()), fail=1)
    rec = Reconciler(db, {}, cachedir=str(tmp_path))
    rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)  # fails once, re-read, retried
    rec.transact([["add-br", "br7"]])
    # read, failed write, re-read, retried write (in sync now: no clauses), the user clauses
    assert db.held == [("read", True), ("write", True), ("read", True), ("write", True)] + [
        ("write", True)
    ]
    assert os.stat(lock).st_mode & 0o777 == 0o600


@pytest.mark.reliability
def test_test_mode_takes_no_lock_and_creates_no_file(tmp_path):
    lock = hostlock.path(str(tmp_path))
    db = RecordingDb(lock)
    rec = Reconciler(db, {}, cachedir=str(tmp_path))
    out = rec.ensure_port("gre-0a000002", "br0", "gre", test=True, **GRE_FIELDS)
    rec.ensure_bridge("br9", test=True, datapath_type="netdev")
    rec.remove_bridge("br0", test=True)
    assert out["changes"] and db.written == []
    assert db.held == [("read", False)] * 3
    assert list(tmp_path.iterdir()) == []


@pytest.mark.reliability
def test_a_write_waits_for_another_holder_of_the_host_lock(tmp_path):
    lock = hostlock.path(str(tmp_path))
    rec = Reconciler(FakeDb(), {}, cachedir=str(tmp_path))
    done = threading.Event()

    def write():
        rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)
        done.set()

    with fileio.locked(lock):
        writer = threading.Thread(target=write)
        writer.start()
        assert not done.wait(0.5)  # blocked: nothing read, nothing written
        assert rec.db.reads == 0 and rec.db.written == []
    assert done.wait(5)
    writer.join(5)
    assert rec.db.written == [ADD_GRE]


@pytest.mark.reliability
def test_a_write_gives_up_after_the_lock_timeout(tmp_path):
    lock = hostlock.path(str(tmp_path))
    rec = Reconciler(FakeDb(), {}, cachedir=str(tmp_path), lock_timeout=0.3)
    # another holder (flock: per open file, so per holder)
    with fileio.locked(lock), pytest.raises(fileio.LockTimeout, match="host.lock"):
        rec.ensure_port("gre-0a000002", "br0", "gre", **GRE_FIELDS)
    assert rec.db.reads == 0 and rec.db.written == []


@pytest.mark.reliability
def test_a_port_without_type_keeps_its_type():
    internal = (
        Port(name="p1", uuid="u", bridge="br0", interfaces=("p1",)),
        [Interface(name="p1", uuid="i", port="p1", type="internal")],
    )
    rec, _ = reconciler(make_snap(internal))
    assert rec.ensure_port("p1", "br0", tag=5)["changes"] == {"tag": {"old": None, "new": 5}}
    assert rec.db.written == [[("set", "Port", "p1", "tag=5")]]
    new = rec.ensure_port("p2", "br0", test=True)  # a new port without type: a system port
    assert new["changes"]["type"] == {"old": None, "new": "system"}
    assert new["clauses"] == [["add-port", "br0", "p2"]]
