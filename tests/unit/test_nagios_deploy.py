"""The deploy pipeline on a throwaway config tree: ownership, scratch config, nagios -v verdict.

No daemon runs here; ``nagios4 -v`` (a plain command) is used when installed.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path

import pytest

from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.nagios import deploy, job_message
from saltmesh.nagios.nrpe import nrpe_diff
from saltmesh.nagios.render import HEADER
from saltmesh.nagios.settings import parse_settings
from saltmesh.nagios.tree import read_main_config, scan_tree
from saltmesh.nagios.validation import scratch_config

REPO = Path(__file__).resolve().parents[2]
DEBIAN_OBJECTS = Path("/etc/nagios4/objects")
needs_nagios = pytest.mark.skipif(
    not (os.access("/usr/sbin/nagios4", os.X_OK) and DEBIAN_OBJECTS.is_dir()),
    reason="nagios4 not installed",
)


@pytest.fixture
def tree(tmp_path):
    (tmp_path / "objects").mkdir()
    (tmp_path / "conf.d" / "saltmesh").mkdir(parents=True)
    (tmp_path / "conf.d" / "other").mkdir()
    (tmp_path / "conf.d" / "other" / "gw.cfg").write_text(
        "define host {\n host_name gw\n use linux-server\n address 10.9.9.9\n}\n"
        "define service {\n host_name gw\n service_description PING\n use generic-service\n"
        " check_command check_ping!1,1%!2,2%\n}\n"
    )
    (tmp_path / "conf.d" / ".hidden.cfg").write_text("garbage")
    if DEBIAN_OBJECTS.is_dir():
        for name in ("commands.cfg", "contacts.cfg", "timeperiods.cfg", "templates.cfg"):
            shutil.copy(DEBIAN_OBJECTS / name, tmp_path / "objects" / name)
    (tmp_path / "nagios.cfg").write_text(
        "# test main config\n"
        "nagios_user=root\nnagios_group=root\n"  # pytest's tmp dirs are 0700
        "cfg_file=objects/commands.cfg\n"  # relative: resolved against the main config
        "cfg_file=objects/contacts.cfg\n"
        "cfg_file=objects/timeperiods.cfg\n"
        "cfg_file=objects/templates.cfg\n"
        "cfg_dir=/etc/nagios-plugins/config\n"
        f"cfg_dir={tmp_path}/conf.d\n"
        "illegal_object_name_chars=`~!$%^&*|'\"<>?,()=\n"
    )
    return tmp_path


def pillar(tmp: Path, **servers) -> dict:
    return {
        "saltmesh": {
            "nagios": {
                "main_config": str(tmp / "nagios.cfg"),
                "conf_dir": str(tmp / "conf.d" / "saltmesh"),
                "reload": "none",
            }
        },
        "servers": servers
        or {
            "docker01": {"node_type": "docker_host", "address": "10.0.0.11", "parents": "gw"},
            "web01": {"node_type": "container", "address": "10.1.0.2", "parents": "docker01"},
        },
    }


def plan(data):
    return deploy.plan(parse_settings(data), data)


def test_scan_tree_splits_owned_and_foreign(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_old.cfg").write_bytes(HEADER.encode() + b"define host {\n host_name old\n}\n")
    (conf / "mine.cfg").write_text("define host {\n host_name handmade\n}\n")
    main = read_main_config(str(tree / "nagios.cfg"))
    t = scan_tree(main, str(conf))
    assert t.covered
    assert set(t.owned) == {"host_old.cfg"}
    assert t.foreign_in_conf_dir == {"mine.cfg"}
    assert str(conf / "mine.cfg") in t.external
    assert str(tree / "objects" / "commands.cfg") in t.external
    assert not any(".hidden" in p for p in t.external)


def test_plan_lists_writes_removes_and_object_changes(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_old.cfg").write_bytes(HEADER.encode() + b"define host {\n host_name old\n}\n")
    p = plan(pillar(tree))
    assert p.writes == ["host_docker01.cfg", "host_web01.cfg"]
    assert p.removes == ["host_old.cfg"]
    assert p.changes == {"added": ["host docker01", "host web01"], "removed": ["host old"]}
    # gw (hand-written) is a valid parent; a duplicate of it is not
    data = pillar(tree)
    data["servers"]["gw"] = {"address": "10.0.0.12"}
    with pytest.raises(PillarError, match="already defined in"):
        plan(data)


def test_conf_dir_must_be_loaded(tree):
    data = pillar(tree)
    data["saltmesh"]["nagios"]["conf_dir"] = str(tree / "elsewhere")
    with pytest.raises(SaltmeshError, match="not inside any cfg_dir"):
        plan(data)


def test_removed_docker_host_is_named(tree):
    conf = tree / "conf.d" / "saltmesh"
    p = plan(pillar(tree))
    for name, data in p.rendered.items():
        (conf / name).write_bytes(data)
    data = pillar(tree)
    del data["servers"]["docker01"]
    with pytest.raises(PillarError, match="'docker01' is being removed from servers"):
        plan(data)


def test_scratch_config_swaps_our_dir_for_the_stage(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_x.cfg").write_bytes(HEADER.encode())
    p = plan(pillar(tree))
    text = scratch_config(p, "/tmp/STAGE")
    assert f"cfg_file={tree}/objects/commands.cfg" in text
    assert f"cfg_file={tree}/conf.d/other/gw.cfg" in text
    assert f"cfg_dir={tree}/conf.d\n" not in text
    assert "host_x.cfg" not in text
    assert text.endswith("cfg_dir=/tmp/STAGE\n")
    assert "cfg_dir=/etc/nagios-plugins/config" in text


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


def test_nrpe_diff_shapes():
    old = b"# h\nallowed_hosts=10.0.0.5\ncommand[a]=/bin/a\ncommand[b]=/bin/b\n"
    new = b"# h\nallowed_hosts=10.0.0.5,10.0.0.6\ncommand[a]=/bin/a -v\ncommand[c]=/bin/c\n"
    assert nrpe_diff(old, new) == {
        "allowed_hosts": {"old": "10.0.0.5", "new": "10.0.0.5,10.0.0.6"},
        "commands": {
            "added": ["c"],
            "removed": ["b"],
            "updated": {"a": {"command_line": {"old": "/bin/a", "new": "/bin/a -v"}}},
        },
    }
    assert nrpe_diff(new, new) == {}


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_slack_script_payload_colours():
    script = _load(REPO / "salt" / "nagios" / "files" / "slack_notify.py", "slack_notify")
    parser_args = [
        "--url-file", "/x", "--kind", "service", "--type", "PROBLEM", "--host", "web01",
        "--service", "HTTP", "--state", "CRITICAL", "--output", "refused", "--channel", "#ops",
    ]  # fmt: skip
    import argparse

    ns = argparse.Namespace(
        **{
            "url_file": "/x",
            "kind": "service",
            "type": "PROBLEM",
            "host": "web01",
            "service": "HTTP",
            "state": "CRITICAL",
            "output": "refused",
            "channel": "#ops",
            "username": None,
        }
    )
    payload = script.build_payload(ns)
    att = payload["attachments"][0]
    assert att["color"] == "danger" and att["title"] == "PROBLEM: web01/HTTP is CRITICAL"
    assert payload["channel"] == "#ops"
    for state, colour in (("OK", "good"), ("WARNING", "warning"), ("UP", "good")):
        ns.state = state
        assert script.build_payload(ns)["attachments"][0]["color"] == colour
    assert script.main(parser_args[:1] + ["/nonexistent"] + parser_args[2:]) == 2


def test_returner_payload():
    returner = job_message
    states = {
        "a": {"result": True, "changes": {}, "__id__": "a"},
        "b": {"result": True, "changes": {"x": 1}, "__id__": "b"},
    }
    ret = {"fun": "state.apply", "id": "web01", "jid": "1", "return": states, "success": True}
    att = returner.build_payload(ret)["attachments"][0]
    assert att["color"] == "warning" and "2 states: 1 changed, 0 failed" in att["text"]
    states["c"] = {"result": False, "changes": {}, "__id__": "c"}
    att = returner.build_payload(ret, "#ops")["attachments"][0]
    assert att["color"] == "danger" and "failed: c" in att["text"]
    plain = {"fun": "test.ping", "id": "m", "return": True, "success": True}
    assert returner.build_payload(plain)["attachments"][0]["color"] == "good"


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
