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
