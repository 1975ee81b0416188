"""The test suite's own parsers: they must tell success from failure."""

import pytest

from tests.support.net import dpctl_rx_packets, received


@pytest.mark.parametrize(
    ("out", "count"),
    [
        ("2 packets transmitted, 2 packets received, 0% packet loss", 2),  # busybox
        ("2 packets transmitted, 0 packets received, 100% packet loss", 0),
        ("3 packets transmitted, 1 received, 66.6667% packet loss, time 2003ms", 1),  # iputils
        ("3 packets transmitted, 0 received, +3 errors, 100% packet loss", 0),
    ],
)
def test_received(out, count):
    assert received("PING x\n...\n" + out + "\n") == count


def test_received_without_summary_fails():
    with pytest.raises(AssertionError):
        received("ping: bad address 'x'")


def test_dpctl_rx_packets_sums_named_ports_only():
    out = """netdev@ovs-netdev:
  lookups: hit:10 missed:2 lost:0
  port 0: ovs-netdev (tap)
    RX packets:5 errors:0 dropped:0 overruns:0 frame:0
  port 1: eth0
    RX packets:120 errors:0 dropped:0 overruns:0 frame:0
  port 6: vxlan_sys_4789 (vxlan: packet_type=ptap)
    RX packets:120 errors:0 dropped:0 overruns:0 frame:0
    TX packets:7 errors:0 dropped:0 aborted:0 carrier:0
  port 2: eth1
    RX packets:3 errors:0 dropped:0 overruns:0 frame:0
  port 3: br-mesh (tap)
    RX packets:999 errors:0 dropped:0 overruns:0 frame:0
"""
    assert dpctl_rx_packets(out, ("eth0", "eth1")) == 123
    assert dpctl_rx_packets(out, ("eth0",)) == 120
