"""The small shared pieces of the core: state returns, processes, files, constants."""

from __future__ import annotations

import ast
import os
import threading
import time
from pathlib import Path

import pytest

from saltmesh import fileio, hostlock, proc
from saltmesh.errors import CommandError
from saltmesh.stateret import failed, state_ret

CORE = Path(__file__).resolve().parents[2] / "_utils" / "saltmesh"


def test_state_ret_in_sync():
    assert state_ret("x", comment="ok") == {
        "name": "x",
        "result": True,
        "changes": {},
        "comment": "ok",
    }


def test_state_ret_test_mode_predicts_with_none():
    ret = state_ret("x", changes={"a": {"old": 1, "new": 2}}, test=True)
    assert ret["result"] is None
    assert ret["changes"] == {"a": {"old": 1, "new": 2}}
    # in sync under test=True is still True, a failure stays False
    assert state_ret("x", test=True)["result"] is True
    assert state_ret("x", result=False, changes={"a": 1}, test=True)["result"] is False


def test_failed_keeps_changes_made():
    ret = failed("x", "boom", {"recreated": True})
    assert ret == {"name": "x", "result": False, "changes": {"recreated": True}, "comment": "boom"}


def test_run_returns_output_and_raises_on_failure():
    assert proc.output(["echo", "hi"]) == "hi\n"
    with pytest.raises(CommandError) as err:
        proc.run(["sh", "-c", "echo nope >&2; exit 3"])
    assert err.value.returncode == 3 and err.value.stderr == "nope"
    assert proc.run(["false"], check=False).returncode == 1


def test_run_missing_binary_and_timeout_are_command_errors():
    with pytest.raises(CommandError, match="not found"):
        proc.run(["saltmesh-no-such-binary"])
    with pytest.raises(CommandError, match="timed out"):
        proc.run(["sleep", "5"], timeout=0.2)


def test_run_passes_arguments_verbatim():
    assert proc.output(["printf", "%s|", "a b", "$HOME", ";rm"]) == "a b|$HOME|;rm|"


def test_write_atomic_replaces_whole_file_with_mode(tmp_path):
    path = tmp_path / "f.cfg"
    path.write_bytes(b"old")
    fileio.write_atomic(str(path), b"new", mode=0o640)
    assert path.read_bytes() == b"new"
    assert os.stat(path).st_mode & 0o777 == 0o640
    assert [p.name for p in tmp_path.iterdir()] == ["f.cfg"]


def test_locked_serialises_holders(tmp_path):
    lock = str(tmp_path / "sub" / "host.lock")
    order = []

    def other():
        with fileio.locked(lock):
            order.append("other")

    with fileio.locked(lock):
        t = threading.Thread(target=other)
        t.start()
        time.sleep(0.2)
        order.append("first")
    t.join(5)
    assert order == ["first", "other"]
    assert os.stat(lock).st_mode & 0o777 == 0o600
    with fileio.locked(None):
        pass


def _core_files():
    return sorted(p for p in CORE.rglob("*.py"))


def test_core_imports_no_salt():
    """The core is Salt-free: only loader modules import Salt."""
    for path in _core_files():
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            for name in names:
                assert name.split(".")[0] != "salt", f"{path} imports {name}"


@pytest.mark.parametrize("const", ["IFNAMSIZ", "TUNNEL_TYPES", "DATAPATH_TYPES"])
def test_shared_constants_defined_once(const):
    homes = [
        p.name
        for p in _core_files()
        for node in ast.parse(p.read_text()).body
        if isinstance(node, ast.Assign | ast.AnnAssign)
        for t in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(t, ast.Name) and t.id == const
    ]
    assert homes == ["constants.py"]


def test_core_modules_are_small():
    big = {
        str(p.relative_to(CORE)): n
        for p in _core_files()
        if (n := len(p.read_text().splitlines())) > 400
    }
    assert big == {}


def test_host_lock_path_is_under_the_cachedir():
    assert hostlock.path("/var/cache/salt/minion") == "/var/cache/salt/minion/saltmesh/host.lock"


def test_state_returns_are_built_in_one_place():
    """No loader module or core module writes a state return by hand: stateret builds them."""
    repo = CORE.parents[1]
    offenders = [
        str(p.relative_to(repo))
        for folder in ("_states", "_modules", "_runners", "_engines", "_utils/saltmesh")
        for p in (repo / folder).rglob("*.py")
        if p.name != "stateret.py"
        and any('"result":' in line.split("#", 1)[0] for line in p.read_text().splitlines())
    ]
    assert offenders == []


def test_from_call_maps_outcomes_and_errors(caplog):
    from saltmesh.stateret import from_call

    class Expected(Exception):
        pass

    out = {"result": True, "changes": {"a": {"old": 1, "new": 2}}, "comment": "done"}
    assert from_call("x", lambda: out, test=True)["result"] is None
    assert from_call("x", lambda: out, test=False) == {"name": "x", **out}

    def boom(err):
        def call():
            raise err

        return call

    assert from_call("x", boom(Expected("pillar: bad")), test=False, expected=(Expected,)) == {
        "name": "x",
        "result": False,
        "changes": {},
        "comment": "pillar: bad",
    }
    ret = from_call("x", boom(KeyError("status\nfile")), test=False, expected=(Expected,))
    assert ret["comment"] == "unexpected KeyError: 'status\\nfile'" and ret["result"] is False
    assert [r for r in caplog.records if r.exc_info], "the traceback goes to the debug log"
    assert not [r for r in caplog.records if r.levelno >= 20 and r.exc_info]
