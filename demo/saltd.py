"""A real Salt master and minions for the demo: the daemons and CLIs of the venv, as a user runs
them, each with a config directory of its own (no pytest, no salt-factories).

The master's config directory is what ``SALT_CONFIG_DIR`` names for the ``salt``/``salt-run``
CLIs; each minion is ``salt-minion -c <its directory>``. Every daemon runs in a process group
of its own (its pid), so it can be stopped, or outlive the demo (``--keep``), as one.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import yaml

BIN = Path(sys.executable).parent


class SaltError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(predicate: Callable[[], object], timeout: float, what: str, step: float = 0.3):
    """The first truthy value of ``predicate()`` within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(step)


class Daemon:
    """One Salt daemon started from the venv, in its own process group."""

    def __init__(self, binary: str, config_dir: Path, log: Path):
        self.binary = binary
        self.config_dir = config_dir
        self.log = log
        self.pid: int | None = None
        self.started_at: float | None = None  # time.monotonic() of the start

    def start(self) -> Daemon:
        with open(self.log, "ab") as fh:
            proc = subprocess.Popen(
                [str(BIN / self.binary), "-c", str(self.config_dir), "--log-level=quiet"],
                stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self.started_at = time.monotonic()
        self.pid = proc.pid
        # reaped by a thread of ours, so the demo never leaves a zombie behind
        threading.Thread(target=proc.wait, daemon=True).start()
        return self

    def alive(self) -> bool:
        if self.pid is None:
            return False
        try:
            os.killpg(self.pid, 0)
        except ProcessLookupError:
            return False
        return True

    def stop(self, timeout: float = 20) -> None:
        stop_all([self], timeout)


def stop_all(daemons: list[Daemon], timeout: float = 5) -> None:
    """SIGTERM to every daemon's group at once; SIGKILL to what is left after ``timeout``."""
    groups = [d.pid for d in daemons if d.pid is not None]
    for pid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(d.alive() for d in daemons):
        time.sleep(0.1)
    for pid in groups:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    for d in daemons:
        d.pid = None


class Master:
    """salt-master on ``interface`` (127.0.0.1 unless the config says) with free ports;
    ``run``/``salt`` are its CLIs."""

    def __init__(self, root: Path, config: dict):
        self.root = root
        self.config_dir = root / "etc" / "salt"
        self.config_dir.mkdir(parents=True, exist_ok=True)
        self.publish_port, self.ret_port = free_port(), free_port()
        self.config = {
            "id": "master",
            "root_dir": str(root),
            "interface": "127.0.0.1",
            "publish_port": self.publish_port,
            "ret_port": self.ret_port,
            "user": "root",
            "auto_accept": True,
            "log_level_logfile": "info",
            **config,
        }
        self.interface = self.config["interface"]
        (self.config_dir / "master").write_text(yaml.safe_dump(self.config))
        self.daemon = Daemon("salt-master", self.config_dir, root / "salt-master.out")

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "SALT_CONFIG_DIR": str(self.config_dir)}

    def start(self, timeout: float = 120) -> Master:
        self.daemon.start()

        def listening() -> bool:
            for port in (self.publish_port, self.ret_port):
                with socket.socket() as s:
                    if s.connect_ex((self.interface, port)) != 0:
                        return False
            return (self.root / "var/run/salt/master/master_event_pub.ipc").exists()

        wait_for(listening, timeout, "salt-master to listen")
        return self

    def cli(
        self, binary: str, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        """``<binary> <args>`` against this master (SALT_CONFIG_DIR), output captured."""
        proc = subprocess.run(
            [str(BIN / binary), "-c", str(self.config_dir), *args],
            capture_output=True, text=True, env=self.env, timeout=timeout, check=False,
        )  # fmt: skip
        if check and proc.returncode != 0:
            raise SaltError(
                f"{binary} {' '.join(args)} exited {proc.returncode}:\n"
                f"{proc.stdout[-3000:]}{proc.stderr[-3000:]}"
            )
        return proc

    def run(self, *args: str, check: bool = True, timeout: float = 600):
        return self.cli("salt-run", *args, check=check, timeout=timeout)

    def salt(self, *args: str, check: bool = True, timeout: float = 600):
        return self.cli("salt", *args, check=check, timeout=timeout)

    def salt_json(self, target: str, *args: str, tgt_type: str = "glob", timeout: int = 300):
        """``salt <target> <args> --out=json --static``: answers by minion id."""
        flag = {"glob": [], "list": ["-L"]}[tgt_type]
        proc = self.salt(
            *flag, target, *args, "--out=json", "--static", f"--timeout={timeout}",
            check=False, timeout=timeout + 60,
        )  # fmt: skip
        try:
            return json.loads(proc.stdout or "{}")
        except ValueError:
            if "No minions matched" in proc.stdout + proc.stderr:
                return {}
            raise SaltError(f"salt {target} {' '.join(args)}: {proc.stdout}{proc.stderr}") from None

    def minion_config(self, minion_id: str, root: Path, extra: dict) -> Path:
        config_dir = root
        config_dir.mkdir(parents=True, exist_ok=True)
        config = {
            "id": minion_id,
            "root_dir": str(root),
            "master": self.interface,
            "master_port": self.ret_port,
            "publish_port": self.publish_port,
            "user": "root",
            "acceptance_wait_time": 1,
            "log_level_logfile": "info",
            **extra,
        }
        (config_dir / "minion").write_text(yaml.safe_dump(config))
        return config_dir

    def minion(self, minion_id: str, root: Path, extra: dict) -> Daemon:
        """A minion whose key the master has already: pre-seeded, as Salt's docs describe
        (``salt-key --gen-keys``, the public key into the master's ``minions/``)."""
        config_dir = self.minion_config(minion_id, root, extra)
        pki = root / "etc" / "salt" / "pki" / "minion"
        pki.mkdir(parents=True, exist_ok=True)
        self.cli("salt-key", f"--gen-keys={minion_id}", f"--gen-keys-dir={pki}")
        (pki / f"{minion_id}.pem").rename(pki / "minion.pem")
        (pki / f"{minion_id}.pub").rename(pki / "minion.pub")
        return Daemon("salt-minion", config_dir, root / "salt-minion.out")

    def seed(self, minion_id: str, minion: Daemon) -> None:
        """Accept ``minion``'s pre-made key (just before it starts: an accepted minion that
        does not run makes every ``salt '*'`` wait for it)."""
        accepted = self.root / "etc" / "salt" / "pki" / "master" / "minions"
        accepted.mkdir(parents=True, exist_ok=True)
        pub = minion.config_dir / "etc" / "salt" / "pki" / "minion" / "minion.pub"
        shutil.copy(pub, accepted / minion_id)

    def wait_minions(self, ids: list[str], timeout: float = 180) -> None:
        """Until every minion in ``ids`` answers test.ping."""

        def answered() -> bool:
            got = self.salt_json(",".join(ids), "test.ping", tgt_type="list", timeout=10)
            return all(got.get(i) is True for i in ids)

        wait_for(answered, timeout, f"minions {', '.join(ids)} to answer", step=1)


class EventWatch:
    """``salt-run state.event`` in the background: the master's events as (tag, data)."""

    def __init__(self, master: Master):
        self.master = master
        self.events: list[tuple[str, dict]] = []
        self._lock = threading.Lock()
        self.proc = subprocess.Popen(
            [str(BIN / "salt-run"), "-c", str(master.config_dir), "state.event", "count=-1"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=master.env,
            start_new_session=True,
        )  # fmt: skip
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()
        # subscribed once an event we send comes back
        marker = f"saltmesh-demo/watch/{os.getpid()}/{time.time_ns()}"

        def seen() -> bool:
            master.run("event.send", marker, check=False, timeout=60)
            return bool(self.matching(lambda tag, _: tag == marker))

        wait_for(seen, 60, "the event watcher to subscribe", step=0.5)

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            tag, _, data = line.rstrip("\n").partition("\t")
            try:
                parsed = json.loads(data) if data else {}
            except ValueError:
                continue
            with self._lock:
                self.events.append((tag, parsed))

    def matching(self, predicate: Callable[[str, dict], bool]) -> list[tuple[str, dict]]:
        with self._lock:
            return [(t, d) for t, d in self.events if predicate(t, d)]

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(10)
