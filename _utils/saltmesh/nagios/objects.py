"""Reading Nagios configuration text (pure): object files, the names they define, main configs.

Tolerant readers, used to learn names (hosts, templates, groups) and to diff saltmesh's own
files; the validator of record is ``nagios -v``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class ParsedObject:
    kind: str
    directives: tuple[tuple[str, str], ...]
    source: str = ""

    def get(self, key: str) -> str | None:
        for k, v in self.directives:
            if k == key:
                return v
        return None


def parse_objects(text: str, source: str = "") -> list[ParsedObject]:
    """``define <kind> { key value ... }`` blocks of a Nagios object file, in order."""
    objects: list[ParsedObject] = []
    kind: str | None = None
    directives: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = re.split(r"(?<!\\);", line, maxsplit=1)[0].strip()  # inline comment
        if kind is None:
            m = re.match(r"^define\s+(\w+)\s*\{\s*(.*)$", line)
            if m:
                kind, directives = m.group(1), []
                line = m.group(2)
                if not line:
                    continue
            else:
                continue
        if line.startswith("}"):
            objects.append(ParsedObject(kind, tuple(directives), source))
            kind = None
            continue
        parts = line.split(None, 1)
        if parts:
            directives.append((parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return objects


@dataclass(frozen=True)
class Known:
    """Names defined by the Nagios configuration outside the files saltmesh owns."""

    hosts: Mapping[str, str] = field(default_factory=dict)  # name -> file
    host_templates: frozenset[str] = frozenset()
    service_templates: frozenset[str] = frozenset()
    contact_templates: frozenset[str] = frozenset()
    hostgroups: frozenset[str] = frozenset()
    contacts: frozenset[str] = frozenset()
    commands: frozenset[str] = frozenset()


_NAME_KEY = {"hostgroup": "hostgroup_name", "contact": "contact_name", "command": "command_name"}


def scan_known(objects: Iterable[ParsedObject]) -> Known:
    hosts: dict[str, str] = {}
    templates: dict[str, set[str]] = {"host": set(), "service": set(), "contact": set()}
    names: dict[str, set[str]] = {kind: set() for kind in _NAME_KEY}
    for obj in objects:
        tname = obj.get("name")
        if tname and obj.kind in templates:
            templates[obj.kind].add(tname)
        if obj.get("register") == "0":
            continue
        if obj.kind == "host" and obj.get("host_name"):
            hosts.setdefault(obj.get("host_name"), obj.source)
        if obj.kind in _NAME_KEY and obj.get(_NAME_KEY[obj.kind]):
            names[obj.kind].add(obj.get(_NAME_KEY[obj.kind]))
    return Known(  # in field order: hosts, templates (host, service, contact), names
        hosts,
        *(frozenset(templates[kind]) for kind in ("host", "service", "contact")),
        *(frozenset(names[kind]) for kind in ("hostgroup", "contact", "command")),
    )


def parse_main_config(text: str) -> list[tuple[str, str]]:
    """``key=value`` lines of nagios.cfg / nrpe.cfg in order (repeated keys kept)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


@dataclass(frozen=True)
class MainConfig:
    """A main config (nagios.cfg, nrpe.cfg): its path, text and ``key=value`` entries."""

    path: str
    text: str
    entries: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, path: str, text: str) -> MainConfig:
        return cls(path, text, tuple(parse_main_config(text)))

    def get(self, key: str, default: str | None = None) -> str | None:
        """The last value of ``key`` (later lines win)."""
        values = [v for k, v in self.entries if k == key]
        return values[-1] if values else default

    def resolve(self, value: str) -> str:
        """A path as the daemon sees it: relative to the main config's directory."""
        return os.path.normpath(os.path.join(os.path.dirname(self.path), value))
