"""Default checks: ``saltmesh:nagios:default_services`` on every host, the matching NRPE
commands, overrides per server and per command, and the checks of both."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.nagios import defaults
from saltmesh.nagios.build import build_objects
from saltmesh.nagios.nrpe import render_pillar
from saltmesh.nagios.render import diff_objects, objects_of_files
from saltmesh.nagios.settings import parse_settings
from tests.unit.nagios.sample import KNOWN, pillar, problems, render

EXAMPLE = Path(__file__).resolve().parents[3] / "pillar.example" / "nagios.sls"


def services(data: dict, illegal: str = "") -> dict[str, dict[str, str]]:
    """``{"host/description": directives}`` of the objects built from ``data``."""
    inv = inventory.parse(data, external_hosts=KNOWN.hosts)
    objects = build_objects(inv, parse_settings(data), KNOWN, illegal)
    return {o.name: dict(o.directives) for o in objects if o.kind == "service"}


def nrpe_commands(data: dict) -> dict[str, str]:
    text = render_pillar(parse_settings(data), data).decode()
    return dict(re.findall(r"^command\[([^\]]+)\]=(.*)$", text, re.M))


def test_one_copy_of_the_names_on_both_sides():
    """Each default service runs a default NRPE command, by the name defaults.py gives it."""
    commands = dict(defaults.NRPE_COMMANDS)
    assert sorted(commands) == [defaults.CHECK_SALT_MINION, defaults.CHECK_USERS]
    called = [dict(pairs)["check_command"] for _, pairs in defaults.SERVICES]
    assert called == [f"check_nrpe!{name}" for name in sorted(commands)]
    assert commands[defaults.CHECK_SALT_MINION] == (
        "/usr/lib/nagios/plugins/check_procs -c 1: --ereg-argument-array=/salt-minion"
    )
    assert commands[defaults.CHECK_USERS] == "/usr/lib/nagios/plugins/check_users -w 5 -c 10"
    s = parse_settings({})
    assert s.default_services == defaults.SERVICES
    assert s.nrpe.commands == defaults.NRPE_COMMANDS
    assert s.as_dict()["default_services"] == {
        "Salt minion": {"check_command": "check_nrpe!check_salt_minion"},
        "Users": {"check_command": "check_nrpe!check_users"},
    }


def test_pillar_example_shows_them_as_they_are():
    """The commented defaults in pillar.example/nagios.sls are the core's."""
    text = EXAMPLE.read_text()
    lines = text.splitlines()
    start = lines.index("    # default_services:")
    block = []
    for line in lines[start:]:
        if not line.startswith("    # "):
            break
        block.append(line[len("    # ") :])
    shown = yaml.safe_load("\n".join(block))
    assert shown == {"default_services": parse_settings({}).as_dict()["default_services"]}
    for name, line in defaults.NRPE_COMMANDS:
        assert f"      #   {name}: {line}\n" in text


def test_every_host_and_container_gets_them():
    found = services(pillar())
    for host in ("nagios01", "docker01", "web01"):  # a server, a docker host, a container
        assert found[f"{host}/Salt minion"] == {
            "host_name": host,
            "service_description": "Salt minion",
            "check_command": "check_nrpe!check_salt_minion",
            "contacts": "saltmesh-slack",
            "use": "generic-service",
        }
        assert found[f"{host}/Users"]["check_command"] == "check_nrpe!check_users"
    assert sorted(found) == sorted(
        [f"{h}/{d}" for h in ("nagios01", "docker01", "web01") for d in ("Salt minion", "Users")]
        + ["web01/HTTP", "web01/Load"]
    )
    assert nrpe_commands(pillar()) == {
        "check_load": "/usr/lib/nagios/plugins/check_load -r",
        **dict(defaults.NRPE_COMMANDS),
    }


def test_empty_mapping_or_null_turns_them_off():
    for value in ({}, None):
        data = pillar()
        data["saltmesh"]["nagios"]["default_services"] = value
        assert sorted(services(data)) == ["web01/HTTP", "web01/Load"]
        assert parse_settings(data).default_services == ()


def test_given_mapping_replaces_the_built_in_set():
    data = pillar()
    data["saltmesh"]["nagios"]["default_services"] = {
        "Disk /": {"check_command": "check_nrpe!check_root", "use": "local-service"},
        "Users": None,  # null: no such default
    }
    found = services(data)
    assert sorted(k for k in found if k.startswith("docker01/")) == ["docker01/Disk /"]
    assert found["docker01/Disk /"]["use"] == "local-service"
    # the NRPE side keeps its default commands: harmless, and a server may still call them
    assert set(dict(defaults.NRPE_COMMANDS)) <= set(nrpe_commands(data))


def test_a_server_replaces_or_leaves_out_a_default():
    data = pillar()
    web = data["servers"]["web01"]["services"]
    web["Users"] = {"check_command": "check_nrpe!check_users_strict", "notes": "shared box"}
    web["Salt minion"] = None  # opted out
    data["servers"]["docker01"]["services"] = {"Nope": None}  # null for no service: nothing
    found = services(data)
    assert "web01/Salt minion" not in found
    assert found["web01/Users"] == {  # the server's entry, not merged with the default
        "host_name": "web01",
        "service_description": "Users",
        "check_command": "check_nrpe!check_users_strict",
        "contacts": "saltmesh-slack",
        "notes": "shared box",
        "use": "generic-service",
    }
    assert "docker01/Nope" not in found and "docker01/Users" in found
    assert "nagios01/Salt minion" in found  # the others keep theirs


