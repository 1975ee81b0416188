"""The Nagios and NRPE daemons: finding their pid, reloading them, seeing that they reloaded.

``reload`` is ``systemd`` (``systemctl``), ``signal`` (SIGHUP to the pid in a pid file) or
``none`` (the daemon is not managed).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import time
from pathlib import Path
from typing import Any

from saltmesh import proc
from saltmesh.nagios.objects import MainConfig
from saltmesh.nagios.settings import Settings
from saltmesh.nagios.tree import read_main_config


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] not in ("Z", "X")


def _pid_from_file(path: str | None) -> int | None:
    if not path:
        return None
    try:
        pid = int(Path(path).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def daemon_pid(method: str, service: str, pid_file: str | None) -> int | None:
    """PID of the running daemon, or None when it is not running (or not managed)."""
    if method == "signal":
        return _pid_from_file(pid_file)
    if method == "systemd":
        argv = ["systemctl", "show", "--property=MainPID", "--value", service]
        out = proc.run(argv, timeout=30, check=False)
        pid = int(out.stdout.strip() or 0) if out.returncode == 0 else 0
        return pid if pid and alive(pid) else None
    return None


def send_reload(method: str, service: str, pid: int) -> None:
    if method == "signal":
        os.kill(pid, signal.SIGHUP)
    elif method == "systemd":
        proc.run(["systemctl", "reload", service], timeout=60)


def systemctl(action: str, service: str) -> None:
    """``systemctl start|restart <service>``: bring a daemon back after a failed reload."""
    proc.run(["systemctl", action, service], timeout=120)


def nagios_pid_file(settings: Settings, main: MainConfig) -> str | None:
    """The pid file of ``reload: signal``: the setting, else the main config's lock_file."""
    return settings.pid_file or main.get("lock_file")


def start_marker(main: MainConfig) -> tuple[str | None, int | None]:
    """(program_start from status.dat, mtime of objects.cache): both change on every (re)load."""
    start = None
    status = main.get("status_file")
    if status:
        with contextlib.suppress(OSError):
            m = re.search(r"^\s*program_start=(\d+)", Path(main.resolve(status)).read_text(), re.M)
            start = m.group(1) if m else None
    mtime = None
    cache = main.get("object_cache_file")
    if cache:
        with contextlib.suppress(OSError):
            mtime = os.stat(main.resolve(cache)).st_mtime_ns
    return start, mtime


def daemon_info(settings: Settings) -> dict[str, Any]:
    main = read_main_config(settings.main_config)
    pid = daemon_pid(settings.reload, settings.service, nagios_pid_file(settings, main))
    start, _ = start_marker(main)
    return {"pid": pid, "program_start": int(start) if start else None}


def reload_and_confirm(settings: Settings, main: MainConfig, pid: int) -> list[str]:
    """Reload Nagios once; wait until it has re-read its config. Returns problems (empty = ok)."""
    before = start_marker(main)
    send_reload(settings.reload, settings.service, pid)
    deadline = time.monotonic() + settings.timeout
    while time.monotonic() < deadline:
        time.sleep(0.2)
        if not alive(pid):
            return [f"Nagios (pid {pid}) exited after the reload"]
        marker = start_marker(main)
        if marker != before and marker[0] is not None:
            time.sleep(0.5)  # still alive a moment after it loaded the new objects?
            return [] if alive(pid) else [f"Nagios (pid {pid}) exited after the reload"]
    return [f"Nagios (pid {pid}) did not report a reload within {settings.timeout}s"]
