"""The diff of any record's columns (``ovs_db.managed``) -> ``(clauses, changes)``. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.ovs.clauses import Changes, Clause
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.values import as_int, diff_map, fmt_value, to_str


def diff_record(
    table: str, record: str, data: Mapping[str, Any], have: Mapping[str, Any]
) -> tuple[list[Clause], Changes]:
    """Clauses and changes setting columns of any record (``ovs_db.managed``).

    ``have`` is :meth:`saltmesh.ovs.ovsdb.Ovsdb.get_record`'s result. Map columns (a dict
    given for a column that is a map) are reconciled key by key: given keys are set, a key
    given as ``None`` is removed, other keys are left alone. A list sets a set column (compared
    as a set), ``None`` clears a column, scalars are compared after type normalisation.
    """
    clauses: list[Clause] = []
    changes: Changes = {}
    unknown = sorted(c for c in data if c not in have)
    if unknown:
        raise SpecError(f"{table} {record}: no column {', '.join(unknown)}")
    for col, want in data.items():
        cur = have[col]
        if isinstance(want, Mapping):
            if not isinstance(cur, dict):
                raise SpecError(f"{table} {record}: column {col} is not a map")
            cl, ch = diff_map(table, record, col, dict(want), cur, exact=False)
            clauses += cl
            changes.update(ch)
            continue
        if want is None:
            if cur not in ([], {}, None, ""):
                clauses.append(("clear", table, record, col))
                changes[col] = {"old": cur, "new": None}
            continue
        if isinstance(want, list | tuple | set):
            cur_set = sorted(map(str, cur)) if isinstance(cur, list) else [str(cur)]
            if sorted(map(str, want)) != cur_set:
                clauses.append(("set", table, record, f"{col}={fmt_value(list(want))}"))
                changes[col] = {"old": cur, "new": list(want)}
            continue
        if _same_scalar(cur, want):
            continue
        clauses.append(("set", table, record, f"{col}={fmt_value(_coerce(cur, want))}"))
        changes[col] = {"old": None if cur == [] else cur, "new": want}
    return clauses, changes


def _coerce(cur: Any, want: Any) -> Any:
    """Give a desired scalar the type of the column (``"5"`` for an integer column -> 5)."""
    if isinstance(cur, bool) and isinstance(want, str) and want.lower() in ("true", "false"):
        return want.lower() == "true"
    if isinstance(cur, int) and not isinstance(cur, bool) and isinstance(want, str):
        number = as_int(want)
        return number if number is not None else want
    return want


def _same_scalar(cur: Any, want: Any) -> bool:
    if cur == [] or cur is None:
        return False
    want = _coerce(cur, want)
    if isinstance(cur, bool) or isinstance(want, bool):
        return cur is want
    if isinstance(cur, str):
        return cur == to_str(want)
    return cur == want


def blank_record(data: Mapping[str, Any]) -> dict[str, Any]:
    """An empty record with the columns of ``data`` (maps ``{}``, sets ``[]``, else ``None``).

    Test mode plans against it when an earlier state of the same run creates the record.
    """
    return {
        c: {} if isinstance(v, dict) else [] if isinstance(v, list) else None
        for c, v in data.items()
    }
