"""The loader boundary of runners: an expected failure is one line of output, never a traceback.

Salt prints any exception that escapes a runner function with its traceback; runner functions
decorated with :func:`one_line_errors` answer ``{"error": "<reason>", "retcode": 1}`` instead,
which ``salt-run`` prints as data and turns into its exit code (as Salt's own orchestrate does).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from saltmesh.errors import SaltmeshError


def one_line_errors(*errors: type[BaseException]) -> Callable[[Callable], Callable]:
    """Decorate a runner function: ``SaltmeshError`` and ``errors`` become an error answer.

    The job is also marked failed through the runner module's ``__context__["retcode"]``, looked
    up when the function runs (Salt injects ``__context__`` after the module is imported).
    """
    caught = (SaltmeshError, *errors)

    def decorate(func: Callable) -> Callable:
        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            try:
                return func(*args, **kwargs)
            except caught as err:
                context = func.__globals__.get("__context__")
                if context is not None:
                    context["retcode"] = 1
                return {"error": str(err), "retcode": 1}

        return wrapper

    return decorate


def rendered(pillar: Any, minion: str) -> Any:
    """``pillar`` as compiled for ``minion`` (``pillar.show_pillar``), or a SaltmeshError with
    Salt's ``_errors`` (an SLS that failed to render, the ``saltmesh_fleet`` ext_pillar's bad
    fleet file): a runner must not plan from a pillar that silently lacks the fleet."""
    errors = pillar.get("_errors") if isinstance(pillar, dict) else None
    if errors:
        lines = errors if isinstance(errors, list) else [errors]
        raise SaltmeshError(f"pillar of {minion} did not render: " + "; ".join(map(str, lines)))
    return pillar
