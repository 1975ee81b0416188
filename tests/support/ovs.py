"""Private Open vSwitch instances for tests: one ovsdb-server + ovs-vswitchd per simulated host.

Each instance keeps every file (database, sockets, pidfiles, logs, <bridge>.mgmt) under its own
directory, optionally runs inside a network namespace, and uses the userspace datapath, so it
needs no kernel module and never touches the system's OVS.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"


def have_ovs() -> bool:
    return all(shutil.which(b) for b in ("ovsdb-server", "ovs-vswitchd", "ovs-vsctl", "ovsdb-tool"))


@contextlib.contextmanager
def ovs_in_netns(workdir: Path, netns: str) -> Iterator[OvsInstance]:
    """A private OVS in a network namespace created for it; both removed on exit."""
    subprocess.run(["ip", "netns", "add", netns], check=True)
    inst = OvsInstance(workdir, netns=netns)
    try:
        yield inst.start()
    finally:
        inst.stop()
        subprocess.run(["ip", "netns", "del", netns], check=False)


def run(argv: list[str], **kw) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kw)


class OvsInstance:
    """An OVS instance living in ``workdir`` (and in ``netns`` when given)."""

    def __init__(self, workdir: Path, netns: str | None = None):
        self.dir = Path(workdir)
        self.netns = netns

    @property
    def db(self) -> str:
        return f"unix:{self.dir / 'db.sock'}"

    def _ns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else argv

    def _env(self) -> dict[str, str]:
        d = str(self.dir)
        return {
            **os.environ,
            "OVS_RUNDIR": d,
            "OVS_DBDIR": d,
            "OVS_LOGDIR": d,
            "OVS_SYSCONFDIR": str(self.dir / "etc"),
        }

    def start(self) -> OvsInstance:
        d = self.dir
        (d / "etc").mkdir(parents=True, exist_ok=True)
        run(["ovsdb-tool", "create", str(d / "conf.db"), SCHEMA])
        run(
            self._ns([
                "ovsdb-server", str(d / "conf.db"), f"--remote=punix:{d / 'db.sock'}",
                f"--pidfile={d / 'ovsdb-server.pid'}", f"--unixctl={d / 'ovsdb-server.ctl'}",
                f"--log-file={d / 'ovsdb-server.log'}", "-vconsole:off", "--detach", "--no-chdir",
            ]),
            env=self._env(),
        )  # fmt: skip
        self.vsctl("--no-wait", "init")
        run(
            self._ns([
                "ovs-vswitchd", self.db,
                f"--pidfile={d / 'ovs-vswitchd.pid'}", f"--unixctl={d / 'ovs-vswitchd.ctl'}",
                f"--log-file={d / 'ovs-vswitchd.log'}", "-vconsole:off", "--detach", "--no-chdir",
            ]),
            env=self._env(),
        )  # fmt: skip
        return self

    def stop(self) -> None:
        for name in ("ovs-vswitchd", "ovsdb-server"):
            pidfile = self.dir / f"{name}.pid"
            try:
                pid = int(pidfile.read_text().strip())
            except (OSError, ValueError):
                continue
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            for _ in range(50):
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.05)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def vsctl(self, *args: str) -> str:
        return run(["ovs-vsctl", "--timeout=30", f"--db={self.db}", *args]).stdout

    def appctl(self, *args: str) -> str:
        return run(["ovs-appctl", "-t", str(self.dir / "ovs-vswitchd.ctl"), *args]).stdout

    def table(self, table: str, *columns: str) -> list[dict]:
        """Rows of ``table`` as dicts (values in OVSDB JSON notation)."""
        argv = ["--format=json", "--data=json"]
        if columns:
            argv.append("--columns=" + ",".join(columns))
        out = json.loads(self.vsctl(*argv, "list", table))
        return [dict(zip(out["headings"], row, strict=True)) for row in out["data"]]

    def ports(self, bridge: str) -> list[str]:
        return sorted(self.vsctl("list-ports", bridge).split())

    def reset(self) -> None:
        """Remove every bridge: tests share one instance and start from empty."""
        bridges = self.vsctl("list-br").split()
        if bridges:
            args: list[str] = []
            for br in bridges:
                args += ["--", "--if-exists", "del-br", br]
            self.vsctl(*args)
