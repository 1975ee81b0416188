"""Nagios guarantees through the real master and minion, against the private nagios4 daemon.

Each test proves one promise of the README's "Guarantees" and fails when it breaks: a bad
pillar fails one state naming the path (no traceback in the output or the minion log); a
broken hand-written file is refused and the running Nagios keeps its configuration; a daemon
that dies on reload is rolled back; the Slack command is safe whatever a check prints; the
webhook URL stays in its 0640 root:nagios file; foreign files survive every state and prune.
"""

from __future__ import annotations

import grp
import json
import os
import shutil
import stat
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.conftest import changed
from tests.integration.nagios.test_running import OBJECTS_ID, by_id, run_sls, servers, snapshot
from tests.support.minion_log import MinionLog
from tests.support.nagios import FOREIGN, FOREIGN_HOSTS

pytestmark = pytest.mark.reliability

NRPE_ID = "saltmesh-nrpe-config"


@pytest.fixture
def minion_log(salt_minion):
    return MinionLog(salt_minion)


@pytest.fixture
def good(prefix, nagios_settings):
    return {"saltmesh": {"nagios": nagios_settings}, "servers": servers(prefix)}


def _with(good: dict, **nagios) -> dict:
    return {
        "saltmesh": {"nagios": {**good["saltmesh"]["nagios"], **nagios}},
        "servers": good["servers"],
    }


def _state(nagios) -> tuple:
    return nagios.pid(), nagios.program_start(), nagios.cache_mtime()


# --- 1. the loader boundary -------------------------------------------------------------------

BAD_SETTINGS = {
    "saltmesh:nagios:reload": {"reload": "kill"},
    "saltmesh:nagios:timeout": {"timeout": "soon"},
    "saltmesh:nagios:slack:channel": {
        "slack": {"webhook_url": "http://127.0.0.1:9/x", "channel": "#a b"}
    },
    "saltmesh:nagios:nrpe:reload": {"nrpe": {"reload": "kill"}},
}


@pytest.mark.parametrize("culprit", sorted(BAD_SETTINGS))
def test_bad_settings_fail_one_state_naming_the_path(
    salt_call_cli, nagios, nrpe, good, culprit, minion_log
):
    assert run_sls(salt_call_cli, "nagios.running", pillar=good).returncode == 0
    files, daemons = snapshot(nagios.conf_dir), _state(nagios)
    nrpe_files = snapshot(nrpe.include_dir)
    bad = _with(good, **BAD_SETTINGS[culprit])
    minion_log.mark()
    for sls, sid in (("nagios.running", OBJECTS_ID), ("nagios.nrpe", NRPE_ID)):
        for test in (True, False):
            ret = run_sls(salt_call_cli, sls, test=test, pillar=bad)
            assert ret.returncode != 0
            assert isinstance(ret.data, dict), ret  # states ran: the SLS itself rendered
            assert list(by_id(ret)) == [sid], ret.data  # nothing installed or written first
            res = by_id(ret)[sid]
            assert res["result"] is False and res["changes"] == {}, res
            assert res["comment"].startswith("Invalid pillar:\n"), res["comment"]
            assert f"\n  {culprit}: " in res["comment"], res["comment"]
            assert "Traceback" not in ret.stdout + ret.stderr
    assert snapshot(nagios.conf_dir) == files and _state(nagios) == daemons
    assert snapshot(nrpe.include_dir) == nrpe_files
    minion_log.assert_clean()


def test_bad_settings_through_the_minion_daemon(salt_cli, salt_minion, nagios, good, minion_log):
    """The same through the master and the minion daemon (``salt <minion> state.sls``)."""
    bad = _with(good, reload="kill")
    for sls, sid in (("nagios.running", OBJECTS_ID), ("nagios.nrpe", NRPE_ID)):
        ret = salt_cli.run("state.sls", sls, "pillar=" + json.dumps(bad), minion_tgt=salt_minion.id)
        assert ret.returncode != 0
        results = {r["__id__"]: r for r in ret.data.values()}
        assert list(results) == [sid], ret.data
        assert results[sid]["result"] is False
        assert "\n  saltmesh:nagios:reload: 'kill' is not one of" in results[sid]["comment"]
    text = minion_log.assert_clean()
    assert "ProcessPayload" in text  # the daemon's own log lines: it did run the jobs


