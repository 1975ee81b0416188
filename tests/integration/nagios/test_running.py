"""nagios.running / nagios.nrpe through the real master+minion against private nagios4/NRPE."""

from __future__ import annotations

import grp
import json
import os
import re
import shutil
import subprocess

import pytest

from saltmesh.nagios import defaults
from tests.conftest import changed, state_ret
from tests.support.nagios import FOREIGN, file_mode, parse_blocks

OBJECTS_ID = "saltmesh-nagios-objects"


def run_sls(salt_call_cli, sls: str, test: bool = False, pillar: dict | None = None):
    args = ["state.sls", sls]
    if test:
        args.append("test=True")
    if pillar is not None:
        args.append("pillar=" + json.dumps(pillar))
    return salt_call_cli.run(*args)


def by_id(ret) -> dict[str, dict]:
    return {r["__id__"]: r for r in state_ret(ret)}


def snapshot(directory) -> dict[str, bytes]:
    if not os.path.isdir(directory):
        return {}
    return {n: open(os.path.join(directory, n), "rb").read() for n in sorted(os.listdir(directory))}


def servers(prefix: str) -> dict:
    d, web, db = f"{prefix}-docker01", f"{prefix}-web01", f"{prefix}-db01"
    return {
        f"{prefix}-nagios": {"node_type": "server", "address": "127.0.0.1", "use": "linux-server"},
        d: {
            "node_type": "docker_host",
            "address": "127.0.10.1",
            "use": ["linux-server"],
            "hostgroups": ["docker-hosts"],
            "parents": "handmade-gw",  # defined in the hand-written Nagios config
        },
        web: {
            "node_type": "container",
            "address": "127.0.11.1",
            "use": "linux-server",
            "parents": d,
            "hostgroups": [f"{prefix}-web", "containers"],
            "services": {
                "HTTP": {"check_command": "check_http", "use": "generic-service"},
                "Load": {"check_command": "check_nrpe!check_load"},
                "Users": None,  # leaves out the default service of that description
            },
        },
        db: {
            "node_type": "container",
            "address": "127.0.11.2",
            "alias": "Database (primary)",
            "use": ["linux-server", "generic-host"],
            "parents": d,
            "services": {  # replaces the default service of that description
                "Salt minion": {"check_command": "check_nrpe!check_salt_minion", "notes": "db"},
            },
        },
    }


def loaded_services(nagios) -> dict[tuple[str, str], dict[str, str]]:
    """The services of the loaded configuration (objects.cache) by (host, description)."""
    blocks = parse_blocks(nagios.objects_cache.read_text(), "service")
    return {(b["host_name"], b["service_description"]): b for b in blocks}


def shuffled(value):
    """The same data with every mapping's keys in reverse order."""
    if isinstance(value, dict):
        return {k: shuffled(value[k]) for k in reversed(list(value))}
    return value


@pytest.fixture
def good(prefix, nagios_settings):
    return {"saltmesh": {"nagios": nagios_settings}, "servers": servers(prefix)}


