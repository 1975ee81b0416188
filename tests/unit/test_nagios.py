"""Pure tests of the Nagios renderer, pre-checks, object diff and NRPE rendering (no daemons)."""

from __future__ import annotations

import copy
import itertools
import random

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.nagios.build import build_objects, explain_inventory_error
from saltmesh.nagios.nrpe import NRPE_HEADER, referenced_parents, render_nrpe
from saltmesh.nagios.objects import Known, parse_objects, scan_known
from saltmesh.nagios.render import HEADER, diff_objects, objects_of_files, render_files
from saltmesh.nagios.settings import parse_settings

KNOWN = Known(
    hosts={"handmade-gw": "/etc/nagios4/objects/localhost.cfg"},
    host_templates=frozenset({"linux-server", "generic-host"}),
    service_templates=frozenset({"generic-service", "local-service"}),
    contact_templates=frozenset({"generic-contact"}),
    hostgroups=frozenset({"linux-servers"}),
)


def pillar() -> dict:
    return {
        "saltmesh": {
            "nagios": {
                "servers": ["nagios01", "10.0.0.6"],
                "slack": {"webhook_url": "https://hooks.example/services/T/B/X", "channel": "#ops"},
                "nrpe": {"commands": {"check_load": "/usr/lib/nagios/plugins/check_load -r"}},
            }
        },
        "servers": {
            "nagios01": {"node_type": "server", "address": "10.0.0.5", "use": "linux-server"},
            "docker01": {
                "node_type": "docker_host",
                "address": "10.0.0.11",
                "use": ["linux-server"],
                "hostgroups": ["docker-hosts", "linux-servers"],
                "parents": "handmade-gw",
            },
            "web01": {
                "node_type": "container",
                "address": "192.168.77.11",
                "use": ["linux-server", "generic-host"],
                "parents": "docker01",
                "hostgroups": ["web", "containers", "web"],
                "services": {
                    "HTTP": {"check_command": "check_http", "contact_groups": "ops,admins"},
                    "Load": {"check_command": "check_nrpe!check_load", "use": "local-service"},
                },
            },
        },
    }


def render(data: dict, known: Known = KNOWN) -> dict[str, bytes]:
    settings = parse_settings(data)
    inv = inventory.parse(data, external_hosts=known.hosts)
    return render_files(build_objects(inv, settings, known))


def problems(data: dict, known: Known = KNOWN) -> list[tuple[str, str]]:
    with pytest.raises(PillarError) as err:
        render(data, known)
    return err.value.problems


def shuffle(value, rng: random.Random):
    if isinstance(value, dict):
        keys = list(value)
        rng.shuffle(keys)
        return {k: shuffle(value[k], rng) for k in keys}
    return value


def test_byte_stable_across_key_order():
    expected = render(pillar())
    for seed in range(20):
        assert render(shuffle(pillar(), random.Random(seed))) == expected


def test_canonical_output():
    files = render(pillar())
    assert sorted(files) == [
        "host_docker01.cfg",
        "host_nagios01.cfg",
        "host_web01.cfg",
        "hostgroups.cfg",
        "slack.cfg",
    ]
    web = files["host_web01.cfg"].decode()
    assert web.startswith(HEADER)
    assert web == (
        HEADER + "\n"
        "define host {\n"
        "    host_name                      web01\n"
        "    address                        192.168.77.11\n"
        "    contacts                       saltmesh-slack\n"
        "    hostgroups                     containers,web\n"
        "    parents                        docker01\n"
        "    use                            linux-server,generic-host\n"
        "}\n"
        "\n"
        "define service {\n"
        "    host_name                      web01\n"
        "    service_description            HTTP\n"
        "    check_command                  check_http\n"
        "    contact_groups                 admins,ops\n"
        "    contacts                       saltmesh-slack\n"
        "    use                            generic-service\n"
        "}\n"
        "\n"
        "define service {\n"
        "    host_name                      web01\n"
        "    service_description            Load\n"
        "    check_command                  check_nrpe!check_load\n"
        "    contacts                       saltmesh-slack\n"
        "    use                            local-service\n"
        "}\n"
    )
    for data in files.values():
        text = data.decode()
        assert text.endswith("}\n") and "\r" not in text
        assert all(line == line.rstrip() for line in text.splitlines())
    # hostgroups defined elsewhere (linux-servers) are referenced, not redefined
    groups = files["hostgroups.cfg"].decode()
    assert "hostgroup_name                 containers" in groups
    assert "linux-servers" not in groups


def test_use_order_is_kept():
    data = pillar()
    data["servers"]["web01"]["use"] = ["generic-host", "linux-server"]
    assert (
        b"use                            generic-host,linux-server"
        in render(data)["host_web01.cfg"]
    )


