"""The loader boundary: every Nagios loader function answers Salt cleanly, whatever fails.

Execution functions answer a bad pillar with CommandExecutionError naming the pillar path
(Salt prints it as one message), ``apply``/``nrpe_apply`` and the states with ``result: False``
naming the path, the returner with False and one log line; none lets a traceback out.
"""

from __future__ import annotations

import logging
import os

import pytest
from salt.exceptions import CommandExecutionError

from saltmesh.nagios import job_message
from tests.support.nagios import SlackRecorder
from tests.unit.nagios import config_tree, sample
from tests.unit.nagios.test_loaders import load

pytestmark = pytest.mark.reliability

BAD_SETTINGS = {
    "saltmesh:nagios:reload": {"saltmesh": {"nagios": {"reload": "kill"}}},
    "saltmesh:nagios:nrpe:reload": {"saltmesh": {"nagios": {"nrpe": {"reload": "kill"}}}},
    "saltmesh:nagios:timeout": {"saltmesh": {"nagios": {"timeout": "soon"}}},
    "saltmesh:nagios": {"saltmesh": {"nagios": "everything"}},
    "saltmesh:nagios:slack:webhook_url": {"saltmesh": {"nagios": {"slack": {"webhook_url": 3}}}},
}
RAISING = ("settings", "render", "plan", "validate", "daemon", "nrpe_render")


def _no_traceback(text: str) -> None:
    assert "Traceback" not in text and 'File "' not in text, text


@pytest.mark.parametrize("path", sorted(BAD_SETTINGS))
def test_execution_functions_name_the_pillar_path(path):
    mod = load("_modules", "saltmesh_nagios", pillar=BAD_SETTINGS[path])
    for fun in RAISING:
        with pytest.raises(CommandExecutionError) as err:
            getattr(mod, fun)()
        assert f"  {path}: " in str(err.value), (fun, str(err.value))
        assert err.value.__cause__ is None and err.value.__suppress_context__
    for fun in ("apply", "nrpe_apply"):
        out = getattr(mod, fun)()
        assert out["result"] is False and out["changes"] == {}, (fun, out)
        assert out["comment"].startswith("Invalid pillar:\n") and f"  {path}: " in out["comment"]
        _no_traceback(out["comment"])
    invalid = mod.settings(quiet=True)
    assert list(invalid) == ["invalid"] and f"  {path}: " in invalid["invalid"]


def test_settings_quiet_gives_the_settings_when_valid():
    mod = load("_modules", "saltmesh_nagios", pillar=sample.pillar())
    assert mod.settings(quiet=True) == mod.settings()
    assert "webhook_url" not in mod.settings(quiet=True)["slack"]


@pytest.mark.parametrize(
    "state,function", [("nagios_objects", "apply"), ("nagios_nrpe", "nrpe_apply")]
)
@pytest.mark.parametrize("test", [False, True])
def test_states_fail_cleanly_on_a_bad_pillar(state, function, test):
    """The real execution module under the real state: a bad pillar is result False + path."""
    for path, data in BAD_SETTINGS.items():
        mod = load("_modules", "saltmesh_nagios", pillar=data)
        st = load("_states", state, salt={f"saltmesh_nagios.{function}": getattr(mod, function)})
        st.__opts__ = {"test": test}
        ret = st.managed("/etc/nagios4/conf.d/saltmesh")
        assert ret["result"] is False and ret["changes"] == {}, ret
        assert f"  {path}: " in ret["comment"], ret
        _no_traceback(ret["comment"])


@pytest.mark.parametrize(
    "state,function", [("nagios_objects", "apply"), ("nagios_nrpe", "nrpe_apply")]
)
def test_states_turn_any_exception_into_one_line(state, function, caplog):
    def raising(exc):
        def call(**_):
            raise exc

        return call

    cases = {
        CommandExecutionError("nagios4 -v: timed out after 60 s"): (
            "nagios4 -v: timed out after 60 s"
        ),
        KeyError("status_file"): "unexpected KeyError: 'status_file'",
        RuntimeError("boom"): "unexpected RuntimeError: boom",
    }
    for exc, comment in cases.items():
        st = load(
            "_states", state, salt={f"saltmesh_nagios.{function}": raising(exc)}, opts={"test": 0}
        )
        ret = st.managed("/x")
        assert ret == {"name": "/x", "result": False, "changes": {}, "comment": comment}
        assert not [r for r in caplog.records if r.levelno >= logging.INFO and r.exc_info]


