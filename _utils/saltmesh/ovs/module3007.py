"""Salt 3007's ``openvswitch`` execution module, on saltmesh's OVSDB layer: its argument checks,
its ovs-vsctl queries and clauses, and the shape of its answers. Pure.

Salt 3007 ran one ``ovs-vsctl`` command per function (a string split by Salt); here the same
commands are argument tuples: reads are run by :meth:`saltmesh.ovs.ovsdb.Ovsdb.run`, writes are
clauses for one transaction (:meth:`saltmesh.ovs.reconcile.Reconciler.transact`). ovs-vsctl
itself decides what a bridge, a fake bridge or a bridge's port list is, exactly as under 3007.

Answers keep 3007's shapes: ``list-br``/``list-ports``/``get`` output as a list of lines
(``port_get_tag`` of an untagged port is ``["[]"]``, ``interface_get_type`` of a system port
``['""']``), ``db_get`` values with sets as lists, maps as dicts and uuids as
``["uuid", "<uuid>"]``. Fixed: an empty listing is ``[]`` (3007: ``[""]``).
"""

from __future__ import annotations

import json
from typing import Any

from saltmesh.ovs.clauses import Clause
from saltmesh.ovs.compat3007 import bounded_int, remote_ip
from saltmesh.ovs.values import fmt_value, quote

VLAN_RANGE = (0, 4095)
GRE_KEY_RANGE = (0, 2**32 - 1)
VXLAN_KEY_RANGE = (0, 2**64 - 1)


def lines(text: str) -> list[str]:
    """ovs-vsctl's output as 3007 returned it (one string per line), ``[]`` when empty."""
    text = text.rstrip()
    return text.split("\n") if text else []


def convert(value: Any) -> Any:
    """OVSDB JSON as 3007's ``db_get`` returned it: ``["set", [...]]`` -> list, ``["map",
    [[k, v]...]]`` -> dict, anything else (``["uuid", "..."]`` included) unchanged."""
    if isinstance(value, dict):
        return {convert(k): convert(v) for k, v in value.items()}
    if isinstance(value, list) and len(value) == 2 and isinstance(value[1], list):
        kind, body = value
        if kind == "set":
            return [convert(v) for v in body]
        if kind == "map":
            if all(isinstance(kv, list) and len(kv) == 2 for kv in body):
                return {kv[0]: convert(kv[1]) for kv in body}
            return value
    if isinstance(value, list) and len(value) != 2:
        return [convert(v) for v in value]
    return value


def db_get_args(table: str, record: str, column: str, if_exists: bool) -> list[str]:
    """The ovs-vsctl arguments of ``db_get``."""
    return [
        "--format=json",
        f"--columns={column}",
        *(["--if-exists"] if if_exists else []),
        "list",
        table,
        record,
    ]


def db_get_value(text: str) -> Any:
    """``db_get``'s answer from the output of :func:`db_get_args`: the first column of the
    first row, ``None`` when there is no row (``if_exists``)."""
    data = json.loads(text)["data"]
    return convert(data[0][0]) if data and data[0] else None


def db_set_clause(table: str, record: str, column: str, value: Any, if_exists: bool) -> Clause:
    """``db_set``'s clause. Fixed: a dict sets a map column (3007 wrote it as JSON, which
    ovs-vsctl rejects). Raises :class:`~saltmesh.ovs.errors.SpecError` for ``None``."""
    return (*_flag("--if-exists", if_exists), "set", table, record, f"{column}={fmt_value(value)}")


def _flag(flag: str, on: bool) -> tuple[str, ...]:
    return (flag,) if on else ()


def _internal(port: str, internal: bool) -> list[Clause]:
    return [("set", "Interface", port, "type=internal")] if internal else []


def add_br(br: str, may_exist: bool, parent: Any = None, vlan: Any = None) -> list[Clause]:
    """``bridge_create``'s clause; :class:`ValueError` when only one of parent/vlan is given
    (3007's ``ArgumentValueError`` messages)."""
    if parent is not None and vlan is None:
        raise ValueError("If parent is specified, vlan must also be specified.")
    if vlan is not None and parent is None:
        raise ValueError("If vlan is specified, parent must also be specified.")
    fake = () if parent is None else (str(parent), str(vlan))
    return [(*_flag("--may-exist", may_exist), "add-br", str(br), *fake)]


def del_br(br: str, if_exists: bool) -> list[Clause]:
    return [(*_flag("--if-exists", if_exists), "del-br", str(br))]


def add_port(br: str, port: str, may_exist: bool, internal: bool) -> list[Clause]:
    return [
        (*_flag("--may-exist", may_exist), "add-port", str(br), str(port)),
        *_internal(str(port), internal),
    ]


def del_port(br: str | None, port: str, if_exists: bool) -> list[Clause]:
    """``port_remove``'s clause: from whatever bridge holds it when ``br`` is empty."""
    where = (str(br),) if br else ()
    return [(*_flag("--if-exists", if_exists), "del-port", *where, str(port))]


def in_range(value: Any, bounds: tuple[int, int]) -> int | None:
    """``value`` as an integer within ``bounds``, or ``None`` (3007 answered ``False``; it
    crashed on a non-number)."""
    try:
        return bounded_int(value, *bounds, "value")
    except ValueError:
        return None


def vlan_port(br: str, port: str, vlan: int, internal: bool, listed: bool) -> list[Clause]:
    """``port_create_vlan``'s clauses: retag the port when ``listed`` on ``br``, else add it."""
    port = str(port)
    if listed:
        head: Clause = ("set", "Port", port, f"tag={vlan}")
    else:
        head = ("add-port", str(br), port, f"tag={vlan}")
    return [head, *_internal(port, internal)]


def tunnel_options(remote: Any, key: int, dst_port: Any = None) -> list[str] | None:
    """``options:`` arguments of a 3007 tunnel, ``None`` for a bad ``remote`` or ``dst_port``.

    ``dst_port`` ``None`` or ``0``: none set (3007 crashed on ``None``); outside 1..65535:
    ``None`` (3007 silently left it out).
    """
    try:
        opts = [f"options:remote_ip={quote(remote_ip(remote))}", f"options:key={quote(str(key))}"]
    except ValueError:
        return None
    if dst_port in (None, 0):
        return opts
    number = in_range(dst_port, (1, 65535))
    if number is None:
        return None
    return [*opts, f"options:dst_port={quote(str(number))}"]


def tunnel_port(br: str, port: str, kind: str, options: list[str], listed: bool) -> list[Clause]:
    """``port_create_gre``/``port_create_vxlan``'s clauses: the interface's type and options
    set in place when ``listed`` on ``br``, else the port added with them."""
    port = str(port)
    add: list[Clause] = [] if listed else [("add-port", str(br), port)]
    return [*add, ("set", "Interface", port, f"type={kind}", *options)]
