"""The host lock: exclusive for writers, bounded waits, re-entrant per thread, nothing in test mode."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time

import pytest

from saltmesh import fileio, hostlock
from saltmesh.fileio import LockTimeout

pytestmark = pytest.mark.reliability


def test_path_is_under_the_cachedir():
    assert hostlock.path("/var/cache/salt/minion") == "/var/cache/salt/minion/saltmesh/host.lock"


def test_test_mode_creates_nothing(tmp_path):
    cachedir = tmp_path / "cache"
    with hostlock.held(str(cachedir), test=True):
        pass
    assert not cachedir.exists(), "test=True must not create the lock file or its directory"


def test_test_mode_waits_for_a_writer_without_changing_the_file(tmp_path):
    cachedir = str(tmp_path)
    with hostlock.held(cachedir):
        pass
    lock = hostlock.path(cachedir)
    before = os.stat(lock)
    order = []

    def reader():
        with hostlock.held(cachedir, test=True):
            order.append("reader")

    with hostlock.held(cachedir):
        t = threading.Thread(target=reader)
        t.start()
        time.sleep(0.3)
        order.append("writer done")
    t.join(5)
    assert order == ["writer done", "reader"]
    after = os.stat(lock)
    assert (after.st_mtime_ns, after.st_size, after.st_ino) == (
        before.st_mtime_ns,
        before.st_size,
        before.st_ino,
    )


def test_reentrant_in_one_thread_exclusive_across_threads(tmp_path):
    cachedir = str(tmp_path)
    order = []

    def other():
        with hostlock.held(cachedir):
            order.append("other")

    with hostlock.held(cachedir):
        with hostlock.held(cachedir):  # nested: no deadlock
            t = threading.Thread(target=other)
            t.start()
            time.sleep(0.3)
            order.append("inner")
        time.sleep(0.2)
        order.append("outer")  # the other thread still waits: the outer hold remains
    t.join(5)
    assert order == ["inner", "outer", "other"]


def test_another_process_holding_it_times_out_cleanly(tmp_path):
    cachedir = str(tmp_path)
    lock = hostlock.path(cachedir)
    code = (
        "import sys, time; from saltmesh import fileio\n"
        "with fileio.locked(sys.argv[1]):\n"
        "    print('held', flush=True); time.sleep(30)\n"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    holder = subprocess.Popen(
        [sys.executable, "-c", code, lock], stdout=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        t0 = time.monotonic()
        with (
            pytest.raises(LockTimeout, match=r"host\.lock is held by another run; gave up"),
            hostlock.held(cachedir, timeout=0.5),
        ):
            pass
        assert 0.4 < time.monotonic() - t0 < 5
    finally:
        holder.kill()
        holder.wait()
    with hostlock.held(cachedir, timeout=2):  # released when its holder died
        pass


def test_locked_create_false_and_shared(tmp_path):
    missing = tmp_path / "nope" / "x.lock"
    with fileio.locked(str(missing), create=False):
        pass
    assert not missing.parent.exists()
    lock = str(tmp_path / "x.lock")
    with (  # a shared hold waits for the writer
        fileio.locked(lock),
        pytest.raises(LockTimeout),
        fileio.locked(lock, shared=True, create=False, timeout=0.2),
    ):
        pass


def test_locked_shared_holders_coexist(tmp_path):
    lock = str(tmp_path / "x.lock")
    with fileio.locked(lock, shared=True), fileio.locked(lock, shared=True, timeout=0.2):
        pass