def test_hosts_go_live_with_parents_test_mode_and_idempotence(
    salt_call_cli, pillar, nagios, good, prefix
):
    pillar.set(good)
    files_before = snapshot(nagios.conf_dir)
    pid, start, mtime = nagios.pid(), nagios.program_start(), nagios.cache_mtime()

    # test=True: the object diff and the validator's verdict; nothing live touched
    ret = run_sls(salt_call_cli, "nagios.running", test=True)
    assert ret.returncode == 0, ret
    predicted = by_id(ret)[OBJECTS_ID]
    assert predicted["result"] is None, predicted
    assert f"host {prefix}-web01" in predicted["changes"]["added"]
    assert "nagios -v on a scratch copy: OK" in predicted["comment"]
    assert snapshot(nagios.conf_dir) == files_before
    assert (nagios.pid(), nagios.program_start(), nagios.cache_mtime()) == (pid, start, mtime)
    predicted_ids = {r["__id__"] for r in changed(ret)}

    ret = run_sls(salt_call_cli, "nagios.running")
    assert ret.returncode == 0, ret
    applied = by_id(ret)[OBJECTS_ID]
    assert applied["result"] is True, applied
    assert applied["changes"] == predicted["changes"]
    assert {r["__id__"] for r in changed(ret)} == predicted_ids
    assert "reloaded Nagios" in applied["comment"]

    hosts = nagios.hosts()
    assert hosts[f"{prefix}-web01"]["parents"] == f"{prefix}-docker01"
    assert hosts[f"{prefix}-db01"]["parents"] == f"{prefix}-docker01"
    assert hosts[f"{prefix}-docker01"]["parents"] == "handmade-gw"
    assert hosts[f"{prefix}-db01"]["alias"] == "Database (primary)"
    # the default services (saltmesh:nagios:default_services absent) on every host, less
    # web01's Users (null), db01's Salt minion its own
    default_checks = {
        "Salt minion": "check_nrpe!check_salt_minion",
        "Users": "check_nrpe!check_users",
    }
    ours = {k: v for k, v in loaded_services(nagios).items() if k[0].startswith(prefix)}
    assert sorted(ours) == sorted(
        [(f"{prefix}-{h}", d) for h in ("nagios", "docker01", "db01") for d in default_checks]
        + [(f"{prefix}-web01", "Salt minion")]
        + [(f"{prefix}-web01", "HTTP"), (f"{prefix}-web01", "Load")]
    )
    for (_, desc), service in ours.items():
        if desc in default_checks:
            assert service["check_command"] == default_checks[desc], service
    assert ours[(f"{prefix}-db01", "Salt minion")]["notes"] == "db"
    assert "notes" not in ours[(f"{prefix}-docker01", "Salt minion")]
    assert nagios.pid() == pid  # reloaded in place, not restarted
    assert nagios.cache_mtime() != mtime

    # second run: same bytes, no write, no reload
    pid, start, mtime = nagios.pid(), nagios.program_start(), nagios.cache_mtime()
    files = snapshot(nagios.conf_dir)
    ret = run_sls(salt_call_cli, "nagios.running")
    assert ret.returncode == 0, ret
    assert changed(ret) == []
    assert (nagios.pid(), nagios.program_start(), nagios.cache_mtime()) == (pid, start, mtime)
    assert snapshot(nagios.conf_dir) == files

    # the same pillar with every key order reversed: still nothing to do
    pillar.set(shuffled(good))
    ret = run_sls(salt_call_cli, "nagios.running")
    assert ret.returncode == 0, ret
    assert changed(ret) == []
    assert (nagios.pid(), nagios.program_start(), nagios.cache_mtime()) == (pid, start, mtime)

    # test=True with nothing to do predicts nothing
    ret = run_sls(salt_call_cli, "nagios.running", test=True)
    assert by_id(ret)[OBJECTS_ID]["result"] is True
    assert changed(ret) == []