def test_execution_functions_answer_a_bad_pillar_cleanly(
    salt_call_cli, pillar, nagios, good, minion_log
):
    pillar.set(_with(good, reload="kill"))
    minion_log.mark()
    for fun in ("settings", "render", "plan", "validate", "daemon", "nrpe_render"):
        ret = salt_call_cli.run(f"saltmesh_nagios.{fun}")
        assert ret.returncode != 0, ret
        out = ret.stdout + ret.stderr
        assert f"Error running 'saltmesh_nagios.{fun}': Invalid pillar:" in out, out
        assert "saltmesh:nagios:reload: 'kill' is not one of" in out
        assert "Traceback" not in out
    for fun in ("apply", "nrpe_apply"):
        ret = salt_call_cli.run(f"saltmesh_nagios.{fun}", "test=True")
        assert ret.returncode != 0, ret
        assert ret.data["result"] is False and "saltmesh:nagios:reload" in ret.data["comment"]
    ret = salt_call_cli.run("saltmesh_nagios.settings", "quiet=True")
    assert ret.returncode == 0 and "saltmesh:nagios:reload" in ret.data["invalid"]
    minion_log.assert_clean()


def test_returner_failure_is_one_log_line_without_the_url(
    salt_call_cli, pillar, good, returners_synced, minion_log
):
    """Slack down: the job still succeeds; the minion log says why in one line, no secret."""
    dead = "http://127.0.0.1:9/services/T000/B000/DEADSECRET"
    pillar.set(_with(good, slack={**good["saltmesh"]["nagios"]["slack"], "webhook_url": dead}))
    minion_log.mark()
    ret = salt_call_cli.run("--return", "saltmesh_slack", "test.echo", "reliability-probe")
    assert ret.returncode == 0 and ret.data == "reliability-probe", ret
    text = minion_log.assert_clean()
    lines = [ln for ln in text.splitlines() if "saltmesh_slack:" in ln]
    assert any("[ERROR" in ln and "ConnectionError posting to http://127.0.0.1:9/..." in ln
               for ln in lines), lines  # fmt: skip
    assert "DEADSECRET" not in text + ret.stdout + ret.stderr


# --- 2. faults --------------------------------------------------------------------------------


def test_broken_hand_written_file_is_refused_and_nagios_keeps_running(
    salt_call_cli, nagios, good, prefix
):
    assert run_sls(salt_call_cli, "nagios.running", pillar=good).returncode == 0
    files, daemons = snapshot(nagios.conf_dir), _state(nagios)
    broken = nagios.conf_root / f"{prefix}-broken.cfg"  # in the cfg_dir, beside saltmesh's
    broken.write_text(f"define host {{\n    host_name  {prefix}-x\n    bogus_directive  1\n}}\n")
    try:
        more = {"saltmesh": good["saltmesh"], "servers": servers(prefix)}
        more["servers"][f"{prefix}-new"] = {"address": "127.0.12.1", "parents": "handmade-gw"}
        for test in (True, False):
            ret = run_sls(salt_call_cli, "nagios.running", test=test, pillar=more)
            res = by_id(ret)[OBJECTS_ID]
            assert res["result"] is False and res["changes"] == {}, res
            head, *lines = res["comment"].splitlines()
            assert head.startswith(
                f"nagios -v rejected the configuration because of {broken}, which saltmesh "
                "does not own; nothing was changed and Nagios was not reloaded"
            ), res["comment"]
            assert any(str(broken) in ln and ln.startswith("Error:") for ln in lines), lines
            assert any("bogus_directive" in ln for ln in lines), lines
            assert snapshot(nagios.conf_dir) == files
            # the same daemon, never reloaded, still serving saltmesh's hosts
            assert _state(nagios) == daemons
            hosts = nagios.hosts()
            assert f"{prefix}-web01" in hosts and f"{prefix}-new" not in hosts
            assert nagios.host_status(f"{prefix}-web01") is not None
    finally:
        broken.unlink()
    ret = run_sls(salt_call_cli, "nagios.running", pillar=more)
    assert by_id(ret)[OBJECTS_ID]["result"] is True, ret.data
    assert f"{prefix}-new" in nagios.hosts()


