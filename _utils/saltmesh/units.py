"""Sizes as pillar writes them (``256m``, ``8g``) and as reports print them: bytes in, bytes out."""

from __future__ import annotations

import re
from typing import Any

_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)([bkmg]?)$", re.I)
_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(value: Any) -> int | None:
    """Bytes of ``value`` (an int of bytes, or ``<number>[b|k|m|g]``, 1024-based); None if not a
    size. Fractions only with a unit (``1.5g``)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value if value >= 0 else None
    m = _SIZE_RE.match(str(value).strip())
    if not m or ("." in m.group(1) and not m.group(2)):
        return None
    return int(float(m.group(1)) * _UNITS[m.group(2).lower()])


def format_size(size: int) -> str:
    """``size`` bytes the short way: ``256m``, ``1.5g``, ``512k``, ``100b`` (at most 1 decimal)."""
    for unit in ("g", "m", "k"):
        scale = _UNITS[unit]
        if size >= scale:
            value = size / scale
            text = f"{value:.1f}".rstrip("0").rstrip(".")
            return f"{text}{unit}"
    return f"{size}b" if size else "0"


def format_cpus(cpus: float) -> str:
    """CPUs without float noise: ``0.5``, ``2``, ``1.25``."""
    return f"{round(cpus, 3):g}"
