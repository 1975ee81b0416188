"""``saltmesh:nagios`` settings: defaults, every bad key named, overrides."""

from __future__ import annotations

import pytest

from saltmesh.errors import PillarError
from saltmesh.nagios import defaults
from saltmesh.nagios.settings import OVERRIDES, Settings, parse_settings, with_overrides


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


def test_with_overrides_sets_known_keys_on_a_copy():
    pillar = {"servers": {}, "saltmesh": {"nagios": {"reload": "signal", "group": "adm"}}}
    out = with_overrides(
        pillar, {"conf_dir": "/x/conf", "reload": None, "group": "root", "__pub_fun": "x"}
    )
    assert out["saltmesh"]["nagios"] == {"reload": "signal", "group": "adm", "conf_dir": "/x/conf"}
    assert out["servers"] is pillar["servers"]
    assert pillar["saltmesh"]["nagios"] == {"reload": "signal", "group": "adm"}  # untouched
    assert with_overrides({}, {"timeout": 5}) == {"saltmesh": {"nagios": {"timeout": 5}}}
    assert with_overrides(pillar, {}) == pillar
    assert set(OVERRIDES) <= set(Settings.__dataclass_fields__)
    assert parse_settings(with_overrides({}, {"timeout": 5})).timeout == 5


def test_paths_names_and_addresses_are_checked():
    data = {
        "saltmesh": {
            "nagios": {
                "pid_file": "run/nagios.pid",
                "service": "nagios 4",
                "servers": ["nagios01", "bad name"],
                "timeout": 0,
                "slack": {"username": "Nagios Bot", "url_file": "/etc/x y"},
                "nrpe": {"allowed_hosts": ["10.0.0.0/8", "10.1.2.3/33"], "reload": "kill"},
            }
        }
    }
    with pytest.raises(PillarError) as err:
        parse_settings(data)
    assert dict(err.value.problems) == {
        "saltmesh:nagios:pid_file": "'run/nagios.pid' must be an absolute path of [A-Za-z0-9_.+/-]",
        "saltmesh:nagios:service": "'nagios 4' is not a valid name",
        "saltmesh:nagios:servers:1": "'bad name' has characters that are not allowed",
        "saltmesh:nagios:timeout": "0 is out of range 1..3600",
        "saltmesh:nagios:slack:username": "'Nagios Bot' must be [A-Za-z0-9_.-]",
        "saltmesh:nagios:slack:url_file": "'/etc/x y' must be an absolute path of [A-Za-z0-9_.+/-]",
        "saltmesh:nagios:nrpe:allowed_hosts:1": "'10.1.2.3/33' is not an IP address or network",
        "saltmesh:nagios:nrpe:reload": "'kill' is not one of systemd, signal, none",
    }


def test_good_values_are_normalised():
    s = parse_settings(
        {
            "saltmesh": {
                "nagios": {
                    "conf_dir": "/etc/nagios4/conf.d/saltmesh/",
                    "main_config": "/etc/nagios4/nagios.cfg",  # the default, spelled out
                    "servers": "10.0.0.5",
                    "slack": {"webhook_url": "https://hooks.example/x", "channel": "@ops"},
                    "nrpe": {
                        "include_dir": "/etc/nagios/nrpe.d/",
                        "allowed_hosts": ["10.1.2.3/16"],
                        "commands": {"b": " /bin/b ", "a": "/bin/a"},
                    },
                }
            }
        }
    )
    assert s.conf_dir == "/etc/nagios4/conf.d/saltmesh"
    assert s.servers == ("10.0.0.5",)
    assert s.slack.enabled and s.slack.channel == "@ops"
    assert s.nrpe.include_dir == "/etc/nagios/nrpe.d"
    assert s.nrpe.allowed_hosts == ("10.1.0.0/16",)
    assert s.nrpe.commands == (("a", "/bin/a"), ("b", "/bin/b"), *defaults.NRPE_COMMANDS)
    plain = s.as_dict()
    assert plain["nrpe"]["commands"] == {
        "a": "/bin/a",
        "b": "/bin/b",
        **dict(defaults.NRPE_COMMANDS),
    }
    assert plain["slack"]["enabled"] is True and "webhook_url" not in plain["slack"]


def test_sections_must_be_mappings():
    with pytest.raises(PillarError) as err:
        parse_settings({"saltmesh": {"nagios": {"slack": "on", "nrpe": ["x"]}}})
    assert [p for p, _ in err.value.problems] == ["saltmesh:nagios:nrpe", "saltmesh:nagios:slack"]
    with pytest.raises(PillarError, match="saltmesh:nagios: must be a mapping"):
        parse_settings({"saltmesh": {"nagios": "yes"}})
