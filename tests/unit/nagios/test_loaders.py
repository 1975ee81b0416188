"""The Nagios loader modules only translate: dunders in, core calls, Salt-shaped results out.

Each module is loaded from its file with the dunders Salt would inject set by hand.
"""

from __future__ import annotations

import importlib.util
import inspect
from pathlib import Path

import pytest
from salt.exceptions import CommandExecutionError

from saltmesh.nagios import deploy
from saltmesh.nagios.settings import parse_settings
from tests.support.nagios import SlackRecorder
from tests.unit.nagios import sample
from tests.unit.nagios.config_tree import pillar

REPO = Path(__file__).resolve().parents[3]


def load(folder: str, name: str, **dunders):
    spec = importlib.util.spec_from_file_location(
        f"loader_{folder}_{name}", REPO / folder / f"{name}.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    for key, value in dunders.items():
        setattr(module, f"__{key}__", value)
    return module


def test_execution_module_settings_overrides_and_errors():
    mod = load("_modules", "saltmesh_nagios", pillar={"saltmesh": {"nagios": {"reload": "signal"}}})
    assert mod.__virtual__() == "saltmesh_nagios"
    out = mod.settings(conf_dir="/srv/nagios/saltmesh", __pub_fun="saltmesh_nagios.settings")
    assert out["conf_dir"] == "/srv/nagios/saltmesh" and out["reload"] == "signal"
    mod.__pillar__ = {"saltmesh": {"nagios": {"reload": "kill"}}}
    with pytest.raises(CommandExecutionError, match="saltmesh:nagios:reload"):
        mod.settings()
    out = mod.apply()  # apply answers every failure with result False (states rely on it)
    assert out["result"] is False and "saltmesh:nagios:reload" in out["comment"]


def test_execution_module_plan_render_apply(tree):
    data = pillar(tree)
    mod = load("_modules", "saltmesh_nagios", pillar=data)
    p = deploy.plan(parse_settings(data), data)
    assert mod.plan() == p.summary()
    assert mod.render() == p.texts()
    # a pre-check failure is a failed result, not an exception
    out = mod.apply(main_config=str(tree / "missing.cfg"))
    assert out == {
        "result": False,
        "changes": {},
        "comment": f"cannot read Nagios main config {tree}/missing.cfg: No such file or directory",
        "validator": [],
    }
    with pytest.raises(CommandExecutionError, match="cannot read Nagios main config"):
        mod.plan(main_config=str(tree / "missing.cfg"))


def test_execution_module_nrpe_render():
    mod = load("_modules", "saltmesh_nagios", pillar=sample.pillar())
    assert "allowed_hosts=10.0.0.5,10.0.0.6\n" in mod.nrpe_render()
    data = sample.pillar()
    data["saltmesh"]["nagios"]["servers"] = []
    mod.__pillar__ = data
    with pytest.raises(CommandExecutionError, match="list the Nagios servers"):
        mod.nrpe_render()


@pytest.mark.parametrize(
    "state,function", [("nagios_objects", "apply"), ("nagios_nrpe", "nrpe_apply")]
)
def test_states_return_what_the_module_decided(state, function):
    calls = []

    def fake(**kwargs):
        calls.append(kwargs)
        return outcome

    mod = load("_states", state, salt={f"saltmesh_nagios.{function}": fake}, opts={"test": True})
    assert mod.__virtual__() == state
    outcome = {
        "result": None,
        "changes": {"added": ["host a"]},
        "comment": "Would",
        "validator": [],
    }
    assert mod.managed("/x") == {
        "name": "/x",
        "result": None,
        "changes": {"added": ["host a"]},
        "comment": "Would",
    }
    assert calls[-1]["test"] is True
    mod.__opts__ = {"test": False}
    outcome = {"result": False, "changes": {}, "comment": "nagios -v rejected", "validator": []}
    assert mod.managed("/x") == {
        "name": "/x",
        "result": False,
        "changes": {},
        "comment": "nagios -v rejected",
    }
    assert calls[-1]["test"] is False
    mod.__salt__ = {}
    assert mod.__virtual__() == (False, "the saltmesh_nagios execution module is not available")


def test_objects_state_passes_its_arguments_as_overrides():
    seen = {}

    def fake(**kwargs):
        seen.update(kwargs)
        return {"result": True, "changes": {}, "comment": "current", "validator": []}

    mod = load(
        "_states", "nagios_objects", salt={"saltmesh_nagios.apply": fake}, opts={"test": False}
    )
    assert mod.managed("/etc/nagios4/conf.d/saltmesh", reload="signal")["result"] is True
    assert seen == {
        "test": False,
        "conf_dir": "/etc/nagios4/conf.d/saltmesh",
        "main_config": None,
        "binary": None,
        "reload": "signal",
        "service": None,
        "pid_file": None,
    }


def test_returner_posts_and_reports_failures():
    rec = SlackRecorder().start()
    config = {"saltmesh:nagios:slack:webhook_url": rec.url, "saltmesh:nagios:slack:channel": "#ops"}
    mod = load("_returners", "saltmesh_slack", salt={"config.get": config.get})
    try:
        assert mod.__virtual__() == "saltmesh_slack"
        ret = {"fun": "test.ping", "id": "m1", "jid": "42", "return": True, "success": True}
        assert mod.returner(ret) is True
        post = rec.wait_for(lambda p: True, timeout=5)
        assert post["json"]["channel"] == "#ops"
        assert post["json"]["text"] == "Salt test.ping on m1"
    finally:
        rec.stop()
    assert mod.returner(ret) is False  # nobody listens any more
    config.clear()
    assert mod.returner(ret) is False  # no webhook configured


def test_loader_modules_expose_only_their_public_functions():
    """Salt publishes every public function of a loader module: no core function leaks in."""

    def public(module):
        return sorted(
            n for n, v in vars(module).items() if not n.startswith("_") and inspect.isfunction(v)
        )

    assert public(load("_modules", "saltmesh_nagios")) == [
        "apply", "daemon", "nrpe_apply", "nrpe_render", "plan", "render", "settings", "validate",
    ]  # fmt: skip
    assert public(load("_states", "nagios_objects")) == ["managed"]
    assert public(load("_states", "nagios_nrpe")) == ["managed"]
    assert public(load("_returners", "saltmesh_slack")) == ["returner"]
