"""Reading what network tools print, strictly (a substring like "0% packet loss" would also
match "100% packet loss")."""

from __future__ import annotations

import re

_PING_SUMMARY = re.compile(r"(\d+) packets transmitted, (\d+) (?:packets )?received")


def received(ping_output: str) -> int:
    """Replies counted by ping's summary line (iputils or busybox); fails when there is none."""
    m = _PING_SUMMARY.search(ping_output)
    assert m, f"no ping summary in {ping_output!r}"
    return int(m.group(2))


def dpctl_rx_packets(dpctl_show: str, ports: tuple[str, ...]) -> int:
    """Sum of ``RX packets`` of the datapath ports named ``ports`` in ``dpctl/show -s``.

    Datapath counters of real netdevs are read live (OVSDB's Interface.statistics lag by up to
    5 s); the userspace datapath keeps none for its tunnel vports, so count the underlay port.
    """
    total, counting = 0, False
    for line in dpctl_show.splitlines():
        port = re.match(r"\s*port \d+: (\S+)", line)
        if port:
            counting = port.group(1) in ports
        elif counting and (rx := re.match(r"\s*RX packets:(\d+)", line)):
            total += int(rx.group(1))
    return total
