"""Many ``salt-call`` commands in one Python process: Salt's start-up is paid once.

:func:`salt_calls` runs this file (with the CLI's Python, environment and working directory)
for a list of calls, each given as to ``cli.run``; it answers with what each ``salt-call``
would have given: its stdout, stderr and exit status.

The script runs the first command line as salt-call does (``salt.scripts.salt_call``: options,
logging to the minion's log, the ``Caller`` with its minion, grains and pillar). Every later
call reuses that ``Caller``: salt-call's parser would set ``fun`` and ``arg`` from the command
line, and ``sys.reload_modules`` (``SMinion.gen_modules``) first gives it new loaders, which
run each loader module's code again, and an empty ``__context__``, as a new salt-call process
has: nothing a call caches there is seen by the next. Plain Python modules (``sys.modules``,
e.g. ``saltmesh.*``) stay imported: module-level state in them would carry over. The exit
status is read as salt-factories' ``salt-call`` script reads it
(``saltfactories.utils.cli_scripts``).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass
class Called:
    """What one ``salt-call`` gave, as ``cli.run``'s result has it."""

    stdout: str
    stderr: str
    returncode: int

    @property
    def data(self) -> Any:
        """The return, as salt-factories reads salt-call's ``--out=json`` (``{"local": ...}``)."""
        try:
            return json.loads(self.stdout)["local"]
        except (ValueError, KeyError, TypeError):
            return None


def salt_calls(cli, calls: Sequence[tuple[Sequence[str], Mapping[str, str]]]) -> list[Called]:
    """``cli.run(*args, **kwargs)`` for each ``(args, kwargs)`` of ``calls``, in order, in one
    process; ``cli`` is a salt-factories ``salt-call`` CLI."""
    script = cli.get_script_path()
    argvs = []
    for args, kwargs in calls:
        cmd = cli.cmdline(*args, **kwargs)
        argvs.append(cmd[cmd.index(script) + 1 :])  # salt-call's own arguments
    proc = subprocess.run(
        [cli.python_executable or sys.executable, __file__],
        input=json.dumps(argvs),
        capture_output=True,
        text=True,
        env=cli.environ,
        cwd=cli.cwd,
        timeout=cli.timeout or 300,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"salt_calls failed ({proc.returncode}): {proc.stderr[-4000:]}")
    got = [Called(**r) for r in json.loads(proc.stdout)]
    if len(got) != len(argvs):
        raise RuntimeError(f"salt_calls: {len(got)} answers for {len(argvs)} calls")
    return got


def _exit_status(run: Callable[[], None]) -> int:
    """``run()``'s exit status as salt-factories' ``salt-call`` script makes it."""
    try:
        run()
    except SystemExit as exc:
        if exc.code is None:
            return 0
        if not isinstance(exc.code, int):
            sys.stderr.write(str(exc.code))
            return 1
        return exc.code % 256  # os._exit(-1) is 255
    except Exception as exc:
        sys.stderr.write(
            "An un-handled exception was caught: " + str(exc) + "\n" + traceback.format_exc()
        )
        return 1
    return 0


def _captured(run: Callable[[], None]) -> dict:
    """``run()``'s stdout, stderr and exit status."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = _exit_status(run)
    return {"stdout": out.getvalue(), "stderr": err.getvalue(), "returncode": code}


def _split(argv: Sequence[str]) -> tuple[list[str], list[str]]:
    """salt-call's options (``--name=value``, as salt-factories writes them; not
    ``--timeout``, which salt-factories raises on each command line) and the rest: the function
    and its arguments."""
    flags = [a for a in argv if a.startswith("-") and not a.startswith("--timeout=")]
    return flags, [a for a in argv if not a.startswith("-")]


def main() -> None:
    import salt.cli.caller
    import salt.scripts

    argvs = json.load(sys.stdin)
    real_stdout, sys.stdout = sys.stdout, sys.stderr  # only our JSON document on stdout
    callers: list = []
    factory = salt.cli.caller.Caller.factory

    def keep(opts, **kwargs):
        callers.append(factory(opts, **kwargs))
        return callers[-1]

    salt.cli.caller.Caller.factory = keep  # the first salt-call's Caller, to reuse
    options = _split(argvs[0])[0]
    results = []
    for argv in argvs:
        flags, (fun, *arg) = _split(argv)
        if flags != options:
            raise ValueError(f"salt-call options differ: {flags} != {options}")
        if not callers:
            sys.argv = ["salt-call", *argv]
            results.append(_captured(salt.scripts.salt_call))
            if not callers:
                raise RuntimeError(f"the first salt-call made no Caller: {results[-1]}")
            continue
        caller = callers[0]

        def again(caller=caller, fun=fun, arg=arg) -> None:
            caller.minion.gen_modules()  # sys.reload_modules: new loaders, empty __context__
            caller.opts["fun"], caller.opts["arg"] = fun, arg  # as salt-call's parser sets them
            caller.run()

        results.append(_captured(again))
    json.dump(results, real_stdout)
    real_stdout.flush()


if __name__ == "__main__":
    # run as a script: this folder (docker.py, wheel.py...) must not shadow installed packages
    if sys.path and os.path.dirname(os.path.abspath(__file__)) == os.path.abspath(sys.path[0]):
        del sys.path[0]
    main()
