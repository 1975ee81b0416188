"""The deploy pipeline with ``nagios4 -v`` (the binary only): apply, no-op, reload, roll back.

No Nagios daemon runs here; ``sleep`` stands in for one where a pid is needed.
"""

from __future__ import annotations

import os

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
