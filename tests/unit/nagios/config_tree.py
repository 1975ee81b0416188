"""Pillar and plan helpers for tests on the throwaway config tree (the ``tree`` fixture)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from saltmesh.nagios import deploy
from saltmesh.nagios.settings import parse_settings

DEBIAN_OBJECTS = Path("/etc/nagios4/objects")
needs_nagios = pytest.mark.skipif(
    not (os.access("/usr/sbin/nagios4", os.X_OK) and DEBIAN_OBJECTS.is_dir()),
    reason="nagios4 not installed",
)


def pillar(tmp: Path, **servers) -> dict:
    return {
        "saltmesh": {
            "nagios": {
                "main_config": str(tmp / "nagios.cfg"),
                "conf_dir": str(tmp / "conf.d" / "saltmesh"),
                "reload": "none",
            }
        },
        "servers": servers
        or {
            "docker01": {"node_type": "docker_host", "address": "10.0.0.11", "parents": "gw"},
            "web01": {"node_type": "container", "address": "10.1.0.2", "parents": "docker01"},
        },
    }


def plan(data):
    return deploy.plan(parse_settings(data), data)
