"""Canonical text of the objects saltmesh owns, and the object-level diff (pure).

The same pillar, in any key order, gives the same bytes: objects in canonical order, a static
header (it also marks the file as owned by saltmesh), ``\\n`` line ends, no trailing
whitespace, no timestamps.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from saltmesh.nagios.build import IDENTITY, NagiosObject, canonical
from saltmesh.nagios.objects import parse_objects

HEADER = "# Managed by saltmesh (nagios_objects.managed). Do not edit: changes are overwritten.\n"


def render_object(obj: NagiosObject) -> str:
    body = "".join(f"    {k.ljust(30)} {v}".rstrip() + "\n" for k, v in obj.directives)
    return f"define {obj.kind} {{\n{body}}}\n"


def render_files(objects: Iterable[NagiosObject]) -> dict[str, bytes]:
    """{file name: bytes}, each file the header plus its objects in canonical order."""
    files: dict[str, list[str]] = {}
    for obj in canonical(objects):
        files.setdefault(obj.file, []).append(render_object(obj))
    return {
        name: (HEADER + "\n" + "\n".join(parts)).encode() for name, parts in sorted(files.items())
    }


def is_owned(data: bytes) -> bool:
    return data.startswith(HEADER.encode())


def objects_of_files(files: Mapping[str, bytes]) -> dict[str, dict[str, str]]:
    """Object key -> directives, read back from rendered (owned) files."""
    out: dict[str, dict[str, str]] = {}
    for name, data in sorted(files.items()):
        for obj in parse_objects(data.decode(errors="replace"), name):
            ident = IDENTITY.get(obj.kind)
            if not ident:
                continue
            directives = dict(obj.directives)
            oname = "/".join(directives.get(k, "") for k in ident)
            out[f"{obj.kind} {oname}"] = directives
    return out


def diff_objects(
    old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]
) -> dict:
    """``{"added": [...], "removed": [...], "updated": {key: {directive: {old, new}}}}``."""
    changes: dict[str, Any] = {}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    updated = {}
    for key in sorted(set(old) & set(new)):
        fields = {}
        for d in sorted(set(old[key]) | set(new[key])):
            if old[key].get(d) != new[key].get(d):
                fields[d] = {"old": old[key].get(d), "new": new[key].get(d)}
        if fields:
            updated[key] = fields
    if added:
        changes["added"] = added
    if removed:
        changes["removed"] = removed
    if updated:
        changes["updated"] = updated
    return changes
