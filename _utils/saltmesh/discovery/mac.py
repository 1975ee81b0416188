"""A container's MAC address derived from its name, for networks that say ``dhcp: true``.

The MAC is the container's DHCP identity: the same name gives the same MAC on every host and
after every restart or move, so the DHCP server (which only answers MACs it has a
``dhcp-host=`` line for) hands out the same address. Derivation: the first five bytes of
SHA-256 over the UTF-8 name, behind ``02`` (locally administered, unicast; the first octet
is fixed so the result never collides with vendor MACs or multicast).
"""

from __future__ import annotations

import hashlib


def derived_mac(name: str) -> str:
    """``02:xx:xx:xx:xx:xx`` from ``name``; deterministic, lower case, colon separated.

    >>> derived_mac("db01")
    '02:21:c0:96:fb:3f'
    """
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return ":".join(f"{b:02x}" for b in (0x02, *digest[:5]))
