"""A multi-host lab on one machine: each simulated Docker host is a network namespace with its
own OVS (userspace datapath), joined by an underlay switch that lives in a namespace of its own.

Recipe (see the project notes on the OVS data plane): the underlay IP sits on an OVS bridge
``br-phy`` that holds the "physical" veth ``eth0``; an nft ingress drop on ``eth0`` keeps the
kernel's own IP stack off it; the underlay MTU leaves room for the tunnel headers.
"""

from __future__ import annotations

import contextlib
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.ovs import OvsInstance, run

UNDERLAY_MTU = 1600


def sh(*argv: str) -> str:
    return run(list(argv)).stdout


@dataclass
class Host:
    name: str
    index: int
    netns: str
    ovs: OvsInstance
    underlay_ip: str

    def ns(self, *argv: str, check: bool = True) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["ip", "netns", "exec", self.netns, *argv], capture_output=True, text=True, check=check
        )

    def ping(self, ip: str, count: int = 1) -> bool:
        """At least one of ``count`` echoes answered (sent 0.2 s apart, as root may)."""
        argv = ["ping", "-n", "-q", "-c", str(count), "-i", "0.2", "-W", "2", ip]
        return self.ns(*argv, check=False).returncode == 0

    def add_endpoint(self, bridge: str, ip: str, name: str = "ov0") -> None:
        """A foreign internal port on the overlay bridge carrying an overlay address."""
        self.ovs.vsctl(
            "--may-exist", "add-port", bridge, name, "--", "set", "Interface", name, "type=internal"
        )
        self.ns("sysctl", "-qw", f"net.ipv6.conf.{name}.disable_ipv6=1", check=False)
        self.ns("ip", "addr", "replace", ip, "dev", name)
        self.ns("ip", "link", "set", name, "up")


class Lab:
    def __init__(
        self,
        prefix: str,
        workdir: Path,
        count: int,
        subnet: str = "10.254.77",
        names: list[str] | None = None,
        ips: list[str] | None = None,
    ):
        """``count`` hosts named ``<prefix>h<i>`` with underlay ``<subnet>.<i>``/24, unless
        ``names`` and ``ips`` (addresses of one /24) are given."""
        self.prefix = prefix
        self.workdir = workdir
        self.switch = f"{prefix}-sw"
        names = names or [f"{prefix}h{i}" for i in range(1, count + 1)]
        ips = ips or [f"{subnet}.{i}" for i in range(1, count + 1)]
        self.hosts = [
            Host(
                name=names[i - 1],
                index=i,
                netns=f"{prefix}-h{i}",
                ovs=OvsInstance(workdir / f"h{i}", netns=f"{prefix}-h{i}"),
                underlay_ip=ips[i - 1],
            )
            for i in range(1, count + 1)
        ]

    def start(self, count: int | None = None) -> Lab:
        """The switch and the first ``count`` hosts (all by default); a later host joins with
        :meth:`start_host`."""
        sh("ip", "netns", "add", self.switch)
        sw = ["ip", "-n", self.switch]
        sh(*sw, "link", "set", "lo", "up")
        sh(*sw, "link", "add", "ul", "type", "bridge")
        sh(*sw, "link", "set", "ul", "up")
        for h in self.hosts[:count]:
            self.start_host(h)
        return self

    def start_host(self, h: Host) -> None:
        sh("ip", "netns", "add", h.netns)
        sh("ip", "-n", h.netns, "link", "set", "lo", "up")
        peer = f"{self.prefix}-p{h.index}"
        sh(
            "ip", "link", "add", "eth0", "netns", h.netns, "mtu", str(UNDERLAY_MTU), "type", "veth",
            "peer", "name", peer, "netns", self.switch, "mtu", str(UNDERLAY_MTU),
        )  # fmt: skip
        sh("ip", "-n", self.switch, "link", "set", peer, "master", "ul", "up")
        sh("ip", "-n", h.netns, "link", "set", "eth0", "up")
        table = f"{self.prefix}_ul"
        h.ns("nft", "add", "table", "netdev", table)
        h.ns(
            "nft", "add", "chain", "netdev", table, "in",
            '{ type filter hook ingress device "eth0" priority 0; policy drop; }',
        )  # fmt: skip
        h.ovs.start()
        mac = h.ns("cat", "/sys/class/net/eth0/address").stdout.strip()
        h.ovs.vsctl(
            "add-br", "br-phy", "--", "set", "bridge", "br-phy", "datapath_type=netdev",
            f"other_config:hwaddr={mac}", "--", "add-port", "br-phy", "eth0",
        )  # fmt: skip
        h.ns("ip", "addr", "add", f"{h.underlay_ip}/24", "dev", "br-phy")
        h.ns("ip", "link", "set", "br-phy", "up")

    def stop(self) -> None:
        for h in self.hosts:
            h.ovs.stop()
        for ns in [h.netns for h in self.hosts] + [self.switch]:
            with contextlib.suppress(subprocess.CalledProcessError):
                sh("ip", "netns", "del", ns)
