"""OVSDB access: the only code in saltmesh that runs ``ovs-vsctl``.

Reads and writes are batched, because every ``ovs-vsctl`` process re-syncs the whole database
(about 10 ms with 500 ports) and a per-port process per state does not scale:

* :meth:`Ovsdb.snapshot` reads Bridge, Port, Interface and Open_vSwitch in **one** process and
  returns a frozen :class:`saltmesh.ovs.schema.Snapshot` keyed by name.
* :meth:`Ovsdb.transact` runs a list of clauses (argument tuples such as
  ``("add-port", "br0", "gre-0a000001")``) as **one** ``ovs-vsctl`` transaction, joined with
  ``--``. An empty list runs nothing. The clauses come from the diff modules of this package.
* :meth:`Ovsdb.get_record` reads one record of any table (for ``ovs_db.managed``).

Commands are argument lists (never a shell), run through :func:`saltmesh.proc.run`. Failures
raise :class:`saltmesh.errors.CommandError` carrying ovs-vsctl's stderr.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from typing import Any

from saltmesh import proc
from saltmesh.errors import CommandError
from saltmesh.ovs.clauses import transaction_args
from saltmesh.ovs.schema import SNAPSHOT_ARGS, Snapshot, decode, parse_record, parse_snapshot

VSCTL = "ovs-vsctl"


def virtual(name: str) -> str | tuple[bool, str]:
    """A loader module's ``__virtual__`` answer: ``name``, or why not (no ovs-vsctl)."""
    if shutil.which(VSCTL) is None:
        return (False, f"{VSCTL} not found: install Open vSwitch (openvswitch-switch)")
    return name


class Ovsdb:
    """An OVSDB server reached through ``ovs-vsctl``.

    :param db: the ``--db=`` target (``unix:/path/db.sock``, ``tcp:IP:PORT``); ``None`` uses
        ovs-vsctl's default (the system socket).
    :param timeout: seconds ovs-vsctl may wait (``--timeout``), so a dead daemon cannot hang a
        state run.
    """

    def __init__(self, db: str | None = None, timeout: int = 30):
        self.db = db or None
        self.timeout = int(timeout)

    @classmethod
    def from_options(cls, get: Callable[[str], Any]) -> Ovsdb:
        """The OVSDB of the minion options ``saltmesh:ovsdb`` and ``saltmesh:ovsdb_timeout``
        (default 30 s); ``get`` is Salt's ``config.get``."""
        return cls(get("saltmesh:ovsdb") or None, timeout=int(get("saltmesh:ovsdb_timeout") or 30))

    def argv(self, *args: str) -> list[str]:
        base = [VSCTL, f"--timeout={self.timeout}"]
        if self.db:
            base.append(f"--db={self.db}")
        return [*base, *args]

    def run(self, *args: str) -> str:
        """Run ovs-vsctl with ``args``; return stdout or raise :class:`CommandError`."""
        return proc.output(self.argv(*args), timeout=self.timeout + 5)

    def snapshot(self) -> Snapshot:
        """Read Bridge, Port, Interface and the Open_vSwitch row in one ovs-vsctl call."""
        return parse_snapshot(self.run(*SNAPSHOT_ARGS))

    def transact(self, clauses: Sequence[Sequence[str]]) -> None:
        """Run ``clauses`` as ONE ovs-vsctl transaction; nothing at all when empty."""
        args = transaction_args(clauses)
        if args:
            self.run(*args)

    def get_record(self, table: str, record: str) -> dict[str, Any]:
        """Every column of one record as plain values (maps -> dict, sets -> list).

        Raises :class:`CommandError` when the table or record does not exist.
        """
        text = self.run("--format=json", "--data=json", "list", table, record)
        return parse_record(text, table, record)

    def version(self) -> str:
        """The Open vSwitch version (``ovs_version`` of the database, else the client's)."""
        try:
            ver = decode(
                json.loads(self.run("--format=json", "get", "Open_vSwitch", ".", "ovs_version"))
            )
        except (CommandError, ValueError):
            ver = None
        if isinstance(ver, str) and ver:
            return ver
        first = self.run("--version").splitlines()[0]
        return first.rsplit(" ", 1)[-1]
