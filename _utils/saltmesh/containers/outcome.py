"""The result of one ensure_* call: what changed (or would, in test mode) and why."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Outcome:
    """What happened (or would happen, in test mode) to one object."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    result: bool = True

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def would(test: bool) -> str:
    """``"would be "`` in test mode, else nothing: ``f"Image x {would(test)}removed"``."""
    return "would be " if test else ""