def test_daemon_dying_on_reload_is_rolled_back(salt_call_cli, nagios, good, prefix, tmp_path):
    """A validator that misses an error (here: one that accepts everything) lets a config
    through that makes Nagios exit on SIGHUP: the state fails, says so, and puts the previous
    files back, on which Nagios starts again."""
    assert run_sls(salt_call_cli, "nagios.running", pillar=good).returncode == 0
    files, pid = snapshot(nagios.conf_dir), nagios.pid()
    lying = tmp_path / "nagios-v-says-ok"
    lying.write_text("#!/bin/sh\necho 'Total Warnings: 0'\necho 'Total Errors:   0'\n")
    lying.chmod(0o755)
    bad = _with(good, binary=str(lying))
    bad["servers"] = servers(prefix)
    bad["servers"][f"{prefix}-web01"]["services"]["HTTP"]["check_command"] = "no_such_command"
    try:
        ret = run_sls(salt_call_cli, "nagios.running", pillar=bad)
        res = by_id(ret)[OBJECTS_ID]
        assert res["result"] is False and res["changes"] == {}, res
        assert res["comment"] == (
            f"Nagios (pid {pid}) exited after the reload; previous files restored; Nagios is "
            "not running: start it, it loads them"
        ), res["comment"]
        assert nagios.pid() is None  # it really died on the reload
        assert snapshot(nagios.conf_dir) == files  # byte for byte
    finally:
        if nagios.pid() is None:
            nagios.start()
    hosts = nagios.hosts()  # restarted on the restored files: the old objects, all there
    assert f"{prefix}-web01" in hosts and (
        "HTTP" in {s for h, s in nagios.services() if h == f"{prefix}-web01"}
    )
    ret = run_sls(salt_call_cli, "nagios.running", pillar=good)
    assert ret.returncode == 0 and changed(ret) == [], ret.data


# --- 3. the Slack command line ----------------------------------------------------------------

NASTY = {
    "dash": "-x --url-file /etc/passwd --host evil",
    "quotes": "it's \"quoted\" and 'single' and \"unbalanced",
    "dollar": "$(touch {m}) ${{HOME}} $HOME $$ $USER1$ $HOSTNAME$",
    "backquote": "`touch {m}` and `id`",
    "semicolon": "a; touch {m}; b && touch {m} & c > {m}.redirect < /etc/passwd",
    "sq-breakout": "x' ; touch {m} ; echo '",
    "dq-breakout": 'x" ; touch {m} ; echo "',
    "newlines": "first line\nsecond $(touch {m}); x\n`touch {m}`\\n stays \\\\ literal",
    "unicode": "héllo wörld ✓ — ünïcode",
}


def as_nagios_keeps_it(output: str) -> str:
    """The output as Nagios itself stores it (base/checks.c): the first line stripped and its
    ';' turned into ':' (replace_semicolons); the long output as printed."""
    first, sep, rest = output.partition("\n")
    return first.strip().replace(";", ":") + sep + rest


def test_slack_command_is_safe_whatever_a_check_prints(
    salt_call_cli, nagios, slack, good, prefix, tmp_path
):
    """Checks print each nasty string; Nagios notifies; Slack gets the exact text and no extra
    command ran (each payload would create its marker file)."""
    host = f"{prefix}-db01"
    markers = {case: tmp_path / f"pwned-{case}" for case in NASTY}
    data = {"saltmesh": good["saltmesh"], "servers": servers(prefix)}
    expected = {}
    for case, text in NASTY.items():
        text = text.format(m=markers[case])
        expected[f"Nasty-{case}"] = text
        (nagios.root / "checks" / f"{prefix}-{case}").write_text(text + "\n")
        data["servers"][host].setdefault("services", {})[f"Nasty-{case}"] = {
            "check_command": f"saltmesh-test-print!{prefix}-{case}",
            "max_check_attempts": "1",
            # only saltmesh's contact: Debian's notify-service-by-email (the template's
            # 'admins') puts "$SERVICEOUTPUT$" in a shell command line and runs whatever the
            # check printed once illegal_macro_output_chars does not strip '$' and '`'
            "contact_groups": "null",
        }
    ret = run_sls(salt_call_cli, "nagios.running", pillar=data)
    assert by_id(ret)[OBJECTS_ID]["result"] is True, ret.data
    now = int(time.time())
    for service in expected:
        nagios.command(f"SCHEDULE_FORCED_SVC_CHECK;{host};{service};{now}")
    for service, text in expected.items():
        post = slack.wait_for(
            lambda p, s=service: f"{host}/{s} is CRITICAL" in p["json"].get("text", "")
        )
        att = post["json"]["attachments"][0]
        assert att["text"] == as_nagios_keeps_it(text), (service, att["text"])
        assert {"title": "Service", "value": service, "short": True} in att["fields"]
        assert post["json"]["channel"] == "#ops"
    time.sleep(1)
    ran = sorted(str(p) for m in markers.values() for p in (m, Path(f"{m}.redirect")) if p.exists())
    assert ran == [], f"a notification ran a command from the plugin output: {ran}"
    # the running Nagios really has no say: its config strips nothing from macros
    cfg = nagios.cfg.read_text()
    assert "illegal_macro_output_chars" not in cfg and "enable_environment_macros" not in cfg


