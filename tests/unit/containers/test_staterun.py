"""The engine's salt-call run: its command line and the reading of its JSON output."""

from __future__ import annotations

import json

import pytest

from saltmesh.containers import staterun
from saltmesh.errors import SaltmeshError


def test_argv():
    assert staterun.salt_call_argv("/opt/salt/bin/salt-call", "/etc/salt", "containers") == [
        "/opt/salt/bin/salt-call", "--config-dir", "/etc/salt", "--out", "json",
        "--log-level", "quiet", "state.sls", "containers", "queue=8",
    ]  # fmt: skip


def test_parse_states_and_notable():
    states = {
        "container_|-a_|-a_|-placed": {"result": True, "changes": {}, "comment": "as requested"},
        "container_|-b_|-b_|-placed": {"result": True, "changes": {"x": 1}, "comment": "changed"},
        "container_|-c_|-c_|-placed": {"result": False, "changes": {}, "comment": "boom"},
    }
    parsed = staterun.parse_states(json.dumps({"local": states}), "containers")
    assert parsed == states
    assert staterun.notable(parsed) == [(True, "changed"), (False, "boom")]


@pytest.mark.parametrize("stdout", ["", "not json", "[1]", '{"other": {}}', "null"])
def test_no_state_output(stdout):
    with pytest.raises(staterun.NoStateOutput):
        staterun.parse_states(stdout, "containers")


def test_sls_that_did_not_run():
    out = json.dumps({"local": ["No matching sls found for 'containers' in env 'base'"]})
    with pytest.raises(SaltmeshError, match=r"^state.sls containers: \[.No matching sls") as err:
        staterun.parse_states(out, "containers")
    assert not isinstance(err.value, staterun.NoStateOutput)


@pytest.mark.reliability
def test_a_queued_job_is_no_state_return():
    """Salt 3008 answers queue=True with a queueing note; it must not be read as states."""
    out = json.dumps({"local": {"result": True, "comment": "Job queued for execution",
                                "queued": True, "changes": {}}})  # fmt: skip
    with pytest.raises(SaltmeshError, match="^state.sls containers ran no states: Job queued"):
        staterun.parse_states(out, "containers")
