"""Private nagios4 and NRPE daemons for the tests (no systemd), and a Slack webhook recorder.

Nagios runs from its own directory: a minimal main config loading Debian's object templates
(``/etc/nagios4/objects``) and plugin commands (``/etc/nagios-plugins/config``), a hand-written
host (``handmade-gw``, an "external" parent), and ``cfg_dir=<root>/conf.d`` with saltmesh's
``conf.d/saltmesh`` inside. ``workhours`` is redefined as all week so notifications flow at any
hour. Active checks are off: tests drive states with external commands, or force a check of
``saltmesh-test-print!<name>``, which prints ``<root>/checks/<name>`` and exits 2.
``illegal_macro_output_chars`` is not set (Nagios' default: nothing a check prints is stripped on
its way into a command line), the setting most open to abuse: the Slack command must be safe
even so.

Foreign files (:data:`FOREIGN`: hand-written objects beside and inside saltmesh's directory)
are seeded at start and checked, byte for byte and still loaded, at stop.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

NAGIOS = "/usr/sbin/nagios4"
NRPE = "/usr/sbin/nrpe"
CHECK_NRPE = "/usr/lib/nagios/plugins/check_nrpe"
DEBIAN_OBJECTS = Path("/etc/nagios4/objects")
PLUGIN_CONFIG = Path("/etc/nagios-plugins/config")

_TIMEPERIODS = """\
define timeperiod {
    timeperiod_name  24x7
    alias            24 Hours A Day, 7 Days A Week
    sunday           00:00-24:00
    monday           00:00-24:00
    tuesday          00:00-24:00
    wednesday        00:00-24:00
    thursday         00:00-24:00
    friday           00:00-24:00
    saturday         00:00-24:00
}
define timeperiod {
    timeperiod_name  workhours
    alias            All week (test harness)
    sunday           00:00-24:00
    monday           00:00-24:00
    tuesday          00:00-24:00
    wednesday        00:00-24:00
    thursday         00:00-24:00
    friday           00:00-24:00
    saturday         00:00-24:00
}
"""

_HANDMADE = """\
define host {
    host_name  handmade-gw
    use        linux-server
    address    127.0.0.1
}
define service {
    host_name            handmade-gw
    service_description  ALIVE
    use                  generic-service
    check_command        return-ok
}
"""


_PRINT_CHECK = """\
import sys
with open(sys.argv[1], encoding="utf-8") as fh:
    sys.stdout.write(fh.read())