@pytest.fixture
def recorder():
    rec = SlackRecorder().start()
    yield rec
    rec.stop()


def _returner(config: dict):
    return load("_returners", "saltmesh_slack", salt={"config.get": config.get})


def _error_lines(caplog) -> list[str]:
    records = [r for r in caplog.records if r.levelno >= logging.WARNING]
    for r in records:
        assert r.exc_info is None, r
        assert "\n" not in r.getMessage(), r.getMessage()
    return [r.getMessage() for r in records]


JOB = {"fun": "test.ping", "id": "m1", "jid": "42", "return": True, "success": True}


@pytest.mark.parametrize(
    "config,culprit",
    [
        ({"saltmesh:nagios:slack:webhook_url": "ftp://x/y"}, "saltmesh:nagios:slack:webhook_url"),
        ({"saltmesh:nagios:slack:webhook_url": ["x"]}, "saltmesh:nagios:slack:webhook_url"),
        (
            {
                "saltmesh:nagios:slack:webhook_url": "https://h/T/B/X",
                "saltmesh:nagios:slack:channel": "#a b",
            },
            "saltmesh:nagios:slack:channel",
        ),
    ],
)
def test_returner_bad_settings_are_one_line_naming_the_key(config, culprit, caplog):
    assert _returner(config).returner(dict(JOB)) is False
    lines = _error_lines(caplog)
    assert len(lines) == 1 and culprit in lines[0], lines
    assert "/T/B/X" not in lines[0]


def test_returner_refused_post_never_logs_the_url(caplog):
    rec = SlackRecorder().start()
    url = rec.url
    rec.stop()  # nothing listens: requests' own message would quote the whole URL
    assert _returner({"saltmesh:nagios:slack:webhook_url": url}).returner(dict(JOB)) is False
    lines = _error_lines(caplog)
    assert len(lines) == 1 and "ConnectionError posting to http://127.0.0.1:" in lines[0], lines
    assert "/services/" not in caplog.text


def test_returner_unexpected_error_is_one_line(recorder, caplog, monkeypatch):
    mod = _returner({"saltmesh:nagios:slack:webhook_url": recorder.url})

    def broken(*_):
        raise ZeroDivisionError("division by zero")

    monkeypatch.setattr(job_message, "build_payload", broken)
    assert mod.returner(dict(JOB)) is False
    assert _error_lines(caplog) == [
        "saltmesh_slack: unexpected ZeroDivisionError: division by zero"
    ]


@pytest.mark.parametrize("ret", [{}, {"return": None}, {"return": {"a": None}}, {"fun": 3}])
def test_returner_posts_odd_job_returns(recorder, ret, caplog):
    mod = _returner({"saltmesh:nagios:slack:webhook_url": recorder.url})
    assert mod.returner(ret) is True
    assert _error_lines(caplog) == []


def test_settings_check_sees_what_the_states_will_refuse(tree):
    """``settings(quiet=True, check=...)`` lets an SLS fail one state before it installs or
    writes anything: for nagios.running every servers entry, for nagios.nrpe the NRPE file."""
    data = config_tree.pillar(tree)
    data["servers"]["web01"]["alias"] = "$(touch /tmp/x)"
    data["saltmesh"]["nagios"]["servers"] = ["10.0.0.5"]
    mod = load("_modules", "saltmesh_nagios", pillar=data)
    assert "webhook_url" not in mod.settings(quiet=True)["slack"]  # settings alone: fine
    invalid = mod.settings(quiet=True, check="objects")["invalid"]
    assert "\n  servers:web01:alias: " in invalid
    assert "invalid" not in mod.settings(quiet=True, check="nrpe")  # NRPE needs no alias
    data["saltmesh"]["nagios"]["servers"] = []  # NRPE cannot allow anybody
    assert "\n  saltmesh:nagios:servers: " in mod.settings(quiet=True, check="nrpe")["invalid"]
    # a Nagios configuration that cannot be read yet (nagios4 not installed): no verdict here,
    # the state will give one
    data["saltmesh"]["nagios"]["main_config"] = str(tree / "missing.cfg")
    assert "invalid" not in mod.settings(quiet=True, check="objects")
    with pytest.raises(CommandExecutionError, match="check must be objects or nrpe"):
        mod.settings(quiet=True, check="everything")
    assert os.listdir(tree / "conf.d" / "saltmesh") == []
    assert not (tree / "conf.d" / ".saltmesh.lock").exists()
