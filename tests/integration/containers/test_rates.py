"""Flow rates (``rate``/``burst`` of a container network) through a real master and minion,
real dockerd and a userspace-datapath OVS, measured with a real TCP transfer (iperf3 run in the
containers' network namespaces from the host)."""

from __future__ import annotations

import json
import shutil
import subprocess
import time

import pytest

from tests.integration.containers.test_placed import container, placed, servers
from tests.support import docker as d

pytestmark = pytest.mark.usefixtures("docker_ok")

RATE = 8000  # kbps: 8 Mbit/s
SECONDS = 5  # measured, after 2 s left out (the policer's burst, TCP's slow start)


def iperf(server: str, client: str, address: str, reverse: bool) -> float:
    """Mbit/s received in a TCP transfer from ``client`` to the iperf3 server in ``server``
    (``reverse``: the other way round); both run in the containers' netns from the host."""

    def ns(name: str) -> list[str]:
        return ["nsenter", "-t", str(d.inspect(name)["State"]["Pid"]), "-n", "iperf3"]

    srv = subprocess.Popen([*ns(server), "-s", "-1", "-p", "5201"], stdout=subprocess.DEVNULL)
    try:
        argv = [*ns(client), "-c", address, "-p", "5201", "-J", "-t", str(SECONDS), "-O", "2"]
        for _ in range(20):  # until the server listens
            out = subprocess.run(
                [*argv, *(["-R"] if reverse else [])], capture_output=True, text=True, timeout=60
            )
            if out.returncode == 0:
                break
            time.sleep(0.25)
        assert out.returncode == 0, out.stdout[-500:] + out.stderr
        return json.loads(out.stdout)["end"]["sum_received"]["bits_per_second"] / 1e6
    finally:
        srv.kill()
        srv.wait()


def our_qos(ovs) -> list[dict]:
    rows = ovs.table("QoS", "_uuid", "external_ids")
    return [r for r in rows if "saltmesh-container" in dict(r["external_ids"][1])]


