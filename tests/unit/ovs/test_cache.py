"""The per-run snapshot cache over a plain dict: one read per run, re-reads only when dirty."""

from saltmesh.ovs.cache import KEY, SnapshotCache
from tests.unit.ovs.helpers import FakeDb, make_snap, tunnel


def two_snaps():
    return make_snap(), make_snap(tunnel())


def test_one_read_until_refresh():
    first, second = two_snaps()
    store = {}
    cache = SnapshotCache(store, FakeDb(first, second))
    assert cache.get() is first
    assert cache.get() is first
    assert cache.db.reads == 1
    assert store[KEY] == {"db": None, "snap": first, "dirty": set()}
    assert cache.get(refresh=True) is second
    assert cache.get() is second and cache.db.reads == 2


def test_the_cache_of_another_target_is_not_used():
    first, second = two_snaps()
    store = {}
    assert SnapshotCache(store, FakeDb(first, db="unix:/a")).get() is first
    assert SnapshotCache(store, FakeDb(second, db="unix:/b")).get() is second
    assert store[KEY]["db"] == "unix:/b"


def test_a_write_re_reads_only_for_readers_of_what_it_touched():
    first, second = two_snaps()
    cache = SnapshotCache({}, FakeDb(first, second))
    snap = cache.get()
    cache.written([("add-port", "br0", "gre-0a000002")], snap)
    assert cache.get(names={"br1", "p9"}) is first  # not touched: still the cached copy
    assert cache.db.reads == 1
    assert cache.get(names={"gre-0a000002"}) is second  # touched: read again, clean
    assert cache.get(names={"gre-0a000002"}) is second and cache.db.reads == 2


def test_after_a_write_a_reader_of_anything_re_reads():
    first, second = two_snaps()
    cache = SnapshotCache({}, FakeDb(first, second))
    cache.written([("add-br", "br7")], cache.get())
    assert cache.get() is second  # names=None: cannot tell what the reader looks at


def test_an_unknown_write_drops_the_cache():
    store = {}
    cache = SnapshotCache(store, FakeDb())
    cache.written([("set", "Open_vSwitch", ".", "other_config:a=1")], cache.get())
    assert KEY not in store


def test_a_write_planned_on_another_snapshot_drops_the_cache():
    store = {}
    cache = SnapshotCache(store, FakeDb())
    cache.get()
    cache.written([("add-br", "br7")], make_snap())
    assert KEY not in store


def test_drop():
    store = {}
    cache = SnapshotCache(store, FakeDb())
    cache.drop()  # nothing cached: no error
    cache.get()
    cache.drop()
    assert store == {}
