"""Faults around a deploy, on the throwaway config tree: a broken hand-written file, a reload
that fails, a daemon that dies on reload (with systemd: started again on the restored files).

``systemctl`` is a stand-in script here; the real one runs in tests/integration/nagios/
test_systemd_box.py, the real nagios4 daemon in tests/integration/nagios/test_reliability.py.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from saltmesh.nagios import deploy
from saltmesh.nagios.settings import parse_settings
from saltmesh.nagios.validation import foreign_culprits
from tests.unit.nagios.config_tree import needs_nagios, pillar

pytestmark = pytest.mark.reliability


def test_foreign_culprits_are_the_named_files_saltmesh_does_not_own():
    lines = [
        "Error: Invalid host object directive 'bogus'.",
        "Error: Could not add object property in file '/etc/nagios4/conf.d/broken.cfg' on line 3.",
        "Error: in file '/etc/nagios4/conf.d/saltmesh/host_web01.cfg' on line 2.",
        "Error: in file '/etc/nagios4/conf.d/saltmesh/zz-handmade.cfg' on line 9.",
    ]
    assert foreign_culprits(lines, "/etc/nagios4/conf.d/saltmesh/", ["host_web01.cfg"]) == [
        "/etc/nagios4/conf.d/broken.cfg",
        "/etc/nagios4/conf.d/saltmesh/zz-handmade.cfg",
    ]
    assert foreign_culprits(["Error: Service check command 'x' ..."], "/c", []) == []


def _snapshot(conf) -> dict[str, bytes]:
    return {n: (conf / n).read_bytes() for n in sorted(os.listdir(conf))}


@needs_nagios
def test_broken_foreign_file_is_named_and_nothing_changes(tree):
    data = pillar(tree)
    conf = tree / "conf.d" / "saltmesh"
    assert deploy.apply(parse_settings(data), data).result is True
    before = _snapshot(conf)
    broken = tree / "conf.d" / "other" / "broken.cfg"
    broken.write_text("define host {\n    host_name  broken\n    bogus_directive  1\n}\n")
    data["servers"]["web01"]["address"] = "10.1.0.9"
    for test in (True, False):
        out = deploy.apply(parse_settings(data), data, test=test)
        assert out.result is False and out.changes == {}
        head = out.comment.splitlines()[0]
        assert head.startswith(f"nagios -v rejected the configuration because of {broken},")
        assert any(str(broken) in ln for ln in out.comment.splitlines()[1:]), out.comment
        assert _snapshot(conf) == before


@pytest.fixture
def systemd(tree, monkeypatch):
    """A stand-in systemctl: MainPID is a ``sleep``; ``reload`` kills it (a daemon that dies on
    reload); ``start`` starts a new one, or fails when ``start.fail`` exists."""
    bindir = tree / "bin"
    bindir.mkdir()
    log, pidf = tree / "systemctl.log", tree / "main.pid"
    fake = bindir / "systemctl"
    fake.write_text(
        "#!/bin/sh\n"
        f'echo "$@" >> {log}\n'
        'case "$1" in\n'
        f"  show) cat {pidf} ;;\n"
        f"  reload) kill $(cat {pidf}) ;;\n"
        f"  start) [ -e {tree}/start.fail ] && {{ echo 'Job for nagios4.service failed.' >&2; "
        "exit 1; }\n"
        f"         setsid sleep 60 >/dev/null 2>&1 & echo $! > {pidf} ;;\n"
        "esac\n"
    )
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    first = subprocess.Popen(["sleep", "60"])
    pidf.write_text(f"{first.pid}\n")
    yield {"log": log, "pid": pidf, "first": first}
    first.kill()
    first.wait()
    pid = int(pidf.read_text())
    if pid != first.pid:
        subprocess.run(["kill", str(pid)], check=False)


@needs_nagios
@pytest.mark.parametrize("start_fails", [False, True])
def test_daemon_dying_on_systemd_reload_is_rolled_back_and_started(tree, systemd, start_fails):
    data = pillar(tree)
    conf = tree / "conf.d" / "saltmesh"
    data["saltmesh"]["nagios"].update(reload="none")
    assert deploy.apply(parse_settings(data), data).result is True
    before = _snapshot(conf)
    if start_fails:
        (tree / "start.fail").touch()
    data["saltmesh"]["nagios"].update(reload="systemd", service="nagios4", timeout=5)
    data["servers"]["web01"]["address"] = "10.1.0.9"
    out = deploy.apply(parse_settings(data), data)
    assert out.result is False and out.changes == {}
    assert _snapshot(conf) == before  # the previous files, byte for byte
    first = systemd["first"].pid
    assert out.comment.startswith(f"Nagios (pid {first}) exited after the reload; ")
    calls = systemd["log"].read_text().splitlines()
    assert calls[calls.index("reload nagios4") :][:2] == ["reload nagios4", "start nagios4"]
    if start_fails:
        assert out.comment.endswith(
            "previous files restored, but Nagios did not start again: systemctl failed "
            "(exit 1): Job for nagios4.service failed."
        ), out.comment
    else:
        new = int(systemd["pid"].read_text())
        assert new != first
        assert out.comment.endswith(
            f"previous files restored and Nagios started again with them (pid {new})"
        ), out.comment


@needs_nagios
def test_failed_reload_restores_files_and_reloads_them(tree, monkeypatch):
    """systemctl reload fails (the daemon lives on): previous files back, reloaded with them."""
    bindir = tree / "bin"
    bindir.mkdir()
    victim = subprocess.Popen(["sleep", "60"])
    log = tree / "systemctl.log"
    (bindir / "systemctl").write_text(
        f'#!/bin/sh\necho "$@" >> {log}\n'
        f'case "$1" in show) echo {victim.pid} ;; reload) echo denied >&2; exit 1 ;; esac\n'
    )
    (bindir / "systemctl").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    try:
        data = pillar(tree)
        conf = tree / "conf.d" / "saltmesh"
        data["saltmesh"]["nagios"].update(reload="none")
        assert deploy.apply(parse_settings(data), data).result is True
        before = _snapshot(conf)
        data["saltmesh"]["nagios"].update(reload="systemd", service="nagios4", timeout=5)
        data["servers"]["web01"]["address"] = "10.1.0.9"
        out = deploy.apply(parse_settings(data), data)
        assert out.result is False and out.changes == {}
        assert out.comment == (
            "systemctl failed (exit 1): denied; previous files restored and Nagios reloaded "
            "with them"
        )
        assert _snapshot(conf) == before
        assert log.read_text().splitlines()[-2:] == ["reload nagios4", "reload nagios4"]
    finally:
        victim.kill()
        victim.wait()


def _tree_bytes(root) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@needs_nagios
def test_test_mode_touches_nothing_not_even_the_lock_file(tree):
    data = pillar(tree)
    before = _tree_bytes(tree)
    out = deploy.apply(parse_settings(data), data, test=True)
    assert out.result is None and out.changes["added"] == [
        "host docker01",
        "host web01",
        *(f"service {h}/{d}" for h in ("docker01", "web01") for d in ("Salt minion", "Users")),
    ]
    assert _tree_bytes(tree) == before
    assert not (tree / "conf.d" / ".saltmesh.lock").exists()
