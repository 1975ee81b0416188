"""The NRPE include file: one sorted allowed_hosts line, commands, diff, main-config checks."""

from __future__ import annotations

import copy
import itertools

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.nagios.nrpe import NRPE_HEADER, nrpe_diff, referenced_parents, render_nrpe
from saltmesh.nagios.settings import parse_settings
from tests.unit.nagios.sample import pillar


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


def test_nrpe_diff_shapes():
    old = b"# h\nallowed_hosts=10.0.0.5\ncommand[a]=/bin/a\ncommand[b]=/bin/b\n"
    new = b"# h\nallowed_hosts=10.0.0.5,10.0.0.6\ncommand[a]=/bin/a -v\ncommand[c]=/bin/c\n"
    assert nrpe_diff(old, new) == {
        "allowed_hosts": {"old": "10.0.0.5", "new": "10.0.0.5,10.0.0.6"},
        "commands": {
            "added": ["c"],
            "removed": ["b"],
            "updated": {"a": {"command_line": {"old": "/bin/a", "new": "/bin/a -v"}}},
        },
    }
    assert nrpe_diff(new, new) == {}
