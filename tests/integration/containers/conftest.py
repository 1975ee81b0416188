"""Fixtures for the container tests: a busybox image made with ``docker import`` and two
simulated Docker hosts, each a network namespace with its own OVS (userspace datapath).

The OVS instances live in namespaces because every userspace datapath creates a tap device
named ``ovs-netdev``: two netdev instances in the root namespace (for instance two test sessions
on one machine) fight over it. The states reach them with ``ovsdb=``/``netns=`` (the minion
options ``saltmesh:ovsdb``/``saltmesh:netns`` in production).
"""

from __future__ import annotations

import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support import docker as d
from tests.support.ovs import OvsInstance, have_ovs

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="session")
def docker_ok():
    if not d.have_docker():
        pytest.skip("dockerd or /bin/busybox (busybox-static) missing")


@pytest.fixture(scope="session")
def image_prefix() -> str:
    return "smtimg" + uuid.uuid4().hex[:6]


@pytest.fixture(scope="session")
def rootfs(tmp_path_factory, docker_ok):
    return d.rootfs_tar(tmp_path_factory.mktemp("img") / "busybox-rootfs.tar")


@pytest.fixture(scope="session")
def busybox(rootfs, image_prefix):
    """Reference of the imported test image; removed with every image of the prefix."""
    ref = f"{image_prefix}/busybox:latest"
    d.import_image(rootfs, ref)
    yield ref
    d.remove_images(image_prefix)


@dataclass
class DockerHost:
    name: str  # netns name, also used as the docker host name in the servers pillar
    ovs: OvsInstance

    @property
    def kw(self) -> dict[str, str]:
        """State arguments pointing the states at this host's OVS."""
        return {"ovsdb": self.ovs.db, "netns": self.name}


@pytest.fixture(scope="session")
def docker_hosts(tmp_path_factory, docker_ok):
    if not have_ovs():
        pytest.skip("Open vSwitch binaries not installed")
    tag = uuid.uuid4().hex[:5]
    hosts = []
    try:
        for letter in "ab":
            ns = f"smtd{tag}{letter}"
            subprocess.run(["ip", "netns", "add", ns], check=True)
            subprocess.run(["ip", "-n", ns, "link", "set", "lo", "up"], check=True)
            inst = OvsInstance(tmp_path_factory.mktemp(f"ovs-{letter}"), netns=ns)
            hosts.append(DockerHost(ns, inst))
            inst.start()
        yield hosts
    finally:
        for host in hosts:
            host.ovs.stop()
            subprocess.run(["ip", "netns", "del", host.name], check=False)


@pytest.fixture
def bridge(docker_hosts, prefix):
    """A netdev bridge named ``<prefix>br`` on both simulated hosts; removed afterwards."""
    name = f"{prefix}br"
    for host in docker_hosts:
        host.ovs.vsctl("add-br", name, "--", "set", "bridge", name, "datapath_type=netdev")
    yield name
    for host in docker_hosts:
        host.ovs.vsctl("--if-exists", "del-br", name)


@pytest.fixture(autouse=True)
def _cleanup(prefix, docker_ok):
    yield
    d.remove_containers(prefix)


# --------------------------------------------------------------------------- ownership seeds


@dataclass
class Seeds:
    """Foreign objects seeded before the container suite; every state and prune must spare them.

    Containers without the saltmesh labels (or with only ``saltmesh.host``, or with
    ``saltmesh.managed=false``), and OVS ports that are not ours: a plain port, an ovs-docker
    port (``container_id``/``container_iface``) and a mesh tunnel's (``saltmesh-mesh``).
    """

    containers: list[tuple[str | None, str, str]]  # (engine url, name, id)
    ports: list[tuple[OvsInstance, str, dict]]  # (OVS, port, external_ids)

    def add_container(
        self, name: str, labels: dict[str, str], host: str | None = None, restart: str = "no"
    ) -> None:
        args = ["run", "-d", "--name", name, "--network", "none", "--restart", restart]
        for key, value in labels.items():
            args += ["--label", f"{key}={value}"]
        cid = d.docker(*args, IMAGE_OF[host], *d.SLEEPER, host=host).strip()
        self.containers.append((host, name, cid))

    def missing(self, patience: float = 30) -> list[str]:
        """What is gone or changed (empty: every seed survived).

        A seed on the private dockerd comes back by its restart policy after a dockerd restart
        (a fault test, not a state): it gets ``patience`` seconds to be running again.
        """
        deadline = time.time() + patience
        while True:
            lost = self._missing()
            if not lost or time.time() > deadline:
                return lost
            time.sleep(1)

    def _missing(self) -> list[str]:
        lost = []
        for host, name, cid in self.containers:
            info = d.inspect(name, host)
            if info is None or info["Id"] != cid or not info["State"]["Running"]:
                lost.append(f"container {name}")
        for ovs, port, ext in self.ports:
            rows = [r for r in ovs.table("Port", "name", "external_ids") if r["name"] == port]
            if not rows or dict(rows[0]["external_ids"][1]) != ext:
                lost.append(f"port {port} on {ovs.netns}")
        return lost


IMAGE_OF: dict[str | None, str] = {}  # engine url -> the busybox reference imported there


