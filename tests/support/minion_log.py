"""A Salt daemon's log file (salt-call writes to the minion's too), read from a mark on.

One reader for every test that asserts on what Salt logged: tracebacks, ERROR lines, the
containers engine's runs.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

# ERROR lines Salt itself logs at random around its own transport, whatever the module run:
# asyncio's "Task was destroyed but it is pending!" when an IPC/TCP task is collected before it
# ran (salt/transport/tcp.py, salt/minion.py say so). Not ours; an ERROR from anything else counts.
SALT_NOISE = re.compile(r"\[asyncio\s*:\d+\]\[ERROR\s*\].*Task was destroyed but it is pending")

ENGINE_RUN = "saltmesh_containers: running state.sls"
STAMP = re.compile(r"^\[(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d),(\d+)\]")


class MinionLog:
    """The log of ``daemon`` (a salt-factories daemon, or a path) from the mark on."""

    def __init__(self, daemon):
        path = daemon if isinstance(daemon, (str, Path)) else daemon.config["log_file"]
        self.path = Path(path)
        self.mark()

    def mark(self) -> None:
        self.offset = self.path.stat().st_size if self.path.exists() else 0

    def text(self) -> str:
        if not self.path.exists():
            return ""
        with open(self.path, encoding="utf-8", errors="replace") as fh:
            fh.seek(self.offset)
            return fh.read()

    def lines(self) -> list[str]:
        return self.text().splitlines()

    def errors(self) -> list[str]:
        """ERROR (and CRITICAL) lines since the mark, Salt's own transport noise left out."""
        return [
            line
            for line in self.lines()
            if ("[ERROR" in line or "[CRITICAL" in line) and not SALT_NOISE.search(line)
        ]

    def tracebacks(self) -> list[str]:
        """The line before each traceback since the mark (it names what failed)."""
        lines = self.lines()
        return [
            lines[max(0, i - 1)] for i, line in enumerate(lines) if "Traceback (most recent" in line
        ]

    def assert_clean(self) -> str:
        """No traceback at any level since the mark; returns the new text."""
        text = self.text()
        assert "Traceback (most recent call last)" not in text, text[-4000:]
        assert "An exception occurred in this state" not in text, text[-4000:]
        return text

    def engine_runs(self) -> list[float]:
        """Start times (epoch seconds) of the containers engine's runs since the mark."""
        return self.times(ENGINE_RUN)

    def times(self, needle: str) -> list[float]:
        """When (epoch seconds) each line since the mark that contains ``needle`` was logged."""
        out = []
        for line in self.lines():
            m = STAMP.match(line)
            if m and needle in line:
                stamp = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S")
                out.append(stamp.timestamp() + int(m.group(2)) / 1000)
        return out
