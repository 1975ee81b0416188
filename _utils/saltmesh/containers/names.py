"""Interface names of an attachment (pure): stable hashes of container + interface, never a PID.

Both fit ``IFNAMSIZ``: a 3-letter prefix and 12 hex digits of sha256("container/interface").
"""

from __future__ import annotations

import hashlib

from saltmesh.constants import IFNAMSIZ

HOST_PREFIX = "vsm"  # host side, an OVS port
PEER_PREFIX = "vsp"  # container side, until renamed to the declared interface


def _name(prefix: str, container: str, interface: str) -> str:
    digits = IFNAMSIZ - len(prefix)
    return prefix + hashlib.sha256(f"{container}/{interface}".encode()).hexdigest()[:digits]


def host_ifname(container: str, interface: str) -> str:
    """Host-side veth name: ``vsm`` + 12 hex of sha256(container/interface), 15 bytes."""
    return _name(HOST_PREFIX, container, interface)


def peer_ifname(container: str, interface: str) -> str:
    """Temporary container-side name, before the rename to ``interface``."""
    return _name(PEER_PREFIX, container, interface)