@pytest.fixture(scope="session")
def seeds(docker_hosts, busybox):
    tag = uuid.uuid4().hex[:6]
    IMAGE_OF[None] = busybox
    out = Seeds([], [])
    hosts = [h.name for h in docker_hosts]
    try:
        out.add_container(f"smtfor{tag}plain", {})
        out.add_container(f"smtfor{tag}hostlbl", {"saltmesh.host": hosts[0]})
        out.add_container(
            f"smtfor{tag}off", {"saltmesh.managed": "false", "saltmesh.host": hosts[1]}
        )
        for host in docker_hosts:
            br = f"smtfb{tag}"
            kinds = {
                f"smtfp{tag}a": {},
                f"smtfp{tag}d": {"container_id": f"smtfor{tag}plain", "container_iface": "eth0"},
                f"smtfp{tag}m": {"saltmesh-mesh": br, "saltmesh-peer": "elsewhere"},
            }
            args = ["add-br", br, "--", "set", "bridge", br, "datapath_type=netdev"]
            for port, ext in kinds.items():
                args += [
                    "--",
                    "add-port",
                    br,
                    port,
                    "--",
                    "set",
                    "Interface",
                    port,
                    "type=internal",
                ]
                for key, value in ext.items():
                    args += ["--", "set", "Port", port, f"external_ids:{key}={value}"]
                out.ports.append((host.ovs, port, ext))
            host.ovs.vsctl(*args)
        yield out
        assert out.missing() == [], "foreign objects did not survive the container suite"
    finally:
        for host, name, _ in out.containers:
            d.docker("rm", "-f", name, check=False, host=host)
        for host in docker_hosts:
            host.ovs.vsctl("--if-exists", "del-br", f"smtfb{tag}")


@pytest.fixture(autouse=True)
def _foreign_objects_survive(seeds):
    """After every container test: the foreign seeds are still there, unchanged."""
    yield
    assert seeds.missing() == [], "a test removed or changed a foreign container or port"


# --------------------------------------------------------------------------- a private dockerd


@pytest.fixture(scope="session")
def private_dockerd(tmp_path_factory, docker_ok, rootfs, busybox, seeds):
    """A second dockerd (own data root, sockets, netns) that fault tests may restart at will."""
    if not (shutil.which("dockerd") and shutil.which("nsenter")):
        pytest.skip("dockerd or nsenter missing")
    had_docker0 = Path("/sys/class/net/docker0").exists()
    dockerd = d.PrivateDockerd("smtpd" + uuid.uuid4().hex[:6], tmp_path_factory.mktemp("dockerd"))
    try:
        dockerd.start()
        d.import_image(rootfs, busybox, host=dockerd.url)
        IMAGE_OF[dockerd.url] = busybox
        seeds.add_container(f"smtfor{uuid.uuid4().hex[:6]}pd", {}, dockerd.url, "always")
        yield dockerd
    finally:
        if dockerd.proc is not None and dockerd.proc.poll() is None:
            lost = seeds.missing()
            seeds.containers = [c for c in seeds.containers if c[0] != dockerd.url]
        else:
            lost = []
        dockerd.destroy()
    assert not had_docker0 or Path("/sys/class/net/docker0").exists(), "docker0 was removed"
    assert lost == []


@pytest.fixture
def dockerd_b(private_dockerd):
    """The private dockerd, running (a fault test may have left it stopped)."""
    if private_dockerd.proc is None or private_dockerd.proc.poll() is not None:
        private_dockerd.start()
    yield private_dockerd
    if private_dockerd.proc is None or private_dockerd.proc.poll() is not None:
        private_dockerd.start()


class Probe:
    """The SLS the engine of ``minion_b`` runs: idle, or the containers SLS (and a pause)."""

    def __init__(self, root: Path, name: str):
        self.name = name
        self.path = root / f"{name}.sls"
        self.idle()

    def idle(self) -> None:
        self.path.write_text("smt-probe-idle:\n  test.nop\n")

    def containers(self, pause: float = 0) -> None:
        text = "include:\n  - containers\n"
        if pause:  # no shell; Salt 3008.3's cmd.run state refuses python_shell
            text += f"smt-probe-pause:\n  module.run:\n    - test.sleep:\n      - length: {pause}\n"
        self.path.write_text(text)


@pytest.fixture(scope="session")
def probe(state_tree):
    p = Probe(state_tree, "smtprobe" + uuid.uuid4().hex[:6])
    yield p
    p.path.unlink()


ENGINE_COOLDOWN = 12.0


@pytest.fixture(scope="session")
def minion_b(salt_master, salt_cli, docker_hosts, private_dockerd, probe):
    """Docker host B: a second minion on the private dockerd and host B's OVS, with the engine
    (which runs the ``probe`` SLS: idle unless a test says otherwise)."""
    host_b = docker_hosts[1]
    config = {
        "saltmesh": {
            "docker_url": private_dockerd.url,
            "ovsdb": host_b.ovs.db,
            "netns": host_b.name,
        },
        "engines": [
            {
                "saltmesh_containers": {
                    "interval": 3600,
                    "cooldown": ENGINE_COOLDOWN,
                    "sls": probe.name,
                }
            }
        ],
        "engines_dirs": [str(REPO / "_engines")],
    }
    factory = salt_master.salt_minion_daemon("smt-b-" + uuid.uuid4().hex[:6], overrides=config)
    with factory.started():
        ret = salt_cli.run("saltutil.sync_all", minion_tgt=factory.id)
        assert ret.returncode == 0, ret
        yield factory
