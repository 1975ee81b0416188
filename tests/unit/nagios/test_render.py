"""Canonical rendering (byte-stable over key orders) and the object diff."""

from __future__ import annotations

import random

from saltmesh.nagios.render import HEADER, diff_objects, objects_of_files
from tests.unit.nagios.sample import pillar, render, shuffle


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
        # the default services (saltmesh:nagios:default_services absent)
        "\n"
        "define service {\n"
        "    host_name                      web01\n"
        "    service_description            Salt minion\n"
        "    check_command                  check_nrpe!check_salt_minion\n"
        "    contacts                       saltmesh-slack\n"
        "    use                            generic-service\n"
        "}\n"
        "\n"
        "define service {\n"
        "    host_name                      web01\n"
        "    service_description            Users\n"
        "    check_command                  check_nrpe!check_users\n"
        "    contacts                       saltmesh-slack\n"
        "    use                            generic-service\n"
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
    assert changes["added"] == ["host db01", "service db01/Salt minion", "service db01/Users"]
    assert changes["removed"] == [
        "host nagios01",
        "service nagios01/Salt minion",
        "service nagios01/Users",
    ]
    assert changes["updated"] == {
        "host web01": {"address": {"old": "192.168.77.11", "new": "192.168.77.12"}}
    }
    assert diff_objects(old, old) == {}
