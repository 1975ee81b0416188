"""derived_mac: the DHCP identity of a ``dhcp: true`` container."""

from __future__ import annotations

import re

from saltmesh.discovery.mac import derived_mac


def test_derived_mac_is_stable_locally_administered_unicast():
    mac = derived_mac("db01")
    assert mac == "02:21:c0:96:fb:3f"  # pinned: the client side and old hosts must agree
    assert re.fullmatch(r"02(:[0-9a-f]{2}){5}", mac)
    first = int(mac[:2], 16)
    assert first & 0x02 and not first & 0x01  # locally administered, unicast


def test_derived_mac_differs_per_name():
    names = [f"app{i}" for i in range(2000)]
    assert len({derived_mac(n) for n in names}) == len(names)
