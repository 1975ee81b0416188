"""Names on the overlay, end to end (issue 12's "done when"): on a two-host lab, each docker
host runs the mesh's own DNS server (``mesh_discovery.managed``, the state ``state.sls mesh``
and ``state.sls containers`` include), and a container on one host pings a container on the
other by name, ``<name>.<domain>`` and the bare name (the search domain the container gets by
default). The other discovery tests cover the server (test_dnsmasq) and DHCP and moves
(test_dhcp_lab); this one joins them: the pillar's servers, our dnsmasq, our containers.

Lab: two network namespaces from :class:`tests.support.lab.Lab` with a bridge joined by a VXLAN
tunnel (``protected=true``), built with ``ovs-vsctl``. The session's minion applies each
host's share with the state arguments ``host``, ``ovsdb`` and ``netns``, as the container tests
do.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
from pathlib import Path

import pytest

from tests.conftest import state_ret
from tests.integration.discovery.test_dhcp_lab import BR, box, lab_servers, placed
from tests.support import docker as d
from tests.support.lab import Lab
from tests.support.net import received
from tests.support.ovs import have_ovs

pytestmark = pytest.mark.reliability

SUBNET = "10.79.1"
DOMAIN = "mesh.internal"


@pytest.fixture(scope="module")
def lab(tag, tmp_path_factory):
    if not have_ovs() or not shutil.which("nft") or not shutil.which("dnsmasq"):
        pytest.skip("needs Open vSwitch, nftables and dnsmasq")
    lab = Lab(tag, tmp_path_factory.mktemp("nlab"), 2, subnet="10.254.81")
    # dnsmasq reads its hosts files as its own unprivileged user: not under pytest's 0700 tmp
    lab.files = Path(f"/tmp/{tag}-dns")  # type: ignore[attr-defined]
    lab.files.mkdir(mode=0o755)  # type: ignore[attr-defined]
    try:
        lab.start()
        a, b = lab.hosts
        for h, other in ((a, b), (b, a)):
            h.ovs.vsctl("add-br", BR, "--", "set", "bridge", BR, "datapath_type=netdev")
            h.ovs.vsctl(
                "add-port", BR, "vx", "--", "set", "Interface", "vx", "type=vxlan",
                f"options:remote_ip={other.underlay_ip}", "options:key=5081",
                "--", "set", "Port", "vx", "protected=true",
            )  # fmt: skip
            h.ns("ip", "link", "set", BR, "up")
        yield lab
    finally:
        for pid_file in lab.files.glob("run/*.pid"):  # type: ignore[attr-defined]
            with contextlib.suppress(ValueError, OSError):
                os.kill(int(pid_file.read_text().strip()), signal.SIGTERM)
        d.remove_containers(tag)
        lab.stop()
        shutil.rmtree(lab.files, ignore_errors=True)  # type: ignore[attr-defined]


def declare(pillar, minion, lab, containers) -> None:
    servers = lab_servers(lab, minion, SUBNET)
    files = lab.files  # type: ignore[attr-defined]
    saltmesh = {
        "mesh": {"bridge": BR, "domain": DOMAIN},
        "discovery": {"conf_dir": str(files / "etc"), "run_dir": str(files / "run")},
    }
    pillar.set({"servers": {**servers, **containers}, "saltmesh": saltmesh})


def discovery(cli, host) -> dict:
    """``mesh_discovery.managed`` for ``host``, with that host's OVS and namespace."""
    ret = cli.run(
        "state.single", "mesh_discovery.managed", name="discovery", host=host.name,
        ovsdb=host.ovs.db, netns=host.netns,
    )  # fmt: skip
    (one,) = state_ret(ret)
    assert one["result"] is True, one
    return one


def test_a_container_pings_one_on_another_host_by_name(
    salt_call_cli, salt_minion, pillar, image, lab, tag
):
    a, b = lab.hosts
    db, client = f"{tag}db", f"{tag}cl"
    declare(pillar, salt_minion, lab, {
        db: box(a, image, ip=f"{SUBNET}.21/24", mac="02:79:01:00:00:21"),
        client: box(b, image, ip=f"{SUBNET}.22/24", mac="02:79:01:00:00:22"),
    })  # fmt: skip

    for h in (a, b):
        started = discovery(salt_call_cli, h)
        assert started["changes"]["dnsmasq"] == {"old": "stopped", "new": "running"}, started
    assert placed(salt_call_cli, a)["changes"][db]["created"] == db
    assert placed(salt_call_cli, b)["changes"][client]["created"] == client

    # the client's resolver is its own host's server first; names cross the tunnel as packets
    for name in (f"{db}.{DOMAIN}", db):
        out = d.docker("exec", client, "ping", "-c", "2", "-W", "2", name, check=False)
        assert f"({SUBNET}.21)" in out and received(out) == 2, out
    # an unknown name of ours is not an address (the check above can fail)
    out = d.docker("exec", client, "sh", "-c", f"ping -c 1 -W 1 nosuch.{DOMAIN} 2>&1", check=False)
    assert f"bad address 'nosuch.{DOMAIN}'" in out, out

    for h in (a, b):
        assert discovery(salt_call_cli, h)["changes"] == {}
