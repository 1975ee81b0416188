"""OpenFlow access: the only code in saltmesh that runs ``ovs-ofctl``.

``ovs-ofctl`` talks to ovs-vswitchd through the bridge's management socket
``<OVS_RUNDIR>/<bridge>.mgmt``. The run directory is the minion option ``saltmesh:ovs_rundir``;
unset, it is the directory of the ``saltmesh:ovsdb`` socket when that is ``unix:<dir>/db.sock``
(a private instance keeps both there, as ``tests/support/ovs.py`` does), else ovs-ofctl's
default (the system instance: a bare bridge name). Commands are argument lists; failures raise
:class:`saltmesh.errors.CommandError`. OpenFlow 1.4 is used for reading and writing, so that
bundles are available and the dump prints ``set_field`` as written (see
:mod:`saltmesh.ovs.flows`).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from saltmesh import proc
from saltmesh.ovs.flows import Rule, parse_dump

OFCTL = "ovs-ofctl"
PROTOCOL = "OpenFlow14"


def rundir_of(db: str | None) -> str | None:
    """The run directory of the OVSDB target ``db``: its socket's directory for ``unix:``."""
    if db and db.startswith("unix:"):
        return os.path.dirname(db[len("unix:") :]) or None
    return None


class Ofctl:
    """ovs-vswitchd's OpenFlow side, per bridge. ``rundir=None``: ovs-ofctl's default."""

    def __init__(self, rundir: str | None = None, timeout: int = 30):
        self.rundir = rundir or None
        self.timeout = int(timeout)

    @classmethod
    def from_options(cls, get: Callable[[str], Any]) -> Ofctl:
        """From the minion options ``saltmesh:ovs_rundir``, ``saltmesh:ovsdb`` and
        ``saltmesh:ovsdb_timeout`` (``get`` is Salt's ``config.get``)."""
        rundir = get("saltmesh:ovs_rundir") or rundir_of(get("saltmesh:ovsdb") or None)
        return cls(rundir, timeout=int(get("saltmesh:ovsdb_timeout") or 30))

    def target(self, bridge: str) -> str:
        if self.rundir:
            return f"unix:{os.path.join(self.rundir, bridge)}.mgmt"
        return bridge

    def argv(self, command: str, bridge: str, *args: str, options: Sequence[str] = ()) -> list[str]:
        base = [OFCTL, f"--timeout={self.timeout}", "-O", PROTOCOL, "--no-names", *options]
        return [*base, command, self.target(bridge), *args]

    def dump(self, bridge: str, cookie: int) -> list[Rule]:
        """The rules of ``bridge`` whose cookie is exactly ``cookie``."""
        return parse_dump(self.dump_text(bridge, cookie))

    def dump_text(self, bridge: str, cookie: int) -> str:
        """:meth:`dump` as ovs-ofctl prints it (without statistics: the same rules, the same
        bytes)."""
        return proc.output(self._dump_argv(bridge, cookie), timeout=self.timeout + 5)

    def dump_start(self, bridge: str, cookie: int) -> proc.Pending:
        """:meth:`dump_text` started now and read later, while the caller does other work."""
        return proc.start(self._dump_argv(bridge, cookie), timeout=self.timeout + 5)

    def _dump_argv(self, bridge: str, cookie: int) -> list[str]:
        return self.argv("dump-flows", bridge, f"cookie={cookie:#x}/-1", options=["--no-stats"])

    def bundle(self, bridge: str, lines: Sequence[str]) -> None:
        """Apply ``add-flows`` lines (``add ...``, ``delete_strict ...``) as ONE OpenFlow
        bundle: all or nothing. Nothing runs when ``lines`` is empty."""
        if not lines:
            return
        argv = self.argv("add-flows", bridge, "-", options=["--bundle"])
        proc.run(argv, stdin="\n".join(lines) + "\n", timeout=self.timeout + 5)