def test_no_slack_no_contacts():
    data = pillar()
    del data["saltmesh"]["nagios"]["slack"]
    files = render(data)
    assert "slack.cfg" not in files
    assert all(b"saltmesh-slack" not in d for d in files.values())


def test_slack_commands_keep_secret_out():
    text = render(pillar())["slack.cfg"].decode()
    assert "hooks.example" not in text
    assert "--url-file /etc/nagios4/saltmesh-slack.url" in text
    assert "--channel #ops" in text


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


def test_diff_objects_roundtrip():
    old = objects_of_files(render(pillar()))
    data = pillar()
    data["servers"]["web01"]["parents"] = "nagios01"
    data["servers"]["web01"]["node_type"] = "server"
    del data["servers"]["nagios01"]
    data["servers"]["web01"]["parents"] = "docker01"
    data["servers"]["db01"] = {"address": "10.0.0.20", "use": "linux-server"}
    data["servers"]["web01"]["address"] = "192.168.77.12"
    new = objects_of_files(render(data))
    changes = diff_objects(old, new)
    assert changes["added"] == ["host db01"]
    assert changes["removed"] == ["host nagios01"]
    assert changes["updated"] == {
        "host web01": {"address": {"old": "192.168.77.11", "new": "192.168.77.12"}}
    }
    assert diff_objects(old, old) == {}


def test_parse_objects_reads_templates_and_hosts():
    text = """
    # comment
    define host {
        name            linux-server ; a template
        register        0
    }
    define host{
        host_name   gw1
        use         linux-server
    }
    define hostgroup {
        hostgroup_name  edge
    }
    define service {
        name  svc-tpl
        register 0
    }
    """
    known = scan_known(parse_objects(text, "/etc/x.cfg"))
    assert known.host_templates == {"linux-server"}
    assert known.service_templates == {"svc-tpl"}
    assert dict(known.hosts) == {"gw1": "/etc/x.cfg"}
    assert known.hostgroups == {"edge"}


def test_settings_defaults_and_errors():
    s = parse_settings({})
    assert s.conf_dir == "/etc/nagios4/conf.d/saltmesh"
    assert s.reload == "systemd" and s.nrpe.include_dir == "/etc/nagios/nrpe.d"
    assert "webhook_url" not in s.as_dict()["slack"]
    bad = {
        "saltmesh": {
            "nagios": {
                "conf_dir": "relative/dir",
                "reload": "kill",
                "colour": 1,
                "slack": {"webhook_url": "ftp://x", "channel": "#a b"},
                "nrpe": {"commands": {"x]=y": "/bin/true", "ok": "a\nb"}, "file": "../x.cfg"},
            }
        }
    }
    with pytest.raises(PillarError) as err:
        parse_settings(bad)
    paths = {p for p, _ in err.value.problems}
    assert paths == {
        "saltmesh:nagios:conf_dir",
        "saltmesh:nagios:reload",
        "saltmesh:nagios:colour",
        "saltmesh:nagios:slack:webhook_url",
        "saltmesh:nagios:slack:channel",
        "saltmesh:nagios:nrpe:commands:x]=y",
        "saltmesh:nagios:nrpe:commands:ok",
        "saltmesh:nagios:nrpe:file",
    }


def test_nrpe_render_sorted_single_line():
    data = pillar()
    data["saltmesh"]["nagios"]["nrpe"]["allowed_hosts"] = ["::1", "10.0.0.5", "10.1.0.0/16"]
    inv = inventory.parse(data, external_hosts=referenced_parents(data))
    text = render_nrpe(inv, parse_settings(data)).decode()
    assert text == (
        NRPE_HEADER + "allowed_hosts=10.0.0.5,10.0.0.6,10.1.0.0/16,::1\n"
        "command[check_load]=/usr/lib/nagios/plugins/check_load -r\n"
    )
    for perm in itertools.permutations(["10.0.0.6", "nagios01"]):
        d2 = copy.deepcopy(data)
        d2["saltmesh"]["nagios"]["servers"] = list(perm)
        assert render_nrpe(inv, parse_settings(d2)).decode() == text


def test_nrpe_needs_ip_addresses():
    data = pillar()
    data["servers"]["nagios01"]["address"] = "nagios01.example.org"
    data["saltmesh"]["nagios"]["servers"] = ["nagios01", "nope"]
    inv = inventory.parse(data, external_hosts=["handmade-gw"])
    with pytest.raises(PillarError) as err:
        render_nrpe(inv, parse_settings(data))
    assert [p for p, _ in err.value.problems] == [
        "saltmesh:nagios:servers:0",
        "saltmesh:nagios:servers:1",
    ]
