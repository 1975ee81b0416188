"""The NRPE include file: one sorted allowed_hosts line, commands, diff, main-config checks."""

from __future__ import annotations

import copy
import itertools

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.nagios.nrpe import (
    NRPE_HEADER,
    check_nrpe_main,
    nrpe_diff,
    nrpe_path,
    referenced_parents,
    render_nrpe,
    render_pillar,
)
from saltmesh.nagios.objects import MainConfig
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
        "command[check_salt_minion]=/usr/lib/nagios/plugins/check_procs -c 1: "
        "--ereg-argument-array=/salt-minion\n"
        "command[check_users]=/usr/lib/nagios/plugins/check_users -w 5 -c 10\n"
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


def test_render_pillar_needs_no_nagios_parents():
    data = pillar()
    data["servers"]["docker01"]["parents"] = "only-in-nagios"  # defined in hand-written config
    assert referenced_parents(data) == {"only-in-nagios", "docker01"}
    text = render_pillar(parse_settings(data), data).decode()
    assert text.startswith(NRPE_HEADER)
    assert "allowed_hosts=10.0.0.5,10.0.0.6\n" in text
    data["servers"]["web01"]["address"] = "not an address"
    with pytest.raises(PillarError):
        render_pillar(parse_settings(data), data)


def test_nrpe_path():
    settings = parse_settings(
        {"saltmesh": {"nagios": {"nrpe": {"include_dir": "/n/", "file": "x.cfg"}}}}
    )
    assert nrpe_path(settings.nrpe) == "/n/x.cfg"


def _main(text: str) -> MainConfig:
    return MainConfig.parse("/etc/nagios/nrpe.cfg", text)


def test_check_nrpe_main():
    s = parse_settings({}).nrpe
    check_nrpe_main(_main("allowed_hosts=127.0.0.1\ninclude_dir=/etc/nagios/nrpe.d/\n"), s)
    check_nrpe_main(_main("include_dir=nrpe.d\n"), s)  # relative to nrpe.cfg
    with pytest.raises(SaltmeshError, match="has no include_dir=/etc/nagios/nrpe.d"):
        check_nrpe_main(_main("include_dir=/elsewhere\n"), s)
    with pytest.raises(SaltmeshError, match="sets allowed_hosts after include_dir"):
        check_nrpe_main(_main("include_dir=/etc/nagios/nrpe.d\nallowed_hosts=10.0.0.1\n"), s)
    # the last include_dir of our directory is the one that counts
    text = (
        "include_dir=/etc/nagios/nrpe.d\nallowed_hosts=10.0.0.1\ninclude_dir=/etc/nagios/nrpe.d\n"
    )
    check_nrpe_main(_main(text), s)
