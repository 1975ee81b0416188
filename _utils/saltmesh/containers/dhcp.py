"""``dhcp: true`` attachments (pure parts): the DHCP client run for a container, and its lease.

pipework ran ``udhcpc`` in the container's network namespace from the host side; so does
saltmesh, with the docker host's busybox (the container needs no DHCP client of its own):

    nsenter -t <pid> -n busybox udhcpc -f -q -n -i eth0 -t 5 -T 1 -s <script>

``-q`` quits once the lease is bound (without releasing it), ``-n`` fails when no server
answers after ``-t`` tries. The script (:data:`SCRIPT`) only prints what the lease says; the
attach code applies the address and default route itself with ``ip``, as for a static address,
so nothing else in the container is touched (no resolv.conf rewrite: Docker owns it). The
lease is not renewed: the server keeps the address for this MAC (its ``dhcp-host`` line is
static), and every re-attach (restart, move) asks again.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass

BUSYBOX = "busybox"
TRIES = 5  # DISCOVERs sent, one a second: a server on the bridge answers the first
MARK = "saltmesh-lease."

# udhcpc calls the script with the event as $1 and the lease in the environment
SCRIPT = f"""#!/bin/sh
[ "$1" = bound ] || [ "$1" = renew ] || exit 0
printf '{MARK}%s=%s\\n' ip "$ip" subnet "$subnet" mask "$mask" router "$router" \\
    dns "$dns" domain "$domain" lease "$lease"
"""


@dataclass(frozen=True)
class Lease:
    ip: ipaddress.IPv4Interface
    router: ipaddress.IPv4Address | None = None
    dns: tuple[str, ...] = ()
    domain: str | None = None


def busybox() -> str | None:
    """Path of the docker host's busybox (its udhcpc is the DHCP client), or None."""
    return shutil.which(BUSYBOX)


def client_argv(busybox_path: str, pid: int, interface: str, script: str) -> list[str]:
    """udhcpc in the network namespace of process ``pid``, on ``interface``, printing the lease."""
    return [
        "nsenter", "-t", str(pid), "-n",
        busybox_path, "udhcpc", "-f", "-q", "-n", "-i", interface,
        "-t", str(TRIES), "-T", "1", "-s", script,
    ]  # fmt: skip


def write_script(directory: str) -> str:
    """Write :data:`SCRIPT` into ``directory`` (private, executable); return its path."""
    path = os.path.join(directory, "udhcpc-lease.sh")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o700)
    with os.fdopen(fd, "w") as fh:
        fh.write(SCRIPT)
    return path


def parse_lease(output: str) -> Lease | None:
    """The lease udhcpc's script printed (the last one), or None when there is none."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        if line.startswith(MARK) and "=" in line:
            key, _, value = line[len(MARK) :].partition("=")
            found[key] = value.strip()
    if not found.get("ip"):
        return None
    prefix = found.get("mask") or ""
    if not prefix.isdigit():
        try:
            prefix = str(ipaddress.IPv4Network(f"0.0.0.0/{found.get('subnet')}").prefixlen)
        except ValueError:
            prefix = "32"
    try:
        ip = ipaddress.IPv4Interface(f"{found['ip']}/{prefix}")
    except ValueError:
        return None
    routers = (found.get("router") or "").split()
    router = None
    if routers:
        try:
            router = ipaddress.IPv4Address(routers[0])
        except ValueError:
            router = None
    return Lease(
        ip=ip,
        router=router,
        dns=tuple((found.get("dns") or "").split()),
        domain=found.get("domain") or None,
    )


def lease_batch(interface: str, lease: Lease, gateway: object = None) -> str:
    """The ``ip -batch -`` script applying ``lease`` (a declared ``gateway`` wins over the
    lease's router)."""
    lines = [f"addr replace {lease.ip} dev {interface}"]
    via = gateway if gateway is not None else lease.router
    if via is not None:
        lines.append(f"route replace default via {via} dev {interface}")
    return "\n".join(lines) + "\n"


def describe_failure(container: str, interface: str, bridge: str, output: str) -> str:
    """One line: no lease for this attachment, with the client's last words."""
    tail: Sequence[str] = [ln for ln in output.strip().splitlines() if ln][-1:]
    said = f" (udhcpc: {tail[0].strip()})" if tail else ""
    return (
        f"container {container} {interface}: no DHCP lease on bridge {bridge}; is the mesh's "
        f"DHCP server running there and does it know this MAC?{said}"
    )