# --- 4. the webhook URL -----------------------------------------------------------------------


def _world_readable_files(root: Path):
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            if path.is_file() and os.stat(path).st_mode & stat.S_IROTH:
                yield path


@pytest.fixture
def open_dir():
    """A directory anyone may traverse (pytest's tmp dirs are 0700: no user but root gets in)."""
    path = Path(tempfile.mkdtemp(prefix="saltmesh-url-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path)


def test_webhook_url_stays_in_its_file(
    salt_call_cli, pillar, nagios, slack, good, salt_minion, open_dir
):
    secret = "/services/T000/B000/XXXX"  # the path of slack.url: the credential
    assert slack.url.endswith(secret)
    url_file = open_dir / "slack.url"  # written afresh: the mode comes from the state
    settings = good["saltmesh"]["nagios"]
    data = _with(good, slack={**settings["slack"], "url_file": str(url_file)})
    pillar.set(data)  # from pillar_roots, as in production (an inline pillar= is logged)
    outputs = []
    for test in (True, False, False):
        ret = run_sls(salt_call_cli, "nagios.running", test=test)
        assert ret.returncode == 0, ret
        outputs.append(ret.stdout + ret.stderr + json.dumps(ret.data))
    assert all(secret not in out for out in outputs)
    st = os.stat(url_file)
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert (st.st_uid, st.st_gid) == (0, grp.getgrnam("nagios").gr_gid)
    assert url_file.read_text().strip() == slack.url
    # the nagios user (Nagios runs the script as it) reads it; another user does not
    as_nagios = subprocess.run(["runuser", "-u", "nagios", "--", "cat", str(url_file)],
                               capture_output=True, text=True)  # fmt: skip
    assert as_nagios.returncode == 0 and as_nagios.stdout.strip() == slack.url
    as_nobody = subprocess.run(["runuser", "-u", "nobody", "--", "cat", str(url_file)],
                               capture_output=True, text=True)  # fmt: skip
    assert as_nobody.returncode != 0
    leaks = [
        str(p) for root in (nagios.root, Path(salt_minion.config["root_dir"]))
        for p in _world_readable_files(root) if secret.encode() in p.read_bytes()
    ]  # fmt: skip
    assert leaks == []


# --- 5. foreign files -------------------------------------------------------------------------


def test_foreign_files_survive_states_and_prunes(salt_call_cli, nagios, good, prefix):
    """Hand-written files seeded before the suite (beside and inside saltmesh's directory)
    are byte-identical and loaded after a full apply and a prune of everything saltmesh owns.
    (The nagios fixture checks them once more after the whole suite.)"""
    assert run_sls(salt_call_cli, "nagios.running", pillar=good).returncode == 0
    assert nagios.foreign_problems() == []
    settings = good["saltmesh"]["nagios"]
    slack = {k: v for k, v in settings["slack"].items() if k != "webhook_url"}
    empty = {"saltmesh": {"nagios": {**settings, "slack": slack}}, "servers": {}}
    ret = run_sls(salt_call_cli, "nagios.running", pillar=empty)
    assert ret.returncode == 0, ret
    assert "removed" in by_id(ret)[OBJECTS_ID]["changes"]
    assert not any(h.startswith(prefix) for h in nagios.hosts())
    assert nagios.foreign_problems() == []
    assert set(FOREIGN_HOSTS) <= set(nagios.hosts())
    inside = sorted(rel.rsplit("/", 1)[1] for rel in FOREIGN if rel.startswith("conf.d/saltmesh/"))
    assert sorted(os.listdir(nagios.conf_dir)) == inside