def shaper(name: str) -> dict | None:
    """The tbf root qdisc on the container's eth0, as ``changes`` show it."""
    pid = str(d.inspect(name)["State"]["Pid"])
    out = subprocess.run(["nsenter", "-t", pid, "-n", "tc", "-j", "qdisc", "show", "dev", "eth0"],
                         capture_output=True, text=True, check=True).stdout  # fmt: skip
    tbf = [q for q in json.loads(out or "[]") if q["kind"] == "tbf" and q.get("root")]
    return (
        {"rate": tbf[0]["options"]["rate"] // 125, "burst": tbf[0]["options"]["burst"]}
        if tbf
        else None
    )


def policing(ovs, port: str) -> tuple[int, int]:
    got = ovs.vsctl("get", "Interface", port, "ingress_policing_rate", "ingress_policing_burst")
    rate, burst = got.split()
    return int(rate), int(burst)


def test_rate_limits_a_real_transfer_and_goes_away(
    salt_call_cli, salt_minion, pillar, busybox, prefix, bridge, docker_hosts
):
    if not shutil.which("iperf3"):
        pytest.skip("iperf3 missing (make system installs it)")
    host_a = docker_hosts[0]
    c1, c2 = f"{prefix}c1", f"{prefix}c2"

    def declare(**limits):
        one = container(busybox, host_a.name, "10.77.0.11/24", "02:77:00:00:00:11", bridge,
                        command=d.SLEEPER)  # fmt: skip
        one["container"]["networks"][0].update(limits)
        two = container(busybox, host_a.name, "10.77.0.12/24", "02:77:00:00:00:12", bridge,
                        command=d.SLEEPER)  # fmt: skip
        pillar.set(servers(salt_minion.id, docker_hosts, **{c1: one, c2: two}))

    def apply_twice(expected):
        pred = placed(salt_call_cli, host_a, test=True)
        assert pred["result"] is None and pred["changes"] == expected, pred
        ret = placed(salt_call_cli, host_a)
        assert ret["result"] is True and ret["changes"] == expected, ret
        again = placed(salt_call_cli, host_a)
        assert again["result"] is True and again["changes"] == {}, again

    declare(rate=RATE)
    ret = placed(salt_call_cli, host_a)
    assert ret["changes"][c1]["networks"]["eth0"]["new"]["rate"] == RATE
    assert placed(salt_call_cli, host_a)["changes"] == {}
    port = [r["name"] for r in host_a.ovs.table("Interface", "name", "external_ids")
            if dict(r["external_ids"][1]).get("saltmesh-container") == c1][0]  # fmt: skip
    assert policing(host_a.ovs, port) == (RATE, 0)
    (row,) = our_qos(host_a.ovs)
    port_uuid = host_a.ovs.vsctl("get", "Port", port, "_uuid").strip()

    first = shaper(c1)
    assert first is not None and first["rate"] == RATE and shaper(c2) is None

    # to the rate-limited container (the QoS row on its port) and from it (the shaper inside
    # it): within 20 % of the limit both ways
    to_c1 = iperf(c1, c2, "10.77.0.11", reverse=False)
    print(f"to the container, rate {RATE} kbps: {to_c1:.2f} Mbit/s")
    assert 0.8 * RATE / 1000 <= to_c1 <= 1.2 * RATE / 1000, to_c1
    from_c1 = iperf(c1, c2, "10.77.0.11", reverse=True)
    print(f"from the container, rate {RATE} kbps: {from_c1:.2f} Mbit/s")
    assert 0.8 * RATE / 1000 <= from_c1 <= 1.2 * RATE / 1000, from_c1

    # drift: policing set by hand is put back, a shaper deleted inside the container too; a
    # rate change is made in place
    host_a.ovs.vsctl("set", "Interface", port, "ingress_policing_rate=5")
    apply_twice({c1: {"networks": {"eth0": {"rate": {"old": {"ingress": 5, "egress": RATE},
                                                      "new": RATE}}}}})  # fmt: skip
    pid = str(d.inspect(c1)["State"]["Pid"])
    subprocess.run(["nsenter", "-t", pid, "-n", "tc", "qdisc", "del", "dev", "eth0", "root"],
                   check=True)  # fmt: skip
    apply_twice({c1: {"networks": {"eth0": {"shaper": {"old": None, "new": {
        "rate": RATE, "burst": RATE * 125 // 10}}}}}})  # fmt: skip
    before = shaper(c1)
    declare(rate=2 * RATE, burst=500)
    apply_twice({c1: {"networks": {"eth0": {
        "rate": {"old": RATE, "new": 2 * RATE}, "burst": {"old": None, "new": 500},
        "shaper": {"old": before, "new": {"rate": 2 * RATE, "burst": 500 * 125}}}}}})  # fmt: skip
    assert policing(host_a.ovs, port) == (2 * RATE, 500)
    assert host_a.ovs.vsctl("get", "Port", port, "_uuid").strip() == port_uuid, "not re-attached"
    assert [r["_uuid"] for r in our_qos(host_a.ovs)] == [row["_uuid"]], "the same QoS row"

    # rate removed: both limits gone, our QoS row destroyed, the transfer clearly faster
    before = shaper(c1)
    declare()
    apply_twice({c1: {"networks": {"eth0": {"rate": {"old": 2 * RATE, "new": None},
                                             "burst": {"old": 500, "new": None},
                                             "shaper": {"old": before, "new": None}}}}})  # fmt: skip
    assert shaper(c1) is None
    assert policing(host_a.ovs, port) == (0, 0)
    assert host_a.ovs.vsctl("get", "Port", port, "qos").strip() == "[]"
    assert our_qos(host_a.ovs) == []
    free = iperf(c1, c2, "10.77.0.11", reverse=False)
    print(f"to the container, no rate: {free:.2f} Mbit/s")
    assert free > 5 * RATE / 1000, free
    free = iperf(c1, c2, "10.77.0.11", reverse=True)
    print(f"from the container, no rate: {free:.2f} Mbit/s")
    assert free > 5 * RATE / 1000, free