BAD = {
    "unknown parent": (
        lambda p, s: s[f"{p}-web01"].update(parents="nosuch-host"),
        "unknown parent 'nosuch-host'",
    ),
    "parent cycle": (
        lambda p, s: (
            s[f"{p}-docker01"].update(parents=f"{p}-nagios")
            or s[f"{p}-nagios"].update(parents=f"{p}-docker01")
        ),
        "parent cycle",
    ),
    "newline injection": (
        lambda p, s: s[f"{p}-db01"].update(alias="db\n    check_command evil"),
        "line breaks",
    ),
    "semicolon injection": (
        lambda p, s: s[f"{p}-web01"]["services"]["HTTP"].update(check_command="check_http;x"),
        "would end or inject Nagios directives",
    ),
    "backslash": (
        lambda p, s: s[f"{p}-db01"].update(alias="db\\"),
        "would end or inject Nagios directives",
    ),
    "illegal name char": (
        lambda p, s: s[f"{p}-web01"]["services"].update({"HTTP(s)": {"check_command": "x"}}),
        "characters Nagios rejects",
    ),
    "unknown directive": (
        lambda p, s: s[f"{p}-web01"]["services"]["HTTP"].update(parent="x"),
        "unknown or reserved service directive 'parent'",
    ),
    "unknown template": (
        lambda p, s: s[f"{p}-db01"].update(use="no-such-template"),
        "unknown host template 'no-such-template'",
    ),
    "validator rejects": (  # only nagios -v knows the command is undefined
        lambda p, s: s[f"{p}-web01"]["services"]["HTTP"].update(check_command="no_such_cmd"),
        "Error: Service check command 'no_such_cmd'",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_entry_fails_and_keeps_old_config(salt_call_cli, nagios, good, prefix, case):
    # inline pillar (state.sls pillar=...) instead of the pillar fixture: no refresh per case
    ret = run_sls(salt_call_cli, "nagios.running", pillar=good)
    assert ret.returncode == 0, ret
    files = snapshot(nagios.conf_dir)
    pid, start, mtime = nagios.pid(), nagios.program_start(), nagios.cache_mtime()

    mutate, message = BAD[case]
    bad = {"saltmesh": good["saltmesh"], "servers": servers(prefix)}
    mutate(prefix, bad["servers"])
    modes = (True, False) if case in ("unknown parent", "validator rejects") else (False,)
    for test in modes:
        ret = run_sls(salt_call_cli, "nagios.running", test=test, pillar=bad)
        assert ret.returncode != 0
        res = by_id(ret)[OBJECTS_ID]
        assert res["result"] is False
        assert res["changes"] == {}
        assert message in res["comment"], res["comment"]
        assert snapshot(nagios.conf_dir) == files
        assert nagios.alive()
        assert (nagios.pid(), nagios.program_start(), nagios.cache_mtime()) == (pid, start, mtime)
    assert f"{prefix}-web01" in nagios.hosts()


def test_removed_hosts_leave_nagios(salt_call_cli, nagios, good, prefix):
    assert run_sls(salt_call_cli, "nagios.running", pillar=good).returncode == 0

    # removing a docker host that still has containers fails early, naming the container
    data = {"saltmesh": good["saltmesh"], "servers": servers(prefix)}
    del data["servers"][f"{prefix}-docker01"]
    ret = run_sls(salt_call_cli, "nagios.running", pillar=data)
    res = by_id(ret)[OBJECTS_ID]
    assert res["result"] is False
    assert f"'{prefix}-docker01' is being removed" in res["comment"]
    assert f"container '{prefix}-web01'" in res["comment"]
    assert f"{prefix}-docker01" in nagios.hosts()

    # a container removed from pillar disappears from Nagios, with its file
    data = {"saltmesh": good["saltmesh"], "servers": servers(prefix)}
    del data["servers"][f"{prefix}-web01"]
    ret = run_sls(salt_call_cli, "nagios.running", pillar=data)
    assert ret.returncode == 0, ret
    res = by_id(ret)[OBJECTS_ID]
    assert res["changes"]["removed"] == sorted(
        [
            f"host {prefix}-web01",
            f"hostgroup {prefix}-web",
            "hostgroup containers",
            f"service {prefix}-web01/HTTP",
            f"service {prefix}-web01/Load",
            f"service {prefix}-web01/Salt minion",  # a default service (Users is left out)
        ]
    )
    assert f"{prefix}-web01" not in nagios.hosts()
    assert f"host_{prefix}-web01.cfg" not in os.listdir(nagios.conf_dir)
    assert f"{prefix}-db01" in nagios.hosts()

    # files in the directory that saltmesh did not write are never removed
    foreign = nagios.conf_dir / "handmade-extra.cfg"
    foreign.write_text("# not ours\n")
    try:
        # and with Slack switched off, its objects and the webhook file go too
        settings = good["saltmesh"]["nagios"]
        slack = {k: v for k, v in settings["slack"].items() if k != "webhook_url"}
        empty = {"saltmesh": {"nagios": {**settings, "slack": slack}}, "servers": {}}
        ret = run_sls(salt_call_cli, "nagios.running", pillar=empty)
        assert ret.returncode == 0, ret
        seeded = [rel.rsplit("/", 1)[1] for rel in FOREIGN if rel.startswith("conf.d/saltmesh/")]
        assert sorted(os.listdir(nagios.conf_dir)) == sorted(["handmade-extra.cfg", *seeded])
        assert not os.path.exists(slack["url_file"])
        assert not any(h.startswith(prefix) for h in nagios.hosts())
        assert "handmade-gw" in nagios.hosts()
    finally:
        foreign.unlink()


def test_slack_notification_through_nagios(salt_call_cli, nagios, slack, good, prefix):
    ret = run_sls(salt_call_cli, "nagios.running", pillar=good)
    assert ret.returncode == 0, ret
    settings = good["saltmesh"]["nagios"]["slack"]
    assert file_mode(settings["url_file"]) == 0o640
    assert os.stat(settings["url_file"]).st_gid == grp.getgrnam("nagios").gr_gid
    assert file_mode(settings["script"]) == 0o755

    host = f"{prefix}-db01"
    nagios.command(f"PROCESS_HOST_CHECK_RESULT;{host};1;saltmesh test: host is down")
    post = slack.wait_for(lambda p: host in p["json"].get("text", ""))
    att = post["json"]["attachments"][0]
    assert att["color"] == "danger"
    assert "PROBLEM" in att["title"] and host in att["title"]
    assert "saltmesh test: host is down" in att["text"]
    assert post["json"]["channel"] == "#ops"
    assert post["path"] == "/services/T000/B000/XXXX"

    # and the recovery, coloured good
    nagios.command(f"PROCESS_HOST_CHECK_RESULT;{host};0;saltmesh test: back")
    post = slack.wait_for(
        lambda p: "RECOVERY" in p["json"].get("text", "") and host in p["json"]["text"]
    )
    assert post["json"]["attachments"][0]["color"] == "good"

    # a service goes CRITICAL: three passive results take it through its soft states to hard
    web = f"{prefix}-web01"
    for _ in range(3):
        nagios.command(f"PROCESS_SERVICE_CHECK_RESULT;{web};HTTP;2;saltmesh test: refused")
    post = slack.wait_for(lambda p: f"{web}/HTTP is CRITICAL" in p["json"].get("text", ""))
    att = post["json"]["attachments"][0]
    assert att["color"] == "danger"
    assert {"title": "Service", "value": "HTTP", "short": True} in att["fields"]


def salt_minion_count(nrpe) -> tuple[int, subprocess.CompletedProcess]:
    """The number of salt-minion programs NRPE's check_salt_minion counts, and its answer."""
    out = nrpe.check("check_salt_minion")
    m = re.search(r"\|\s*procs=(\d+);", out.stdout)
    assert m, out
    return int(m.group(1)), out


def test_nrpe_sls_renders_and_answers(salt_call_cli, nrpe, good, prefix, tmp_path):
    data = dict(good)
    data["saltmesh"] = {"nagios": {**good["saltmesh"]["nagios"], "servers": [f"{prefix}-nagios"]}}
    data["saltmesh"]["nagios"]["nrpe"] = {
        **good["saltmesh"]["nagios"]["nrpe"],
        "allowed_hosts": ["::1", "127.0.0.1"],
    }
    target = nrpe.include_dir / "saltmesh.cfg"
    if target.exists():
        target.unlink()
        os.kill(nrpe.pid(), 1)
    pid = nrpe.pid()
    assert nrpe.check("saltmesh_hello").returncode != 0  # 127.0.0.1 not allowed yet

    ret = run_sls(salt_call_cli, "nagios.nrpe", test=True, pillar=data)
    assert ret.returncode == 0, ret
    predicted = by_id(ret)["saltmesh-nrpe-config"]
    assert predicted["result"] is None
    assert predicted["changes"]["allowed_hosts"] == {"old": None, "new": "127.0.0.1,::1"}
    assert predicted["changes"]["commands"] == {
        "added": ["check_salt_minion", "check_users", "saltmesh_hello"]
    }
    assert not target.exists()

    ret = run_sls(salt_call_cli, "nagios.nrpe", pillar=data)
    assert ret.returncode == 0, ret
    assert by_id(ret)["saltmesh-nrpe-config"]["changes"] == predicted["changes"]
    lines = target.read_text().splitlines()
    assert "allowed_hosts=127.0.0.1,::1" in lines
    assert [ln for ln in lines if ln.startswith("allowed_hosts")] == ["allowed_hosts=127.0.0.1,::1"]
    assert nrpe.pid() == pid

    out = nrpe.check("saltmesh_hello")
    assert out.returncode == 0, out
    assert "hello-from-saltmesh" in out.stdout

    # the default commands: check_salt_minion as saltmesh defines it, check_users replaced by
    # the pillar's command of that name (the harness's thresholds, 50/100)
    commands = dict(defaults.NRPE_COMMANDS)
    assert f"command[check_salt_minion]={commands['check_salt_minion']}" in lines
    assert "command[check_users]=/usr/lib/nagios/plugins/check_users -w 50 -c 100" in lines
    assert len([ln for ln in lines if ln.startswith("command[check_users]=")]) == 1
    out = nrpe.check("check_users")
    assert out.returncode == 0 and out.stdout.startswith("USERS OK"), out
    assert re.search(r"\|users=\d+;50;100;0$", out.stdout.strip()), out
    # check_salt_minion counts salt-minion programs: a stand-in (sleep named salt-minion)
    # is one more; CRITICAL when none runs. Counted again if another one came or went.
    fake = tmp_path / "bin" / "salt-minion"
    fake.parent.mkdir()
    fake.symlink_to(shutil.which("sleep"))
    for _ in range(5):
        before, out = salt_minion_count(nrpe)
        proc = subprocess.Popen([str(fake), "300"])
        try:
            during, out_during = salt_minion_count(nrpe)
        finally:
            proc.kill()
            proc.wait()
        after, _ = salt_minion_count(nrpe)
        if before == after:
            break
    assert before == after, "the number of salt-minion processes kept changing"
    assert out.returncode == (0 if before else 2), out
    if not before:
        assert out.stdout.startswith("PROCS CRITICAL: 0 processes"), out
    assert during == before + 1, out_during
    assert out_during.returncode == 0 and out_during.stdout.startswith("PROCS OK"), out_during

    mtime = target.stat().st_mtime_ns
    ret = run_sls(salt_call_cli, "nagios.nrpe", pillar=data)
    assert ret.returncode == 0, ret
    assert changed(ret) == []
    assert target.stat().st_mtime_ns == mtime

    # an unsafe command name is rejected before anything is written
    bad = dict(data)
    bad["saltmesh"] = {"nagios": {**data["saltmesh"]["nagios"]}}
    bad["saltmesh"]["nagios"]["nrpe"] = {
        **data["saltmesh"]["nagios"]["nrpe"],
        "commands": {"x]=/bin/sh": "/bin/true"},
    }
    ret = run_sls(salt_call_cli, "nagios.nrpe", pillar=bad)
    assert ret.returncode != 0
    assert "saltmesh:nagios:nrpe:commands" in str(ret.data)
    assert target.stat().st_mtime_ns == mtime
    assert nrpe.pid() == pid


def test_returner_posts_job_results(salt_call_cli, pillar, slack, good, returners_synced):
    pillar.set(good)
    ret = salt_call_cli.run("--return", "saltmesh_slack", "test.echo", "saltmesh-returner-probe")
    assert ret.returncode == 0, ret
    post = slack.wait_for(lambda p: "test.echo" in p["json"].get("text", ""), timeout=30)
    att = post["json"]["attachments"][0]
    assert att["color"] == "good"
    assert "saltmesh-returner-probe" in att["text"]
