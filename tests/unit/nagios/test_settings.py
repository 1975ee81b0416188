"""``saltmesh:nagios`` settings: defaults, every bad key named, overrides."""

from __future__ import annotations

import pytest

from saltmesh.errors import PillarError
from saltmesh.nagios.settings import parse_settings


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
