"""Daemon control: pids from pid files and systemd, reload, and the confirmation it reloaded.

Stand-in daemons are small Python processes; ``systemctl`` is a fake script on PATH.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from saltmesh.errors import CommandError
from saltmesh.nagios import daemon
from saltmesh.nagios.objects import MainConfig
from saltmesh.nagios.settings import parse_settings

# Handles SIGHUP like Nagios: writes a new program_start into status.dat (argv[1]) unless
# argv[2] is "ignore"; prints a line once the handler is installed.
_STANDIN = """
import signal, sys, time
def hup(*_):
    if sys.argv[2] != "ignore":
        open(sys.argv[1], "w").write("info {\\n  program_start=%d\\n}\\n" % time.time_ns())
signal.signal(signal.SIGHUP, hup)
print("ready", flush=True)
while True:
    time.sleep(0.05)
"""


@pytest.fixture
def standin(tmp_path):
    procs = []

    def start(mode: str = "reload") -> subprocess.Popen:
        p = subprocess.Popen(
            [sys.executable, "-c", _STANDIN, str(tmp_path / "status.dat"), mode],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert p.stdout.readline() == "ready\n"
        procs.append(p)
        return p

    yield start
    for p in procs:
        p.kill()
        p.wait()


def _main(tmp_path, extra: str = "") -> MainConfig:
    text = f"status_file=status.dat\nobject_cache_file={tmp_path}/objects.cache\n{extra}"
    return MainConfig.parse(str(tmp_path / "nagios.cfg"), text)


def _settings(**nagios):
    return parse_settings({"saltmesh": {"nagios": nagios}})


def test_alive_and_pid_files(tmp_path):
    assert daemon.alive(os.getpid())
    done = subprocess.Popen(["true"])
    done.wait()
    assert not daemon.alive(done.pid)
    pid_file = tmp_path / "x.pid"
    pid_file.write_text(f"{os.getpid()}\n")
    assert daemon.daemon_pid("signal", "x", str(pid_file)) == os.getpid()
    pid_file.write_text(f"{done.pid}\n")  # stale
    assert daemon.daemon_pid("signal", "x", str(pid_file)) is None
    pid_file.write_text("garbage")
    assert daemon.daemon_pid("signal", "x", str(pid_file)) is None
    assert daemon.daemon_pid("signal", "x", None) is None
    assert daemon.daemon_pid("signal", "x", str(tmp_path / "missing.pid")) is None
    assert daemon.daemon_pid("none", "x", str(pid_file)) is None


def test_nagios_pid_file_defaults_to_lock_file(tmp_path):
    main = _main(tmp_path, "lock_file=/run/nagios4/nagios4.pid\n")
    assert daemon.nagios_pid_file(_settings(), main) == "/run/nagios4/nagios4.pid"
    assert daemon.nagios_pid_file(_settings(pid_file="/run/x.pid"), main) == "/run/x.pid"


def test_systemd_pid_and_failures(tmp_path, monkeypatch):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    fake = bindir / "systemctl"
    fake.write_text(f'#!/bin/sh\ncase "$2" in --property=MainPID) echo {os.getpid()} ;; esac\n')
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    assert daemon.daemon_pid("systemd", "nagios4", None) == os.getpid()
    fake.write_text("#!/bin/sh\necho 'Unit nagios4.service not loaded.' >&2\nexit 1\n")
    assert daemon.daemon_pid("systemd", "nagios4", None) is None
    with pytest.raises(CommandError, match="not loaded"):
        daemon.send_reload("systemd", "nagios4", os.getpid())


def test_start_marker_and_daemon_info(tmp_path, standin):
    main = _main(tmp_path)
    assert daemon.start_marker(main) == (None, None)
    (tmp_path / "status.dat").write_text("info {\n    program_start=1700000000\n}\n")
    (tmp_path / "objects.cache").write_text("")
    start, mtime = daemon.start_marker(main)
    assert start == "1700000000" and mtime == (tmp_path / "objects.cache").stat().st_mtime_ns

    p = standin()
    (tmp_path / "nagios.pid").write_text(f"{p.pid}\n")
    (tmp_path / "nagios.cfg").write_text(main.text + f"lock_file={tmp_path}/nagios.pid\n")
    settings = _settings(main_config=str(tmp_path / "nagios.cfg"), reload="signal")
    assert daemon.daemon_info(settings) == {"pid": p.pid, "program_start": 1700000000}


def test_reload_and_confirm(tmp_path, standin):
    main = _main(tmp_path)
    settings = _settings(reload="signal", timeout=2)
    p = standin()
    assert daemon.reload_and_confirm(settings, main, p.pid) == []
    assert daemon.alive(p.pid)

    deaf = standin("ignore")
    t0 = time.monotonic()
    assert daemon.reload_and_confirm(settings, main, deaf.pid) == [
        f"Nagios (pid {deaf.pid}) did not report a reload within 2s"
    ]
    assert time.monotonic() - t0 >= 2

    victim = subprocess.Popen(["sleep", "60"])  # SIGHUP ends it
    try:
        assert daemon.reload_and_confirm(settings, main, victim.pid) == [
            f"Nagios (pid {victim.pid}) exited after the reload"
        ]
    finally:
        victim.kill()
        victim.wait()
