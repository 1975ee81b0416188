"""Running external commands: argument lists only, a bounded time, failures as CommandError."""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence

from saltmesh.errors import CommandError


def _found(argv: Sequence[str]) -> list[str]:
    """``argv`` as strings; :class:`CommandError` when its program is not on PATH."""
    argv = [str(a) for a in argv]
    if shutil.which(argv[0]) is None:
        raise CommandError(argv, 127, f"{argv[0]} not found on PATH")
    return argv


def _env() -> dict[str, str]:
    return {**os.environ, "LC_ALL": "C"}


def run(
    argv: Sequence[str], *, stdin: str | None = None, timeout: float = 30, check: bool = True
) -> subprocess.CompletedProcess:
    """Run ``argv`` (never through a shell) in the C locale.

    Raises :class:`CommandError` when the program is missing, times out, or (with ``check``)
    exits non-zero; the error carries stderr (or stdout when stderr is empty).
    """
    argv = _found(argv)
    try:
        proc = subprocess.run(
            argv,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=_env(),
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


class Pending:
    """A command started by :func:`start`: :meth:`output` waits for it, :meth:`close` ends it."""

    def __init__(self, argv: list[str], popen: subprocess.Popen, timeout: float):
        self.argv, self.popen, self.timeout = argv, popen, timeout

    def output(self) -> str:
        """Its stdout; :class:`CommandError` when it fails or outlives its time."""
        try:
            out, err = self.popen.communicate(timeout=self.timeout)
        except subprocess.TimeoutExpired:
            self.close()
            raise CommandError(self.argv, -1, f"timed out after {self.timeout:g} s") from None
        if self.popen.returncode != 0:
            raise CommandError(self.argv, self.popen.returncode, err or out)
        return out

    def close(self) -> None:
        """Kill it if it still runs, and reap it."""
        if self.popen.poll() is None:
            self.popen.kill()
        self.popen.communicate()


def start(argv: Sequence[str], *, timeout: float = 30) -> Pending:
    """``argv`` started now, read later (:class:`Pending`); as :func:`run`, in the C locale."""
    argv = _found(argv)
    try:
        popen = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
    except OSError as err:
        raise CommandError(argv, 126, str(err)) from None
    return Pending(argv, popen, timeout)
