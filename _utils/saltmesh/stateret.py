"""The one builder of Salt state returns for every saltmesh state."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

log = logging.getLogger(__name__)


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


def unexpected(err: BaseException) -> str:
    """The one-line comment of an error nobody planned for: ``unexpected <type>: <message>``."""
    return " ".join(f"unexpected {type(err).__name__}: {err}".split())


def from_call(
    name: str,
    call: Callable[[], Mapping[str, Any]],
    *,
    test: bool,
    expected: tuple[type[BaseException], ...] = (),
) -> dict[str, Any]:
    """A state return from an execution function's outcome ``{result, changes, comment}``.

    The loader boundary of a state: an ``expected`` error (the module's
    ``CommandExecutionError``) fails with its message; anything else fails with one line
    (``unexpected <type>: <message>``) and its traceback goes to the debug log only.
    """
    try:
        out = call()
    except expected as err:
        return failed(name, str(err))
    except Exception as err:
        log.debug("state %s: unexpected error", name, exc_info=True)
        return failed(name, unexpected(err))
    return state_ret(
        name, result=out["result"], changes=out["changes"], comment=out["comment"], test=test
    )
