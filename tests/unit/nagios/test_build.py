"""Pre-checks of the object builder: injection, illegal names, templates, parents, Slack."""

from __future__ import annotations

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.nagios.build import explain_inventory_error
from saltmesh.nagios.objects import Known
from tests.unit.nagios.sample import KNOWN, pillar, problems, render


def test_no_slack_no_contacts():
    data = pillar()
    del data["saltmesh"]["nagios"]["slack"]
    files = render(data)
    assert "slack.cfg" not in files
    assert all(b"saltmesh-slack" not in d for d in files.values())


def test_slack_commands_keep_secret_out():
    text = render(pillar())["slack.cfg"].decode()
    assert "hooks.example" not in text
    assert "'--url-file=/etc/nagios4/saltmesh-slack.url'" in text
    assert "'--channel=#ops'" in text


@pytest.mark.parametrize(
    "path,value,expect",
    [
        (("servers", "web01", "alias"), "a;b", "would end or inject"),
        (("servers", "web01", "alias"), "a#b", "would end or inject"),
        (("servers", "web01", "alias"), "a\\", "would end or inject"),
        (("servers", "web01", "alias"), "a\nuse evil", "line breaks"),
        (("servers", "web01", "services", "HTTP", "check_command"), "x;y", "would end or inject"),
        (("servers", "web01", "services", "HTTP", "notes"), "x\ty", "would end or inject"),
    ],
)
def test_injection_rejected(path, value, expect):
    data = pillar()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    found = problems(data)
    assert any(p == ":".join(path) and expect in m for p, m in found), found


def test_illegal_names_and_unknown_directives():
    data = pillar()
    data["servers"]["web01"]["services"]["Disk (root)"] = {"check_command": "x"}
    data["servers"]["web01"]["services"]["HTTP"]["parent"] = "x"
    data["servers"]["web01"]["services"]["HTTP"]["host_name"] = "other"
    found = dict(problems(data))
    assert "characters Nagios rejects: ()" in found["servers:web01:services:Disk (root)"]
    assert "'parent'" in found["servers:web01:services:HTTP:parent"]
    assert "reserved" in found["servers:web01:services:HTTP:host_name"]


def test_unknown_templates_parents_and_duplicates():
    data = pillar()
    data["servers"]["web01"]["use"] = ["linux-server", "nope"]
    data["servers"]["web01"]["services"]["HTTP"]["use"] = "nope-svc"
    data["servers"]["handmade-gw"] = {"address": "10.0.0.99"}
    found = dict(problems(data, Known(**{**KNOWN.__dict__, "hosts": {"handmade-gw": "/x.cfg"}})))
    assert found["servers:web01:use:1"] == "unknown host template 'nope'"
    assert found["servers:web01:services:HTTP:use"] == "unknown service template 'nope-svc'"
    assert "already defined in /x.cfg" in found["servers:handmade-gw"]
    data = pillar()
    data["servers"]["docker01"]["parents"] = "ghost"
    with pytest.raises(PillarError) as err:
        inventory.parse(data, external_hosts=KNOWN.hosts)
    assert ("servers:docker01:parents:0", "unknown parent 'ghost'") in err.value.problems


def test_cycles_and_self_parent():
    data = pillar()
    data["servers"]["nagios01"]["parents"] = "docker01"
    data["servers"]["docker01"]["parents"] = "nagios01"
    msgs = [m for _, m in problems(data)]
    assert any(m.startswith("parent cycle:") for m in msgs), msgs
    data = pillar()
    data["servers"]["nagios01"]["parents"] = "nagios01"
    assert ("servers:nagios01:parents:0", "'nagios01' cannot be its own parent") in problems(data)


def test_removed_docker_host_message():
    data = pillar()
    del data["servers"]["docker01"]
    with pytest.raises(PillarError) as err:
        inventory.parse(data, external_hosts=KNOWN.hosts)
    better = explain_inventory_error(err.value, ["docker01", "web01"], data)
    assert better.problems == [
        (
            "servers:web01:parents:0",
            "'docker01' is being removed from servers but the container 'web01' still has it "
            "as parent: move or remove 'web01' first",
        )
    ]
