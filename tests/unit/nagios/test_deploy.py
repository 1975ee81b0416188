"""The deploy pipeline with ``nagios4 -v`` (the binary only): apply, no-op, reload, roll back.

No Nagios daemon runs here; ``sleep`` stands in for one where a pid is needed.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from saltmesh.errors import SaltmeshError
from saltmesh.nagios import deploy
from saltmesh.nagios.settings import parse_settings
from tests.unit.nagios.config_tree import needs_nagios, pillar, plan


@needs_nagios
def test_validate_verdicts(tree):
    ok, lines = deploy.validate(plan(pillar(tree)))
    assert ok, lines
    data = pillar(tree)
    data["servers"]["web01"]["services"] = {"HTTP": {"check_command": "no_such_command"}}
    ok, lines = deploy.validate(plan(data))
    assert not ok
    assert any("no_such_command" in ln and ln.startswith("Error") for ln in lines), lines
    # staged paths are reported under their live names
    assert all("saltmesh-nagios-" not in ln for ln in lines)


@needs_nagios
def test_apply_without_daemon_then_noop(tree):
    data = pillar(tree)
    conf = tree / "conf.d" / "saltmesh"
    s = parse_settings(data)
    out = deploy.apply(s, data, test=True)
    assert out.result is None and os.listdir(conf) == []
    out = deploy.apply(s, data)
    assert out.result is True, out.comment
    assert sorted(os.listdir(conf)) == ["host_docker01.cfg", "host_web01.cfg"]
    assert "reload Nagios yourself" in out.comment
    mtimes = {n: (conf / n).stat().st_mtime_ns for n in os.listdir(conf)}
    out = deploy.apply(s, data)
    assert out.result is True and out.changes == {}
    assert {n: (conf / n).stat().st_mtime_ns for n in os.listdir(conf)} == mtimes
    assert not [n for n in os.listdir(conf) if n.startswith(".")]


@needs_nagios
def test_daemon_dying_on_reload_restores_previous_files(tree):
    """A daemon that does not survive SIGHUP (here: sleep) makes the state fail and roll back."""
    import subprocess

    data = pillar(tree)
    conf = tree / "conf.d" / "saltmesh"
    out = deploy.apply(parse_settings(data), data)
    assert out.result is True
    before = {n: (conf / n).read_bytes() for n in os.listdir(conf)}

    victim = subprocess.Popen(["sleep", "60"])
    try:
        (tree / "fake.pid").write_text(f"{victim.pid}\n")
        data["saltmesh"]["nagios"].update(reload="signal", pid_file=str(tree / "fake.pid"))
        data["servers"]["web01"]["address"] = "10.1.0.3"
        out = deploy.apply(parse_settings(data), data)
        assert out.result is False
        assert "exited after the reload; previous files restored" in out.comment
        assert {n: (conf / n).read_bytes() for n in os.listdir(conf)} == before
    finally:
        victim.kill()
        victim.wait()


@needs_nagios
def test_systemd_reload_argv(tree, monkeypatch):
    """reload: systemd asks systemctl for MainPID, reloads the unit once, and waits for it."""
    import subprocess

    victim = subprocess.Popen(["sleep", "60"])
    bindir = tree / "bin"
    bindir.mkdir()
    log, status = tree / "systemctl.log", tree / "status.dat"
    fake = bindir / "systemctl"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        'case "$1" in\n'
        f"  show) echo {victim.pid} ;;\n"
        f'  reload) echo "program_start=$(date +%s%N)" > {status} ;;\n'
        "esac\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    with open(tree / "nagios.cfg", "a") as fh:
        fh.write(f"status_file={status}\n")
    try:
        data = pillar(tree)
        data["saltmesh"]["nagios"].update(reload="systemd", service="nagios4", timeout=10)
        out = deploy.apply(parse_settings(data), data)
        assert out.result is True, out.comment
        assert f"reloaded Nagios (pid {victim.pid})" in out.comment
        assert log.read_text().splitlines() == [
            "show --property=MainPID --value nagios4",
            "reload nagios4",
        ]
        out = deploy.apply(parse_settings(data), data)
        assert out.changes == {}
        assert len(log.read_text().splitlines()) == 2  # no change: not even asked
    finally:
        victim.kill()
        victim.wait()


def test_lock_path_sits_beside_conf_dir():
    assert deploy.lock_path("/etc/nagios4/conf.d/saltmesh") == "/etc/nagios4/conf.d/.saltmesh.lock"


@needs_nagios
def test_apply_rejected_by_validator_changes_nothing(tree):
    data = pillar(tree)
    data["servers"]["web01"]["services"] = {"HTTP": {"check_command": "no_such_command"}}
    out = deploy.apply(parse_settings(data), data)
    assert out.result is False and out.changes == {}
    assert out.comment.startswith("nagios -v rejected the new objects; nothing was changed:")
    assert any("no_such_command" in ln for ln in out.validator)
    assert os.listdir(tree / "conf.d" / "saltmesh") == []
    assert (tree / "conf.d" / ".saltmesh.lock").exists()


def _nrpe_pillar(tmp, **nrpe) -> dict:
    (tmp / "nrpe.d").mkdir(exist_ok=True)
    (tmp / "nrpe.cfg").write_text(f"allowed_hosts=127.0.0.1\ninclude_dir={tmp}/nrpe.d\n")
    return {
        "saltmesh": {
            "nagios": {
                "servers": ["10.0.0.5"],
                "nrpe": {
                    "main_config": str(tmp / "nrpe.cfg"),
                    "include_dir": str(tmp / "nrpe.d"),
                    "reload": "none",
                    "commands": {"check_load": "/usr/lib/nagios/plugins/check_load"},
                    **nrpe,
                },
            }
        },
        "servers": {"web01": {"address": "10.1.0.2", "parents": "gw"}},
    }


def test_nrpe_apply_predicts_writes_then_is_current(tmp_path):
    data = _nrpe_pillar(tmp_path)
    s = parse_settings(data)
    target = tmp_path / "nrpe.d" / "saltmesh.cfg"
    out = deploy.nrpe_apply(s, data, test=True)
    assert out.result is None and not target.exists()
    assert out.changes["allowed_hosts"] == {"old": None, "new": "10.0.0.5"}
    # the pillar's command and the two default ones
    assert out.changes["commands"] == {"added": ["check_load", "check_salt_minion", "check_users"]}
    out = deploy.nrpe_apply(s, data)
    assert out.result is True and out.comment.endswith("NRPE is not running (reads it at start)")
    assert b"allowed_hosts=10.0.0.5\n" in target.read_bytes()
    assert os.stat(target).st_mode & 0o777 == 0o644
    mtime = target.stat().st_mtime_ns
    out = deploy.nrpe_apply(s, data)
    assert (out.result, out.changes) == (True, {}) and out.comment.endswith("is current")
    assert target.stat().st_mtime_ns == mtime
    assert sorted(os.listdir(tmp_path / "nrpe.d")) == ["saltmesh.cfg"]


def test_nrpe_apply_checks_nrpe_cfg_before_writing(tmp_path):
    data = _nrpe_pillar(tmp_path)
    with open(tmp_path / "nrpe.cfg", "a") as fh:
        fh.write("allowed_hosts=0.0.0.0/0\n")
    with pytest.raises(SaltmeshError, match="sets allowed_hosts after include_dir"):
        deploy.nrpe_apply(parse_settings(data), data)
    assert os.listdir(tmp_path / "nrpe.d") == []


def test_nrpe_daemon_dying_on_reload_restores_previous_file(tmp_path):
    data = _nrpe_pillar(tmp_path)
    assert deploy.nrpe_apply(parse_settings(data), data).result is True
    target = tmp_path / "nrpe.d" / "saltmesh.cfg"
    before = target.read_bytes()
    victim = subprocess.Popen(["sleep", "60"])
    try:
        (tmp_path / "nrpe.pid").write_text(f"{victim.pid}\n")
        data = _nrpe_pillar(tmp_path, reload="signal", pid_file=str(tmp_path / "nrpe.pid"))
        data["saltmesh"]["nagios"]["servers"] = ["10.0.0.6"]
        out = deploy.nrpe_apply(parse_settings(data), data)
        assert out.result is False and out.changes == {}
        assert out.comment == (
            f"NRPE (pid {victim.pid}) exited after the reload; previous {target} restored"
        )
        assert target.read_bytes() == before
    finally:
        victim.kill()
        victim.wait()
