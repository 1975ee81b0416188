"""Fixtures for the container tests: a busybox image made with ``docker import`` and two
simulated Docker hosts, each a network namespace with its own OVS (userspace datapath).

The OVS instances live in namespaces because every userspace datapath creates a tap device
named ``ovs-netdev``: two netdev instances in the root namespace (for instance two test sessions
on one machine) fight over it. The states reach them with ``ovsdb=``/``netns=`` (the minion
options ``saltmesh:ovsdb``/``saltmesh:netns`` in production).
"""

from __future__ import annotations

import subprocess
import uuid
from dataclasses import dataclass

import pytest

from tests.support import docker as d
from tests.support.ovs import OvsInstance, have_ovs


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
