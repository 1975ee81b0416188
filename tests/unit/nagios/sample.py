"""A sample ``servers`` + ``saltmesh:nagios`` pillar and the render helpers of the pure tests."""

from __future__ import annotations

import random

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.nagios.build import build_objects
from saltmesh.nagios.objects import Known
from saltmesh.nagios.render import render_files
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
