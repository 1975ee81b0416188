"""nagios01 of the demo: a real nagios4 running inside a network namespace of its own, and the
webhook receiver standing in for Slack beside it.

Nagios is the tests' private instance (:class:`tests.support.nagios.NagiosInstance`: its own
directory, Debian's object templates and plugin commands) with three differences:

* it runs in nagios01's namespace, so its host checks are its own: Debian's
  ``check-host-alive`` (``check_ping -p 1``) executed by nagios4 and reaching the docker hosts
  over the lab's underlay and the containers over the mesh;
* ``linux-server`` and ``generic-service`` (Debian's templates, used by pillar.example) have
  ``max_check_attempts 1`` instead of 10 and 3, so one failed check is a HARD state and
  notifies at once;
* no hand-written hosts (the tests' foreign-file fixtures): Nagios monitors Debian's
  ``localhost.cfg`` (itself, as a fresh nagios4 package does) and what the ``servers`` pillar
  declares.

Active host checks start off (the lab is being built) and are switched on by an external
command (:meth:`NamespacedNagios.start_checks`).
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.support.nagios import DEBIAN_OBJECTS, NAGIOS, NagiosInstance, parse_blocks

HERE = Path(__file__).resolve().parent
STATES = {"0": "UP", "1": "DOWN", "2": "UNREACHABLE"}


class NamespacedNagios(NagiosInstance):
    def __init__(self, root: Path, netns: str):
        super().__init__(root)
        self.netns = netns

    def write_config(self) -> None:
        super().write_config()
        shutil.copy(DEBIAN_OBJECTS / "localhost.cfg", self.root / "objects" / "localhost.cfg")
        lines = [
            line.replace("/objects/handmade.cfg", "/objects/localhost.cfg")
            for line in self.cfg.read_text().splitlines()
        ]
        self.cfg.write_text("\n".join(lines) + "\n")
        templates = self.root / "objects" / "templates.cfg"
        text = templates.read_text()
        for kind, name in (("host", "linux-server"), ("service", "generic-service")):
            block = re.search(rf"define {kind} \{{[^}}]*?name\s+{name}\b[^}}]*\}}", text)
            assert block, f"Debian's {name} template not found"
            patched, n = re.subn(r"(max_check_attempts\s+)\d+", r"\g<1>1", block.group(0), count=1)
            assert n == 1, f"{name} has no max_check_attempts"
            text = text.replace(block.group(0), patched)
        templates.write_text(text)

    def seed_foreign(self) -> None:
        """No hand-written hosts in the demo's Nagios."""

    def start(self) -> NamespacedNagios:
        self.write_config()
        check = subprocess.run([NAGIOS, "-v", str(self.cfg)], capture_output=True, text=True)
        assert check.returncode == 0, check.stdout + check.stderr
        subprocess.run(["ip", "netns", "exec", self.netns, NAGIOS, "-d", str(self.cfg)], check=True)
        deadline = time.monotonic() + 30
        while self.pid() is None or self.program_start() is None:
            assert time.monotonic() < deadline, "nagios4 did not start"
            time.sleep(0.1)
        return self

    def start_checks(self) -> None:
        self.command("START_EXECUTING_HOST_CHECKS")

    def statuses(self) -> dict[str, dict[str, str]]:
        """Every host's block of status.dat, by name."""
        blocks = parse_blocks(self.status_file.read_text(), "hoststatus")
        return {b["host_name"]: b for b in blocks}

    def force_checks(self, hosts: list[str]) -> int:
        """Schedule a forced check of each host now; returns the time given to Nagios."""
        now = int(time.time())
        for host in hosts:
            self.command(f"SCHEDULE_FORCED_HOST_CHECK;{host};{now}")
        return now

    def force_service_checks(self, host: str) -> int:
        """Schedule a forced check of each service of ``host`` now; returns the time given."""
        now = int(time.time())
        self.command(f"SCHEDULE_FORCED_HOST_SVC_CHECKS;{host};{now}")
        return now

    def wait_checked(self, hosts: list[str], since: int, timeout: float = 60) -> dict[str, dict]:
        """The status of ``hosts`` once each was checked at or after ``since``."""
        deadline = time.monotonic() + timeout
        while True:
            status = self.statuses()
            done = {
                h: status[h]
                for h in hosts
                if h in status
                and status[h].get("has_been_checked") == "1"
                and int(status[h].get("last_check", "0")) >= since
            }
            if len(done) == len(hosts):
                return done
            if time.monotonic() > deadline:
                missing = sorted(set(hosts) - set(done))
                raise TimeoutError(f"Nagios did not check {missing} within {timeout:.0f} s")
            time.sleep(0.5)


class Webhook:
    """demo/webhook.py in a network namespace; the posts it received, from its log."""

    def __init__(self, root: Path, netns: str, port: int = 8080):
        self.root = root
        self.netns = netns
        self.port = port
        self.log = root / "posts.jsonl"
        self.out = root / "webhook.out"
        self.ready = root / "webhook.ready"
        self.pid: int | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/services/T000/B000/XXXXXXXX"

    def start(self) -> Webhook:
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.out, "ab") as out:
            proc = subprocess.Popen(
                ["ip", "netns", "exec", self.netns, sys.executable, str(HERE / "webhook.py"),
                 "--port", str(self.port), "--log", str(self.log), "--ready", str(self.ready)],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,
            )  # fmt: skip
        self.pid = proc.pid
        deadline = time.monotonic() + 30
        while not self.ready.exists():
            assert proc.poll() is None, self.out.read_text()
            assert time.monotonic() < deadline, "the webhook receiver did not start"
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.pid:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.pid, signal.SIGTERM)
            self.pid = None

    def posts(self) -> list[dict]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def wait_for(self, predicate, timeout: float = 90) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            for post in self.posts():
                if predicate(post):
                    return post
            if time.monotonic() > deadline:
                raise TimeoutError(f"no matching webhook post within {timeout:.0f} s")
            time.sleep(0.3)
