"""Our options (``saltmesh:ovsdb``, ``saltmesh:netns``, ...), looked up as ``config.get`` does.

Salt's ``config.get`` looks in the minion options, the grains, the pillar, then the master's
options in the pillar. On Salt 3008 it also deep-copies the whole pillar the first time it
steps into a nested key there (copy-on-access of the loader's dicts): 0.35 s per run for a
1,000-host pillar, paid by every state run that reads an option it does not set. :func:`getter`
gives the same answers, reading each mapping with ``.get`` only, which copies nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

_MISSING = object()


def lookup(mapping: Any, key: str, delimiter: str = ":") -> Any:
    """The value at ``key`` (``a:b:c``) in nested mappings, or ``_MISSING``."""
    node = mapping
    for part in key.split(delimiter):
        if not isinstance(node, Mapping):
            return _MISSING
        node = node.get(part, _MISSING)
        if node is _MISSING:
            return _MISSING
    return node


def flag(value: Any, default: bool) -> bool:
    """An on/off option: a bool, or a string a YAML or CLI user would write (``"false"``,
    ``"no"``, ``"off"``, ``"0"`` are off); ``None`` or ``""`` is ``default``."""
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() not in ("false", "no", "off", "0")
    return bool(value)


def getter(
    opts: Mapping[str, Any],
    grains: Mapping[str, Any] | None,
    pillar: Mapping[str, Any] | None,
    config_get: Callable[..., Any] | None = None,
) -> Callable[..., Any]:
    """``get(key, default="")`` with ``config.get``'s order and default.

    A value that is an ``sdb://`` URI is handed to ``config_get`` (Salt's, which resolves it).
    """
    master = (pillar or {}).get("master")
    sources = (opts, grains or {}, pillar or {}, master if isinstance(master, Mapping) else {})

    def get(key: str, default: Any = "") -> Any:
        for source in sources:
            value = lookup(source, key)
            if value is _MISSING:
                continue
            if config_get is not None and isinstance(value, str) and value.startswith("sdb://"):
                return config_get(key, default)
            return value
        return default

    return get


def of_module(dunders: Mapping[str, Any]) -> Callable[..., Any]:
    """:func:`getter` for a loader module, from its globals (``__opts__``, ``__grains__``,
    ``__pillar__``, ``__salt__``)."""
    salt = dunders.get("__salt__") or {}
    return getter(
        dunders["__opts__"],
        dunders.get("__grains__"),
        dunders.get("__pillar__"),
        salt.get("config.get"),
    )