def test_a_changed_default_is_an_update_on_every_host():
    before = objects_of_files(render(pillar()))
    data = pillar()
    data["saltmesh"]["nagios"]["default_services"] = {
        "Salt minion": {"check_command": "check_nrpe!check_salt_minion"},
        "Users": {"check_command": "check_nrpe!check_users", "max_check_attempts": "5"},
    }
    changes = diff_objects(before, objects_of_files(render(data)))
    assert changes == {
        "updated": {
            f"service {h}/Users": {"max_check_attempts": {"old": None, "new": "5"}}
            for h in ("docker01", "nagios01", "web01")
        }
    }
    # the built-in set spelled out is the built-in set: nothing changes
    data["saltmesh"]["nagios"]["default_services"] = {
        desc: dict(pairs) for desc, pairs in defaults.SERVICES
    }
    assert render(data) == render(pillar())


def _settings_problems(default_services) -> dict[str, str]:
    data = pillar()
    data["saltmesh"]["nagios"]["default_services"] = default_services
    with pytest.raises(PillarError) as err:
        parse_settings(data)
    return dict(err.value.problems)


@pytest.mark.parametrize(
    "value,path,message",
    [
        (["Users"], "", "must be a mapping, got list"),
        ({"Users": "check_users"}, ":Users", "must be a mapping of directives (null leaves"),
        ({"Users": False}, ":Users", "got bool"),
        ({"Users": {"check_comand": "x"}}, ":Users:check_comand", "unknown or reserved"),
        ({"Users": {"host_name": "x"}}, ":Users:host_name", "unknown or reserved"),
        ({"Users": {"check_command": "x;y"}}, ":Users:check_command", "inject"),
        ({"Users": {"check_command": "x$(id)"}}, ":Users:check_command", "Nagios macro"),
        ({"Users": {"notes": "a\nb"}}, ":Users:notes", "line breaks"),
        ({"Users": {"max_check_attempts": [1]}}, ":Users:max_check_attempts", "a string or"),
        ({"Disk (root)": {"check_command": "x"}}, ":Disk (root)", "Nagios rejects: ()"),
        ({" Users": {"check_command": "x"}}, ": Users", "leading/trailing spaces"),
    ],
)
def test_bad_default_services_are_named_when_the_settings_are_read(value, path, message):
    found = _settings_problems(value)
    key = f"saltmesh:nagios:default_services{path}"
    assert key in found and message in found[key], found
    # so the NRPE state, which reads the same settings, refuses them before writing anything
    data = pillar()
    data["saltmesh"]["nagios"]["default_services"] = value
    with pytest.raises(PillarError, match=re.escape(key)):
        render_pillar(parse_settings(data), data)


def test_what_needs_the_nagios_config_is_named_once_by_the_builder():
    data = pillar()
    data["saltmesh"]["nagios"]["default_services"] = {
        "Users": {"check_command": "check_nrpe!check_users", "use": "no-such-template"},
        "Disk /": {"check_command": "check_nrpe!check_root"},
    }
    parse_settings(data)  # fine without the Nagios configuration
    found = problems(data)  # three hosts: the problem once, at the pillar key
    unknown = "unknown service template 'no-such-template'"
    assert found == [("saltmesh:nagios:default_services:Users:use", unknown)]
    inv = inventory.parse(data, external_hosts=KNOWN.hosts)
    del data["saltmesh"]["nagios"]["default_services"]["Users"]
    with pytest.raises(PillarError) as err:  # the main config's illegal_object_name_chars
        build_objects(inv, parse_settings(data), KNOWN, "/")
    assert [p for p, _ in err.value.problems] == ["saltmesh:nagios:default_services:Disk /"]


def test_a_server_entry_that_is_not_a_mapping_or_null():
    data = pillar()
    data["servers"]["web01"]["services"]["Users"] = False
    with pytest.raises(PillarError) as err:
        inventory.parse(data, external_hosts=KNOWN.hosts)
    assert err.value.problems == [
        (
            "servers:web01:services:Users",
            "must be a mapping of directives (null leaves it out), got bool",
        )
    ]


def test_nrpe_commands_of_the_same_name_win_and_null_drops_one():
    data = pillar()
    data["saltmesh"]["nagios"]["nrpe"]["commands"] = {
        "check_users": "/usr/lib/nagios/plugins/check_users -w 50 -c 100",
        "check_salt_minion": None,
        "check_gone": None,  # not defined anyway: nothing to drop
    }
    assert nrpe_commands(data) == {
        "check_users": "/usr/lib/nagios/plugins/check_users -w 50 -c 100"
    }
    data["saltmesh"]["nagios"]["nrpe"]["commands"] = {"check_users": ["x"], "check_x": ""}
    with pytest.raises(PillarError) as err:
        parse_settings(data)
    assert dict(err.value.problems) == {
        "saltmesh:nagios:nrpe:commands:check_users": (
            "must be a non-empty command line (or null to drop the command)"
        ),
        "saltmesh:nagios:nrpe:commands:check_x": (
            "must be a non-empty command line (or null to drop the command)"
        ),
    }
