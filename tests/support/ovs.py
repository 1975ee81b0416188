"""Private Open vSwitch instances for tests: one ovsdb-server + ovs-vswitchd per simulated host.

Each instance keeps every file (database, sockets, pidfiles, logs, <bridge>.mgmt) under its own
directory, optionally runs inside a network namespace, and uses the userspace datapath, so it
needs no kernel module and never touches the system's OVS.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

SCHEMA = "/usr/share/openvswitch/vswitch.ovsschema"

# Columns only ovsdb-server's clients other than a configuration tool write: the ephemeral
# (status) columns of the schema, and what ovs-vswitchd reports back (ofport, error, cur_cfg,
# the system's capabilities). Everything else is configuration a state could write.
RUNTIME_COLUMNS = {
    "Open_vSwitch": {
        "statistics", "cur_cfg", "datapath_types", "iface_types", "dpdk_initialized",
        "dpdk_version", "system_type", "system_version", "ovs_version", "db_version",
        "datapaths",
    },
    "Bridge": {"datapath_id", "status", "rstp_status", "datapath_version"},
    "Port": {"status", "rstp_status", "rstp_statistics", "statistics", "bond_active_slave"},
    "Interface": {
        "mac_in_use", "ifindex", "bfd_status", "cfm_remote_mpids", "cfm_fault",
        "cfm_fault_status", "cfm_remote_opstate", "cfm_health", "lacp_current", "statistics",
        "status", "admin_state", "link_state", "link_resets", "link_speed", "duplex", "mtu",
        "ofport", "error", "cfm_flap_count",
    },
}  # fmt: skip
CONFIG_TABLES = ("Open_vSwitch", "Bridge", "Port", "Interface")


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

    def start(self, *, fresh: bool = True) -> OvsInstance:
        """Start ovsdb-server and ovs-vswitchd; ``fresh=False`` keeps the existing database
        (a restart of the daemons, as after a host reboot or a package upgrade)."""
        d = self.dir
        (d / "etc").mkdir(parents=True, exist_ok=True)
        if fresh:
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

    def running(self) -> bool:
        """Both daemons alive (per their pidfiles)."""
        for name in ("ovs-vswitchd", "ovsdb-server"):
            try:
                os.kill(int((self.dir / f"{name}.pid").read_text().strip()), 0)
            except (OSError, ValueError):
                return False
        return True

    def restart(self) -> OvsInstance:
        """Stop both daemons and start them again on the same database."""
        self.stop()
        return self.start(fresh=False)

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

    def config_rows(self, *tables: str) -> dict[str, dict[str, dict]]:
        """Every configuration column of every row: ``{table: {row name: {column: value}}}``.

        Values are OVSDB JSON; references to Bridge/Port/Interface rows are replaced by the
        names of those rows (sorted), any other uuid by ``"*"``, and the columns in
        :data:`RUNTIME_COLUMNS` are left out. Two reads are equal when no configuration changed;
        the same configuration made by two runs compares equal too (no uuids).
        """
        tables = tables or CONFIG_TABLES
        argv = ["--format=json", "--data=json"]
        for table in CONFIG_TABLES:
            argv += ["--", "list", table]
        docs = [json.loads(line) for line in self.vsctl(*argv).splitlines() if line.strip()]
        raw = {
            t: [dict(zip(d["headings"], row, strict=True)) for row in d["data"]]
            for t, d in zip(CONFIG_TABLES, docs, strict=True)
        }
        names = {r["_uuid"][1]: r["name"] for t in CONFIG_TABLES[1:] for r in raw[t]}

        def plain(value):
            if isinstance(value, list) and len(value) == 2 and value[0] == "uuid":
                return names.get(value[1], "*")
            if isinstance(value, list) and len(value) == 2 and value[0] == "set":
                items = [plain(v) for v in value[1]]
                return ["set", sorted(items, key=json.dumps)]
            if isinstance(value, list) and len(value) == 2 and value[0] == "map":
                return ["map", sorted([[plain(k), plain(v)] for k, v in value[1]])]
            return value

        out: dict[str, dict[str, dict]] = {}
        for table in tables:
            skip = RUNTIME_COLUMNS[table] | {"_uuid", "_version"}
            out[table] = {
                row.get("name", "."): {c: plain(v) for c, v in row.items() if c not in skip}
                for row in raw[table]
            }
        return out

    def db_digest(self, settle: float = 0.0) -> str:
        """SHA-256 of the database file: ovsdb-server appends every committed change to it, and
        nothing else (reads, no-op writes, ephemeral status columns) changes it.

        ``settle``: first wait until the file has not changed for that many seconds (vswitchd
        writes ofport and error back a moment after a change it realises).
        """
        path = self.dir / "conf.db"
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        deadline = time.monotonic() + 30
        while settle and time.monotonic() < deadline:
            time.sleep(settle)
            now = hashlib.sha256(path.read_bytes()).hexdigest()
            if now == digest:
                break
            digest = now
        return digest

    def ports(self, bridge: str) -> list[str]:
        return sorted(self.vsctl("list-ports", bridge).split())

    def reset(self, prefix: str = "") -> None:
        """Remove every bridge whose name starts with ``prefix`` (all of them by default): a
        test's cleanup on a shared instance."""
        bridges = [b for b in self.vsctl("list-br").split() if b.startswith(prefix)]
        if bridges:
            args: list[str] = []
            for br in bridges:
                args += ["--", "--if-exists", "del-br", br]
            self.vsctl(*args)


@dataclass
class Foreign:
    """Rows saltmesh does not own (no saltmesh identity), seeded before a suite."""

    names: set[str]
    seeded: dict
    read: Callable[[], dict]

    def assert_untouched(self, when: str) -> None:
        now = self.read()
        assert now == self.seeded, f"foreign rows changed {when}: {self.seeded} -> {now}"


def seed_foreign(inst: OvsInstance, prefix: str, extra: tuple[str, ...] = ()) -> Foreign:
    """A foreign bridge with an internal port, a VXLAN tunnel and a port that merely looks
    like a mesh port (``vxlan-<hex>`` name, no identity): every column set, none ours.
    ``extra``: more clauses (e.g. a foreign port on another bridge), names taken from them."""
    br, internal, tunnel, lookalike = f"{prefix}br", f"{prefix}in", f"{prefix}vx", "vxlan-c0000263"
    inst.vsctl(
        "add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev", "fail_mode=secure",
        "protocols=OpenFlow13", "external_ids:owner=ops", "other_config:mac-table-size=1024",
        "--", "add-port", br, internal, "tag=42", "other_config:priority-tags=true",
        "external_ids:owner=ops",
        "--", "set", "Interface", internal, "type=internal", "mtu_request=1400",
        "external_ids:owner=ops",
        "--", "add-port", br, tunnel, "protected=true",
        "--", "set", "Interface", tunnel, "type=vxlan", "options:remote_ip=192.0.2.9",
        "options:key=77", "bfd:enable=false",
        "--", "add-port", br, lookalike,
        "--", "set", "Interface", lookalike, "type=vxlan", "options:remote_ip=192.0.2.99",
        *extra,
    )  # fmt: skip
    names = {br, internal, tunnel, lookalike} | {a for a in extra if a.startswith(prefix)}

    def read() -> dict:
        rows = inst.config_rows("Bridge", "Port", "Interface")
        return {t: {n: r for n, r in rows[t].items() if n in names} for t in rows}

    return Foreign(names, read(), read)
