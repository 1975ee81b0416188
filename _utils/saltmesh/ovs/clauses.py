"""ovs-vsctl clauses: their type, their text, one transaction's arguments, what they touch.

A clause is a tuple of ovs-vsctl arguments such as ``("add-port", "br0", "gre-0a000001")``;
the diff modules return lists of them and :meth:`saltmesh.ovs.ovsdb.Ovsdb.transact` runs a
list as one transaction. Pure.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.schema import Snapshot

Clause = tuple[str, ...]
Changes = dict[str, Any]  # {field: {"old": ..., "new": ...}}, as a state reports it

_ROW_TABLES = ("Bridge", "Port", "Interface")


def transaction_args(clauses: Iterable[Sequence[str]]) -> list[str]:
    """The ovs-vsctl arguments running ``clauses`` as one transaction."""
    args: list[str] = []
    for clause in clauses:
        if not clause:
            continue
        args += ["--", *(str(a) for a in clause)]
    return args


def clauses_text(clauses: Iterable[Clause]) -> str:
    """A readable one-line form of clauses (for comments and logs)."""
    return " -- ".join(" ".join(c) for c in clauses)


def normalise(clauses: Any) -> list[Clause]:
    """User-given clauses (``ovs.transact``) as a list of string tuples.

    A single clause (a list of strings) is accepted as a list of one. Raises
    :class:`SpecError` for anything but a list of argument lists.
    """
    if isinstance(clauses, list | tuple) and clauses and isinstance(clauses[0], str):
        clauses = [clauses]
    if not isinstance(clauses, list | tuple) or not all(
        isinstance(c, list | tuple) and all(isinstance(a, str | int) for a in c) for c in clauses
    ):
        raise SpecError("clauses must be a list of argument lists")
    return [tuple(str(a) for a in c) for c in clauses]


def touched_names(clauses: Iterable[Sequence[str]], snap: Snapshot) -> set[str] | None:
    """Names of bridges/ports/interfaces whose rows ``clauses`` change (``snap``: before).

    Lets a caller keep a cached snapshot after a write and re-read only when a later diff
    looks at one of these names. ``None`` means "cannot tell" (re-read before anything else).
    """
    names: set[str] = set()

    def port_and_members(port: str) -> None:
        names.add(port)
        if port in snap.ports:
            names.update(snap.ports[port].interfaces)

    for clause in clauses:
        args = [a for a in clause if not a.startswith("--")]
        if not args:
            continue
        verb = args[0]
        if verb == "add-port":
            names.add(args[2])
        elif verb == "add-bond":
            names.update(a for a in args[2:] if "=" not in a)
        elif verb == "add-br":
            names.add(args[1])
        elif verb == "del-port":
            port_and_members(args[-1])
        elif verb == "del-br":
            names.add(args[1])
            for port in snap.bridges[args[1]].ports if args[1] in snap.bridges else ():
                port_and_members(port)
            port_and_members(args[1])
        elif verb in ("set", "remove", "clear", "add") and args[1] in _ROW_TABLES:
            if args[1] == "Port":
                port_and_members(args[2])
            else:
                names.add(args[2])
            if args[1] == "Interface" and args[2] in snap.interfaces:
                names.add(snap.interfaces[args[2]].port or args[2])  # a bond reads its members
        elif verb == "create" and args[1] == "Interface":
            names.update(json.loads(a.split("=", 1)[1]) for a in args[2:] if a.startswith("name="))
        else:
            return None
    return names
