"""Slack: the notification script Nagios runs, and the returner's job message."""

from __future__ import annotations

import importlib.util
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from saltmesh.errors import SaltmeshError
from saltmesh.nagios import webhook
from saltmesh.nagios.job_message import build_payload, summary
from tests.support.nagios import SlackRecorder

REPO = Path(__file__).resolve().parents[3]


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_slack_script_payload_colours():
    script = _load(REPO / "salt" / "nagios" / "files" / "slack_notify.py", "slack_notify")
    parser_args = [
        "--url-file", "/x", "--kind", "service", "--type", "PROBLEM", "--host", "web01",
        "--service", "HTTP", "--state", "CRITICAL", "--check-time", "5", "--channel", "#ops",
    ]  # fmt: skip
    ns = script.parse_args(parser_args)
    payload = script.build_payload(ns, "refused")
    att = payload["attachments"][0]
    assert att["color"] == "danger" and att["title"] == "PROBLEM: web01/HTTP is CRITICAL"
    assert (
        att["text"] == "refused" and att["fallback"] == "PROBLEM: web01/HTTP is CRITICAL: refused"
    )
    assert payload["channel"] == "#ops"
    for state, colour in (("OK", "good"), ("WARNING", "warning"), ("UP", "good")):
        ns.state = state
        assert script.build_payload(ns, "")["attachments"][0]["color"] == colour
    assert script.main(parser_args[:1] + ["/nonexistent"] + parser_args[2:]) == 2


def test_returner_payload():
    states = {
        "a": {"result": True, "changes": {}, "__id__": "a"},
        "b": {"result": True, "changes": {"x": 1}, "__id__": "b"},
    }
    ret = {"fun": "state.apply", "id": "web01", "jid": "1", "return": states, "success": True}
    att = build_payload(ret)["attachments"][0]
    assert att["color"] == "warning" and "2 states: 1 changed, 0 failed" in att["text"]
    states["c"] = {"result": False, "changes": {}, "__id__": "c"}
    att = build_payload(ret, "#ops")["attachments"][0]
    assert att["color"] == "danger" and "failed: c" in att["text"]
    plain = {"fun": "test.ping", "id": "m", "return": True, "success": True}
    assert build_payload(plain)["attachments"][0]["color"] == "good"


def test_job_message_summary_edges():
    long = {"fun": "cmd.run", "id": "m", "return": "x" * 600, "success": True}
    colour, lines = summary(long)
    assert colour == "good" and lines == ["x" * 500 + "..."]
    # a failed job is red even when its return looks harmless
    assert summary({"return": "oops", "success": False})[0] == "danger"
    assert summary({"return": "oops", "retcode": 2})[0] == "danger"
    states = {"a": {"result": True, "changes": {"x": 1}}}
    assert summary({"return": states, "retcode": 1})[0] == "danger"
    many = {f"s{i:02}": {"result": False, "changes": {}, "__id__": f"s{i:02}"} for i in range(12)}
    colour, lines = summary({"return": many, "success": False})
    assert lines[0] == "12 states: 0 changed, 12 failed"
    assert lines[1:] == [f"failed: s{i:02}" for i in range(10)]
    payload = build_payload({"return": {}, "success": True})
    assert payload["text"] == "Salt ? on ?" and "channel" not in payload
    assert payload["attachments"][0]["fields"] == [{"title": "jid", "value": "", "short": True}]


def test_webhook_posts_json():
    rec = SlackRecorder().start()
    try:
        webhook.post(rec.url, {"text": "hello"})
        post = rec.wait_for(lambda p: True, timeout=5)
        assert post == {"path": "/services/T000/B000/XXXX", "json": {"text": "hello"}}
    finally:
        rec.stop()


class _Refuse(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 (http.server API)
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(404)
        self.end_headers()
        self.wfile.write(b"no_team")

    def log_message(self, *args):
        pass


def test_webhook_errors_are_saltmesh_errors():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Refuse)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/services/x"
        with pytest.raises(SaltmeshError, match="^HTTP 404: no_team$"):
            webhook.post(url, {})
    finally:
        server.shutdown()
        server.server_close()
    with pytest.raises(SaltmeshError):  # nothing listens there any more
        webhook.post(url, {}, timeout=2)
