"""OVSDB values in ovs-vsctl syntax: quoting, normalising, and the map and column clauses.

Values are quoted for ovs-vsctl's ``set`` syntax (``options:remote_ip="10.0.0.1"``), so any
string is safe. Pure.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from saltmesh.ovs.clauses import Changes, Clause
from saltmesh.ovs.errors import SpecError

_BARE_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")


def quote(value: str) -> str:
    """A string as an ovs-vsctl atom: double-quoted, with C/JSON escapes."""
    return json.dumps(str(value))


def map_key(key: str) -> str:
    """A map key as written after ``column:`` (bare when it can be, quoted otherwise)."""
    return key if _BARE_RE.match(key) else quote(key)


def to_str(value: Any) -> str:
    """A map value as OVSDB stores it (YAML ``true`` -> ``"true"``, ``5`` -> ``"5"``)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_int(value: Any) -> int | None:
    """``value`` as an integer (``"5"`` -> 5), or ``None`` when it is not one (booleans too)."""
    if isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def str_map(value: Mapping[str, Any] | None, what: str = "map") -> dict[str, str] | None:
    """Normalise a desired map; ``None`` stays ``None`` (leave alone).

    A key whose value is ``None`` (YAML ``null``) is left out, so an exactly reconciled map
    loses it.
    """
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise SpecError(f"{what} must be a mapping, got {type(value).__name__}")
    return {
        str(k): to_str(v)
        for k, v in sorted(value.items(), key=lambda kv: str(kv[0]))
        if v is not None
    }


def fmt_value(value: Any) -> str:
    """A Python value in ovs-vsctl ``set`` syntax (scalars, lists as sets, dicts as maps)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return quote(value)
    if isinstance(value, Mapping):
        return (
            "{" + ",".join(f"{quote(k)}={quote(to_str(v))}" for k, v in sorted(value.items())) + "}"
        )
    if isinstance(value, list | tuple | set | frozenset):
        return "[" + ",".join(fmt_value(v) for v in sorted(value, key=str)) + "]"
    raise SpecError(f"cannot express {value!r} as an OVSDB value")


def is_empty(value: Any) -> bool:
    """An empty set or string: a column given so is cleared rather than set."""
    return value == () or value == ""


def column_args(cols: Mapping[str, Any]) -> list[str]:
    """``column=value`` arguments for the non-empty scalar/set columns of ``cols``."""
    return [f"{c}={fmt_value(v)}" for c, v in cols.items() if not is_empty(v)]


def map_args(column: str, value: Mapping[str, str] | None) -> list[str]:
    """``column:key=value`` arguments setting each key of a (normalised) map."""
    return [f"{column}:{map_key(k)}={quote(v)}" for k, v in (value or {}).items()]


def column_clauses(table: str, record: str, cols: Mapping[str, Any]) -> list[Clause]:
    """``set`` (and ``clear`` for empty sets and strings) clauses for scalar/set columns."""
    sets = column_args(cols)
    clears = [c for c, v in cols.items() if is_empty(v)]
    out: list[Clause] = []
    if sets:
        out.append(("set", table, record, *sets))
    if clears:
        out.append(("clear", table, record, *clears))
    return out


def plain(value: Any) -> Any:
    """A column value as a change reports it: tuples (sets) become lists."""
    return list(value) if isinstance(value, tuple) else value


def diff_map(
    table: str,
    record: str,
    column: str,
    want: Mapping[str, str] | None,
    have: Mapping[str, str],
    *,
    exact: bool = True,
) -> tuple[list[Clause], Changes]:
    """Reconcile one map column.

    ``exact=True``: the column must equal ``want`` (stale keys removed). ``exact=False``: only
    the keys of ``want`` are touched; a key whose value is ``None`` is removed. ``want=None``:
    nothing. The change reports the whole map (exact) or only the touched keys (not exact).
    """
    if want is None:
        return [], {}
    have = dict(have)
    if exact:
        stale = sorted(k for k in have if k not in want)
        wanted = {k: to_str(v) for k, v in want.items()}
    else:
        stale = sorted(k for k, v in want.items() if v is None and k in have)
        wanted = {k: to_str(v) for k, v in want.items() if v is not None}
    upd = {k: v for k, v in sorted(wanted.items()) if have.get(k) != v}
    clauses: list[Clause] = []
    if stale:
        clauses.append(("remove", table, record, column, *(quote(k) for k in stale)))
    if upd:
        clauses.append(("set", table, record, *map_args(column, upd)))
    if not clauses:
        return [], {}
    if exact:
        return clauses, {
            column: {"old": dict(sorted(have.items())), "new": dict(sorted(wanted.items()))}
        }
    touched = sorted({*stale, *upd})
    return clauses, {
        column: {
            "old": {k: have.get(k) for k in touched},
            "new": {k: wanted.get(k) for k in touched},
        }
    }
