"""A generic pillar validator: reads typed values and collects every problem with its path."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

# Names travel into Docker, OVS external_ids and Nagios: keep them boringly safe.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class Reader:
    """Collects problems while walking pillar data; every read names its path."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def bad(self, path: str, msg: str) -> None:
        self.problems.append((path, msg))

    def mapping(self, value: Any, path: str) -> Mapping[str, Any] | None:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            self.bad(path, f"must be a mapping, got {type(value).__name__}")
            return None
        for key in value:
            if not isinstance(key, str):
                self.bad(path, f"key {key!r} must be a string")
                return None
        return value

    def keys(self, data: Mapping[str, Any], allowed: Iterable[str], path: str) -> None:
        allowed = set(allowed)
        for key in sorted(set(data) - allowed):
            self.bad(f"{path}:{key}", f"unknown key (allowed: {', '.join(sorted(allowed))})")

    def string(self, data: Mapping[str, Any], key: str, path: str, default: Any = None) -> Any:
        value = data.get(key, default)
        if value is default:
            return default
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            self.bad(f"{path}:{key}", f"must be a string, got {type(value).__name__}")
            return default
        value = str(value)
        if any(c in value for c in "\n\r\0"):
            self.bad(f"{path}:{key}", "must not contain line breaks or NUL")
            return default
        return value

    def integer(
        self, data: Mapping[str, Any], key: str, path: str, lo: int, hi: int, default: Any = None
    ) -> Any:
        value = data.get(key, default)
        if value is default:
            return default
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(f"{path}:{key}", f"must be an integer, got {type(value).__name__}")
            return default
        if not lo <= value <= hi:
            self.bad(f"{path}:{key}", f"{value} is out of range {lo}..{hi}")
            return default
        return value

    def boolean(self, data: Mapping[str, Any], key: str, path: str, default: bool) -> bool:
        value = data.get(key, default)
        if not isinstance(value, bool):
            self.bad(f"{path}:{key}", f"must be true or false, got {value!r}")
            return default
        return value

    def choice(self, data: Mapping[str, Any], key: str, path: str, choices, default=None):
        value = self.string(data, key, path, default)
        if value is not default and value not in choices:
            self.bad(f"{path}:{key}", f"{value!r} is not one of {', '.join(choices)}")
            return default
        return value

    def names(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
        """A string or a list of strings, kept in order, duplicates dropped."""
        value = data.get(key)
        if value is None:
            return ()
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",")] if "," in value else [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.bad(f"{path}:{key}", "must be a string or a list of strings")
            return ()
        out: list[str] = []
        for i, item in enumerate(value):
            if not NAME_RE.match(item):
                self.bad(f"{path}:{key}:{i}", f"{item!r} is not a valid name")
            elif item not in out:
                out.append(item)
        return tuple(out)

    def str_map(self, data: Mapping[str, Any], key: str, path: str) -> tuple | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, list) and key == "env":  # docker-style ["K=V", ...]
            pairs = {}
            for i, item in enumerate(value):
                if not isinstance(item, str) or "=" not in item:
                    self.bad(f"{path}:{key}:{i}", "must be a KEY=VALUE string")
                    continue
                k, v = item.split("=", 1)
                pairs[k] = v
            value = pairs
        value = self.mapping(value, f"{path}:{key}")
        if value is None:
            return None
        out = []
        for k, v in value.items():
            if isinstance(v, bool) or not isinstance(v, (str, int, float)):
                self.bad(f"{path}:{key}:{k}", "must be a string or a number")
            elif any(c in str(v) for c in "\n\r\0"):
                self.bad(f"{path}:{key}:{k}", "must not contain line breaks or NUL")
            else:
                out.append((k, str(v)))
        return tuple(sorted(out))

    def argv(self, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
        value = data.get(key)
        if value is None:
            return None
        if isinstance(value, str):
            return tuple(value.split())
        if isinstance(value, list) and all(isinstance(v, (str, int)) for v in value):
            return tuple(str(v) for v in value)
        self.bad(f"{path}:{key}", "must be a string or a list of strings")
        return None
