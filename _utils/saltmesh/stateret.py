"""The one builder of Salt state returns for every saltmesh state."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def state_ret(
    name: str,
    *,
    result: bool = True,
    changes: Mapping[str, Any] | None = None,
    comment: str = "",
    test: bool = False,
) -> dict[str, Any]:
    """A state return: ``result`` is ``None`` when ``test`` predicts changes that would succeed.

    A failure (``result=False``) keeps the changes already made, so the caller can report them.
    """
    changes = dict(changes or {})
    if test and changes and result:
        result = None
    return {"name": name, "result": result, "changes": changes, "comment": comment}


def failed(name: str, comment: str, changes: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A failed state return; ``changes`` holds whatever was done before the failure."""
    return state_ret(name, result=False, changes=changes, comment=comment)
