"""``nagios.running`` with ``reload: systemd`` against a real systemd and Debian's nagios4 unit.

A Debian 12 container with systemd as PID 1 (tests/support/systemd_box.py; the image is built
once per machine, ~3 min, then reused), Debian's nagios4-core running as the nagios user, and
the pack installed from a freshly built wheel (install route 2). ``salt-call --local`` inside:

1. the first apply writes the objects, then ``service.running`` starts and enables nagios4;
2. a second apply with one more host reloads it through ``systemctl reload``: the same main
   PID (a reload, not a restart), systemd's journal shows the reload job, the new host is in
   objects.cache;
3. Slack: the nagios user reads the 0640 root:nagios URL file and posts a notification, with
   the exact plugin output, to a recorder inside the box;
4. a config that makes Nagios exit on reload (let through by a validator that accepts
   everything) is rolled back and nagios4 is started again by the state, on the old files.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from tests.conftest import REPO
from tests.support.systemd_box import Box, build_image, have_tools
from tests.support.waiting import wait_until

pytestmark = pytest.mark.reliability

RECORDER = """\
import json, sys
from http.server import BaseHTTPRequestHandler, HTTPServer
class H(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with open("/root/posts.jsonl", "a") as fh:
            fh.write(json.dumps({"path": self.path, "json": json.loads(body)}) + "\\n")
        self.send_response(200); self.end_headers(); self.wfile.write(b"ok")
    def log_message(self, *a): pass
HTTPServer(("127.0.0.1", 8080), H).serve_forever()
"""
SECRET = "/services/T000/B000/BOXSECRET"
TEMPLATES = """\
# hand-written: a host template that is always UP and notifies at any hour
define host {
    name                  box-host
    use                   generic-host
    check_command         return-ok
    check_period          24x7
    max_check_attempts    1
    notification_interval 0
    register              0
}
"""


def _pillar(*extra_hosts: str, **nagios) -> dict:
    servers = {
        "box-gw": {"node_type": "server", "address": "127.0.0.1"},
        "box-web01": {
            "node_type": "server",
            "address": "127.0.0.2",
            "parents": "box-gw",
            "services": {
                "App": {
                    "check_command": "return-ok",
                    "max_check_attempts": "1",
                    "notification_interval": "0",
                },  # fmt: skip
            },
        },
    }
    for name in extra_hosts:
        servers[name] = {"node_type": "server", "address": "127.0.0.9", "parents": "box-gw"}
    settings = {
        "host_template": "box-host",
        "packages": ["nagios4-core", "python3-requests"],  # installed: no network needed
        # no nagios-nrpe-plugin in the box, so no check_nrpe for the default services (they
        # go live against the private nagios4 in test_running.py)
        "default_services": {},
        "slack": {"webhook_url": f"http://127.0.0.1:8080{SECRET}", "channel": "#box"},
        **nagios,
    }
    return {"servers": servers, "saltmesh": {"nagios": settings}}


@pytest.fixture(scope="module")
def box(tmp_path_factory):
    why = have_tools()
    if why:
        pytest.skip(f"systemd box: {why}")
    tag = build_image()
    dist = tmp_path_factory.mktemp("box-wheel")
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "-w", str(dist), str(REPO)],
        check=True, capture_output=True,
    )  # fmt: skip
    (wheel,) = dist.glob("saltmesh-*.whl")
    b = Box(tag).start()
    try:
        b.put(wheel, f"/root/{wheel.name}")
        b.exec(
            "/opt/salt/bin/pip", "install", "-q", "--no-index", "--no-deps", f"/root/{wheel.name}"
        )
        b.put(REPO / "salt", "/srv/salt")
        b.write(
            "/etc/salt/minion.d/saltmesh.conf",
            yaml.safe_dump({
                "id": "box", "file_client": "local",
                "file_roots": {"base": ["/srv/salt"]}, "pillar_roots": {"base": ["/srv/pillar"]},
            }),
        )  # fmt: skip
        b.write("/srv/pillar/top.sls", "base:\n  '*':\n    - saltmesh\n")
        b.write("/etc/nagios4/conf.d/box-templates.cfg", TEMPLATES)
        b.write("/root/recorder.py", RECORDER)
        b.exec("systemd-run", "--unit=slack-recorder", "/usr/bin/python3", "/root/recorder.py")
        yield b
    finally:
        b.stop()


def apply(box: Box, pillar: dict) -> dict:
    box.write("/srv/pillar/saltmesh.sls", yaml.safe_dump(pillar))
    out = box.exec(
        "/opt/salt/bin/salt-call", "--local", "--out=json", "--log-level=quiet",
        "state.apply", "nagios.running", check=False,
    )  # fmt: skip
    assert "Traceback" not in out.stdout + out.stderr, out.stdout + out.stderr
    return {r["__id__"]: r for r in json.loads(out.stdout)["local"].values()}


def nagios_state(box: Box) -> dict:
    return {
        "active": box.show("nagios4", "ActiveState"),
        "pid": int(box.show("nagios4", "MainPID") or 0),
        "started": box.show("nagios4", "ExecMainStartTimestampMonotonic"),
    }


def reloads(box: Box) -> int:
    journal = box.exec("journalctl", "-u", "nagios4", "--no-pager", "-o", "cat").stdout
    return journal.count("Reloaded nagios4")


def wait(predicate, timeout=60, what="condition"):
    return wait_until(predicate, timeout, what)


def test_reload_through_systemd_and_slack_as_the_nagios_user(box):
    # 1. Nagios not running: objects written, then service.running starts (and enables) it
    assert box.show("nagios4", "ActiveState") != "active"
    res = apply(box, _pillar())
    assert all(r["result"] is True for r in res.values()), res
    assert (
        "Nagios is not running; it loads them at start" in res["saltmesh-nagios-objects"]["comment"]
    )
    assert res["saltmesh-nagios-service"]["changes"], res  # started (and enabled) by Salt
    before = wait(lambda: (s := nagios_state(box))["active"] == "active" and s["pid"] and s,
                  what="nagios4 active")  # fmt: skip
    wait(lambda: "box-web01" in box.read("/var/lib/nagios4/objects.cache"), what="objects.cache")
    assert box.show("nagios4", "UnitFileState") == "enabled"
    assert box.exec("pgrep", "-u", "nagios", "-x", "nagios4", check=False).returncode == 0
    reloaded = reloads(box)

    # 2. one more host: validated, swapped in, `systemctl reload nagios4`, confirmed
    res = apply(box, _pillar("box-db01"))
    objects = res["saltmesh-nagios-objects"]
    assert objects["result"] is True, objects
    assert objects["changes"] == {"added": ["host box-db01"]}
    assert objects["comment"].endswith(f"reloaded Nagios (pid {before['pid']})"), objects
    assert res["saltmesh-nagios-service"]["changes"] == {}  # never restarted from there
    after = nagios_state(box)
    assert after == before  # same process, same start: a reload, not a restart
    assert reloads(box) == reloaded + 1  # systemd ran the unit's ExecReload
    assert "box-db01" in box.read("/var/lib/nagios4/objects.cache")

    # 3. Slack: the URL file is 0640 root:nagios, the nagios user reads it and posts
    stat = box.exec("stat", "-c", "%a %U %G", "/etc/nagios4/saltmesh-slack.url").stdout.split()
    assert stat == ["640", "root", "nagios"]
    assert box.exec("runuser", "-u", "nobody", "--", "cat", "/etc/nagios4/saltmesh-slack.url",
                    check=False).returncode != 0  # fmt: skip
    output = 'it\'s $(id) `id` "down"'
    box.exec("python3", "-c", (
        "import sys, time; open('/var/lib/nagios4/rw/nagios.cmd', 'w').write("
        "f'[{int(time.time())}] PROCESS_SERVICE_CHECK_RESULT;box-web01;App;2;{sys.argv[1]}\\n')"
    ), output)  # fmt: skip
    posts = wait(lambda: box.exec("cat", "/root/posts.jsonl", check=False).stdout, what="post")
    post = json.loads(posts.splitlines()[0])
    assert post["path"] == SECRET and post["json"]["channel"] == "#box"
    assert post["json"]["attachments"][0]["title"] == "PROBLEM: box-web01/App is CRITICAL"
    assert post["json"]["attachments"][0]["text"] == output
    for r in res.values():
        assert SECRET not in json.dumps(r)

    # 4. Nagios exits on a reload (a validator that says yes to everything let an undefined
    #    check command through): previous files back, nagios4 started again by the state
    files = box.exec("sh", "-c", "cd /etc/nagios4/conf.d/saltmesh && sha256sum *").stdout
    box.write("/usr/local/bin/nagios-v-says-ok", "#!/bin/sh\necho 'Total Errors:   0'\n", "0755")
    bad = _pillar("box-db01", binary="/usr/local/bin/nagios-v-says-ok")
    bad["servers"]["box-web01"]["services"]["App"]["check_command"] = "no_such_command"
    res = apply(box, bad)
    objects = res["saltmesh-nagios-objects"]
    assert objects["result"] is False and objects["changes"] == {}, objects
    now = nagios_state(box)
    assert now["active"] == "active" and now["pid"] not in (0, before["pid"]), now
    assert objects["comment"] == (
        f"Nagios (pid {before['pid']}) exited after the reload; previous files restored and "
        f"Nagios started again with them (pid {now['pid']})"
    ), objects["comment"]
    assert box.exec("sh", "-c", "cd /etc/nagios4/conf.d/saltmesh && sha256sum *").stdout == files
    cache = wait(lambda: (c := box.read("/var/lib/nagios4/objects.cache")) and "box-db01" in c and c,
                 what="objects.cache after the restart")  # fmt: skip
    assert "no_such_command" not in cache
    assert box.read("/etc/nagios4/conf.d/box-templates.cfg") == TEMPLATES  # hand-written: kept
