"""Slack: the notification script Nagios runs, and the returner's job message."""

from __future__ import annotations

import importlib.util
from pathlib import Path

from saltmesh.nagios.job_message import build_payload

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
