"""Fixtures of the discovery labs: a module's tag (the prefix of what it creates) and image."""

from __future__ import annotations

import uuid

import pytest

from tests.support import docker as d


@pytest.fixture(scope="module")
def tag():
    return "smd" + uuid.uuid4().hex[:4]


@pytest.fixture(scope="module")
def image(tag, tmp_path_factory):
    if not d.have_docker():
        pytest.skip("dockerd or /bin/busybox (busybox-static) missing")
    ref = f"{tag}img/busybox:latest"
    d.import_image(d.rootfs_tar(tmp_path_factory.mktemp("img") / "rootfs.tar"), ref)
    yield ref
    d.remove_containers(tag)
    d.remove_images(f"{tag}img")
