"""Interface names of an attachment: stable, short, never the PID."""

from __future__ import annotations

import pytest

from saltmesh.constants import IFNAMSIZ
from saltmesh.containers import names


def test_names_are_stable_and_short():
    a = names.host_ifname("web01", "eth0")
    assert a == names.host_ifname("web01", "eth0") and len(a.encode()) == 15
    assert a != names.host_ifname("web01", "eth1") != names.host_ifname("web02", "eth0")
    assert names.peer_ifname("web01", "eth0")[3:] == a[3:]


@pytest.mark.parametrize("container", ["a", "a-very-long-container-name-" * 4, "ünï"])
def test_names_fit_ifnamsiz(container):
    for name in (names.host_ifname(container, "eth0"), names.peer_ifname(container, "eth0")):
        assert len(name.encode()) == IFNAMSIZ and name.isascii()
    assert names.host_ifname(container, "eth0").startswith("vsm")
    assert names.peer_ifname(container, "eth0").startswith("vsp")
