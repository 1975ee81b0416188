"""Running external commands: argument lists only, a bounded time, failures as CommandError."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from saltmesh.errors import CommandError


def run(
    argv: Sequence[str], *, stdin: str | None = None, timeout: float = 30, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``argv`` (never through a shell) in the C locale.

    Raises :class:`CommandError` when the program is missing, times out, or (with ``check``)
    exits non-zero; the error carries stderr (or stdout when stderr is empty).
    """
    argv = [str(a) for a in argv]
    if shutil.which(argv[0]) is None:
        raise CommandError(argv, 127, f"{argv[0]} not found on PATH")
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env={**os.environ, "LC_ALL": "C"},
        )
    except subprocess.TimeoutExpired:
        raise CommandError(argv, -1, f"timed out after {timeout:g} s") from None
    except OSError as err:
        raise CommandError(argv, 126, str(err)) from None
    if check and proc.returncode != 0:
        raise CommandError(argv, proc.returncode, proc.stderr or proc.stdout)
    return proc


def output(argv: Sequence[str], *, stdin: str | None = None, timeout: float = 30) -> str:
    """``run`` and return stdout."""
    return run(argv, stdin=stdin, timeout=timeout).stdout