sys.exit(2)
"""

# Files saltmesh does not own, seeded before the suite (paths relative to the instance root):
# a file beside saltmesh's directory in the same cfg_dir, and in saltmesh's own directory a
# .cfg without the saltmesh header (Nagios loads it), a dot file and a README (it does not).
FOREIGN = {
    "conf.d/handmade-web.cfg": (
        "# written by hand\ndefine host {\n    host_name  handmade-web\n    use        linux-server\n"
        "    address    127.0.0.2\n}\ndefine service {\n    host_name            handmade-web\n"
        "    service_description  ALIVE\n    use                  generic-service\n"
        "    check_command        return-ok\n}\n"
        # the parent the bad-input corpus (tests/reliability/corpus/nagios) names
        "define host {\n    host_name  gw\n    use        linux-server\n    address    127.0.0.4\n}\n"
    ),
    "conf.d/saltmesh/zz-handmade.cfg": (
        "# saltmesh: not its header, so not its file\ndefine host {\n"
        "    host_name  handmade-inner\n    use        linux-server\n    address    127.0.0.3\n}\n"
    ),
    "conf.d/saltmesh/.handmade-draft.cfg": "define host {\n    this is not loaded\n",
    "conf.d/saltmesh/README": "Files here are written by saltmesh, except zz-handmade.cfg.\n",
}
FOREIGN_HOSTS = ("handmade-gw", "handmade-web", "handmade-inner", "gw")


def have_nagios() -> bool:
    return os.access(NAGIOS, os.X_OK) and DEBIAN_OBJECTS.is_dir() and PLUGIN_CONFIG.is_dir()


def have_nrpe() -> bool:
    return os.access(NRPE, os.X_OK) and os.access(CHECK_NRPE, os.X_OK)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise TimeoutError(f"timed out waiting for {what}")


def _live_pid(pid_file: Path) -> int | None:
    """The PID in ``pid_file`` if that process is alive, else None."""
    try:
        pid = int(pid_file.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if _alive(pid) else None


def _alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def parse_blocks(text: str, kind: str) -> list[dict[str, str]]:
    """Blocks of objects.cache (``define host {``) or status.dat (``hoststatus {``)."""
    out = []
    for m in re.finditer(r"^(?:define )?" + kind + r" \{\n(.*?)^\s*\}", text, re.M | re.S):
        block = {}
        for line in m.group(1).splitlines():
            line = line.strip()
            if "\t" in line:
                key, value = line.split("\t", 1)
            elif "=" in line:
                key, value = line.split("=", 1)
            else:
                continue
            block[key.strip()] = value.strip()
        out.append(block)
    return out


class NagiosInstance:
    def __init__(self, root: Path):
        self.root = Path(root)
        self.cfg = self.root / "nagios.cfg"
        self.conf_root = self.root / "conf.d"
        self.conf_dir = self.conf_root / "saltmesh"
        self.pid_file = self.root / "nagios.pid"
        self.command_file = self.root / "rw" / "nagios.cmd"
        self.status_file = self.root / "status.dat"
        self.objects_cache = self.root / "objects.cache"
        self.log_file = self.root / "nagios.log"
        self.foreign: dict[str, bytes] = {}

    def write_config(self) -> None:
        for sub in ("objects", "rw", "spool", "conf.d"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        for name in ("commands.cfg", "contacts.cfg", "templates.cfg"):
            shutil.copy(DEBIAN_OBJECTS / name, self.root / "objects" / name)
        (self.root / "objects" / "timeperiods.cfg").write_text(_TIMEPERIODS)
        (self.root / "objects" / "handmade.cfg").write_text(_HANDMADE)
        (self.root / "objects" / "print-check.cfg").write_text(
            "define command {\n    command_name  saltmesh-test-print\n"
            f"    command_line  {sys.executable} {self.root}/bin/print-check "
            f"{self.root}/checks/$ARG1$\n}}\n"
        )
        for sub in ("bin", "checks"):
            (self.root / sub).mkdir(exist_ok=True)
        (self.root / "bin" / "print-check").write_text(_PRINT_CHECK)
        r = self.root
        lines = [
            f"log_file={self.log_file}",
            f"cfg_dir={PLUGIN_CONFIG}",
            *(f"cfg_file={r}/objects/{n}.cfg" for n in
              ("commands", "contacts", "timeperiods", "templates", "handmade", "print-check")),
            f"cfg_dir={self.conf_root}",
            f"object_cache_file={self.objects_cache}",
            f"precached_object_file={r}/objects.precache",
            f"status_file={self.status_file}",
            "status_update_interval=2",
            "nagios_user=root",
            "nagios_group=root",
            "check_external_commands=1",
            f"command_file={self.command_file}",
            f"query_socket={r}/rw/nagios.qh",
            f"lock_file={self.pid_file}",
            f"temp_file={r}/nagios.tmp",
            f"temp_path={r}",
            f"check_result_path={r}/spool",
            "retain_state_information=0",
            f"state_retention_file={r}/retention.dat",
            "use_syslog=0",
            "log_notifications=1",
            "log_external_commands=1",
            "log_passive_checks=1",
            "interval_length=60",
            "execute_host_checks=0",
            "execute_service_checks=0",
            "accept_passive_host_checks=1",
            "accept_passive_service_checks=1",
            "enable_notifications=1",
            "check_for_updates=0",
            "illegal_object_name_chars=`~!$%^&*|'\"<>?,()=",
        ]  # fmt: skip
        self.cfg.write_text("\n".join(lines) + "\n")

    def seed_foreign(self) -> None:
        """Write :data:`FOREIGN` and remember its bytes (once: a restart keeps the first)."""
        if self.foreign:
            return
        for rel, text in FOREIGN.items():
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_text(text)
        self.foreign = {rel: (self.root / rel).read_bytes() for rel in FOREIGN}

    def foreign_problems(self) -> list[str]:
        """What happened to the foreign files: changed, gone, or their hosts no longer loaded."""
        problems = []
        for rel, data in self.foreign.items():
            path = self.root / rel
            if not path.exists():
                problems.append(f"{rel} is gone")
            elif path.read_bytes() != data:
                problems.append(f"{rel} changed")
        if self.alive():
            loaded = self.hosts()
            problems += [f"host {h} is no longer loaded" for h in FOREIGN_HOSTS if h not in loaded]
        return problems

    def start(self) -> NagiosInstance:
        self.write_config()
        self.seed_foreign()
        if self.pid_file.exists() and self.pid() is None:
            self.pid_file.unlink()  # a dead (maybe not yet reaped) daemon's lock file
        check = subprocess.run([NAGIOS, "-v", str(self.cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        subprocess.run([NAGIOS, "-d", str(self.cfg)], check=True)
        _wait(lambda: self.pid() is not None and self.program_start() is not None, 30, "nagios4")
        return self

    def pid(self) -> int | None:
        return _live_pid(self.pid_file)

    def alive(self) -> bool:
        return self.pid() is not None

    def program_start(self) -> int | None:
        try:
            m = re.search(r"program_start=(\d+)", self.status_file.read_text())
        except OSError:
            return None
        return int(m.group(1)) if m else None

    def cache_mtime(self) -> int:
        return self.objects_cache.stat().st_mtime_ns

    def hosts(self) -> dict[str, dict[str, str]]:
        """Hosts of the loaded configuration (objects.cache), by name."""
        text = self.objects_cache.read_text()
        return {h["host_name"]: h for h in parse_blocks(text, "host")}

    def services(self) -> set[tuple[str, str]]:
        text = self.objects_cache.read_text()
        return {(s["host_name"], s["service_description"]) for s in parse_blocks(text, "service")}

    def host_status(self, name: str) -> dict[str, str] | None:
        for block in parse_blocks(self.status_file.read_text(), "hoststatus"):
            if block.get("host_name") == name:
                return block
        return None

    def command(self, line: str) -> None:
        """Write one external command to the command FIFO."""
        fd = os.open(self.command_file, os.O_WRONLY | os.O_NONBLOCK)
        try:
            os.write(fd, f"[{int(time.time())}] {line}\n".encode())
        finally:
            os.close(fd)

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            try:
                _wait(lambda: not _alive(pid), 20, "nagios4 to stop")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)


class NrpeInstance:
    """An NRPE daemon on a loopback port, reading ``include_dir=<root>/nrpe.d``.

    The main config allows only 192.0.2.1 (TEST-NET), so check_nrpe from 127.0.0.1 works only
    once saltmesh's include file replaced allowed_hosts. NRPE drops to the nagios user, so the
    directory lives outside pytest's 0700 tmp tree.
    """

    def __init__(self):
        self.root = Path(tempfile.mkdtemp(prefix="saltmesh-nrpe-"))
        os.chmod(self.root, 0o755)
        self.cfg = self.root / "nrpe.cfg"
        self.include_dir = self.root / "nrpe.d"
        self.pid_file = self.root / "nrpe.pid"
        self.port = free_port()

    def start(self) -> NrpeInstance:
        self.include_dir.mkdir()
        os.chmod(self.include_dir, 0o755)
        self.cfg.write_text(
            "\n".join(
                [
                    f"pid_file={self.pid_file}",
                    f"server_port={self.port}",
                    "server_address=127.0.0.1",
                    "nrpe_user=nagios",
                    "nrpe_group=nagios",
                    "allowed_hosts=192.0.2.1",
                    "dont_blame_nrpe=0",
                    "command_timeout=30",
                    "disable_syslog=1",
                    f"include_dir={self.include_dir}/",
                ]
            )
            + "\n"
        )
        os.chmod(self.cfg, 0o644)
        subprocess.run([NRPE, "-c", str(self.cfg), "-d"], check=True)
        _wait(lambda: self.pid() is not None, 20, "nrpe")
        return self

    def pid(self) -> int | None:
        return _live_pid(self.pid_file)

    def check(self, command: str | None = None) -> subprocess.CompletedProcess:
        argv = [CHECK_NRPE, "-H", "127.0.0.1", "-p", str(self.port), "-t", "5"]
        if command:
            argv += ["-c", command]
        return subprocess.run(argv, capture_output=True, text=True, check=False)

    def stop(self) -> None:
        pid = self.pid()
        if pid:
            os.kill(pid, signal.SIGTERM)
            try:
                _wait(lambda: not _alive(pid), 20, "nrpe to stop")
            except TimeoutError:
                os.kill(pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)


class SlackRecorder:
    """A local HTTP server standing in for Slack's incoming webhooks; records every POST."""

    def __init__(self):
        self.posts: list[dict] = []
        self._lock = threading.Lock()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server API)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    data = json.loads(body or b"{}")
                except ValueError:
                    data = {"raw": body.decode(errors="replace")}
                with recorder._lock:
                    recorder.posts.append({"path": self.path, "json": data})
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/services/T000/B000/XXXX"

    def start(self) -> SlackRecorder:
        self.thread.start()
        return self

    def wait_for(self, predicate, timeout: float = 60) -> dict:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                for post in self.posts:
                    if predicate(post):
                        return post
            time.sleep(0.2)
        raise AssertionError(f"no matching Slack post within {timeout}s; got {self.posts}")

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def file_mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


# --- Nagios' own command splitting (lib/runcmd.c runcmd_cmd2strv, nagioscore 4.4.6), ported
# to tell which command lines Nagios runs without a shell and with which argv.
RUNCMD_HAS_REDIR, RUNCMD_HAS_SUBCOMMAND, RUNCMD_HAS_PAREN = 1, 2, 4
RUNCMD_HAS_JOBCONTROL, RUNCMD_HAS_UBSQ, RUNCMD_HAS_UBDQ = 8, 16, 32
RUNCMD_HAS_WILDCARD, RUNCMD_HAS_SHVAR = 64, 128
_NONE, _INARG, _INSQ, _INDQ, _SPECIAL, _BSLASH = 0, 2, 4, 8, 16, 32


def runcmd_cmd2strv(cmd: str) -> tuple[int, list[str]]:
    """(flags, argv) as Nagios' worker parses ``cmd``; any flag set means it runs
    ``/bin/sh -c cmd`` instead of execvp(argv)."""
    state, ret, args, i = _NONE, 0, [], 0
    quoted = lambda: state & (_INSQ | _INDQ)  # noqa: E731
    while i < len(cmd):
        c = cmd[i]
        if c in " \t\r\n":
            if state == _INARG:
                state, i = _NONE, i + 1
                continue
            if not quoted():
                i += 1
                continue
        elif c == "\\":
            if state & _INSQ or state & _BSLASH:
                pass
            elif state & _INDQ:
                if cmd[i + 1 : i + 2] in ('"', "\\", "$", "`") and i + 1 < len(cmd):
                    state |= _BSLASH
                    i += 1
                    continue
            else:
                i += 1  # an unquoted backslash escapes the next character
                if i >= len(cmd):
                    break
        elif c in "'\"":
            mine, other = (_INSQ, _INDQ) if c == "'" else (_INDQ, _INSQ)
            if state & other:
                pass
            elif state & mine:
                state &= ~mine
                i += 1
                continue
            elif state in (_NONE, _INARG):
                if state == _NONE:
                    args.append("")
                state = mine | _INARG
                i += 1
                continue
        elif c in "|<>":
            ret |= 0 if quoted() else RUNCMD_HAS_REDIR
        elif c in "&;":
            if not quoted():
                state, ret = _SPECIAL, ret | RUNCMD_HAS_JOBCONTROL
        elif c == "`":
            if not state & _INSQ and not state & _BSLASH:
                ret |= RUNCMD_HAS_SUBCOMMAND
        elif c in "()":
            ret |= 0 if quoted() else RUNCMD_HAS_PAREN
        elif c == "$":
            if not state & _INSQ and not state & _BSLASH:
                ret |= RUNCMD_HAS_SUBCOMMAND if cmd[i + 1 : i + 2] == "(" else RUNCMD_HAS_SHVAR
        elif c in "*?":
            ret |= 0 if quoted() else RUNCMD_HAS_WILDCARD
        state &= ~_BSLASH
        if state == _NONE:
            state = _INARG
            args.append("")
        if args:
            args[-1] += cmd[i]
        i += 1
    if state & _INSQ:
        ret |= RUNCMD_HAS_UBSQ
    if state & _INDQ:
        ret |= RUNCMD_HAS_UBDQ
    return ret, args


def expand_macros(command_line: str, macros: dict[str, str]) -> str:
    """``$NAME$`` replaced by ``macros[NAME]`` as Nagios does for a command (no cleaning)."""
    return re.sub(r"\$([A-Z0-9_]+)\$", lambda m: macros[m.group(1)], command_line)
