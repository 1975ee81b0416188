"""saltmesh.proc: commands as argument lists, failures as CommandError, started ones reaped."""

import time

import pytest

from saltmesh import proc
from saltmesh.errors import CommandError


def test_started_command_is_read_later():
    pending = proc.start(["echo", "hello"])
    assert pending.output() == "hello\n"
    pending.close()  # already over: nothing to kill
    assert pending.popen.returncode == 0


def test_started_command_failures_are_command_errors():
    with pytest.raises(CommandError) as err:
        proc.start(["ls", "/no/such/path/here"]).output()
    assert "/no/such/path/here" in str(err.value)
    with pytest.raises(CommandError, match="not found on PATH"):
        proc.start(["saltmesh-no-such-program"])
    with pytest.raises(CommandError, match="timed out after 0.2 s"):
        proc.start(["sleep", "5"], timeout=0.2).output()


def test_close_kills_and_reaps_a_command_still_running():
    pending = proc.start(["sleep", "30"])
    started = time.monotonic()
    pending.close()
    assert pending.popen.returncode is not None  # reaped: no zombie left behind
    assert time.monotonic() - started < 5
