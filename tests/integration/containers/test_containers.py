"""container.* and image.* states against the real dockerd, through a real master and minion."""

from __future__ import annotations

import time

import pytest

from tests.conftest import state_ret
from tests.support import docker as d

pytestmark = pytest.mark.usefixtures("docker_ok")


def single(cli, fun, name, test=False, **kw):
    ret = cli.run("state.single", fun, name=name, test=test, **kw)
    assert ret.returncode in (0, 1), ret
    (one,) = state_ret(ret)
    return one


def test_image_present_from_rootfs_and_load(salt_call_cli, rootfs, image_prefix, tmp_path):
    ref = f"{image_prefix}/imp:1"
    first = single(salt_call_cli, "image.present", ref, test=True, rootfs=str(rootfs))
    assert first["result"] is None and first["changes"]["image_id"]["old"] is None
    assert d.inspect(ref) is None, "test=True must not import"
    ret = single(salt_call_cli, "image.present", ref, rootfs=str(rootfs))
    assert ret["result"] is True and set(ret["changes"]) == {"image_id"}
    image_id = ret["changes"]["image_id"]["new"]
    assert single(salt_call_cli, "image.present", ref, rootfs=str(rootfs))["changes"] == {}

    # docker save -> image.present load= under another name: same ID, then a no-op
    saved = tmp_path / "saved.tar"
    d.docker("save", "-o", str(saved), ref)
    loaded = f"{image_prefix}/loaded:1"
    pred = single(salt_call_cli, "image.present", loaded, test=True, load=str(saved))
    assert pred["result"] is None
    assert pred["changes"] == {"image_id": {"old": None, "new": image_id}}
    ret = single(salt_call_cli, "image.present", loaded, load=str(saved))
    assert ret["changes"] == {"image_id": {"old": None, "new": image_id}}
    assert single(salt_call_cli, "image.present", loaded, load=str(saved))["changes"] == {}

    ret = single(salt_call_cli, "image.absent", loaded)
    assert ret["changes"] == {"removed": {"old": image_id, "new": None}}
    assert single(salt_call_cli, "image.absent", loaded)["changes"] == {}


def test_image_pull_failure_is_a_clean_error(salt_call_cli, image_prefix):
    ret = single(salt_call_cli, "image.present", f"127.0.0.1:9/{image_prefix}/nope:1")
    assert ret["result"] is False
    assert "Docker engine" in ret["comment"] and "Traceback" not in ret["comment"]
    ret = single(salt_call_cli, "image.present", f"{image_prefix}/x:1", rootfs="salt://nope.tar")
    assert ret["result"] is False and "not found on the fileserver" in ret["comment"]


def test_running_create_noop_drift(salt_call_cli, busybox, prefix):
    name = f"{prefix}c1"
    # state.single drops a top-level ``env`` (legacy saltenv); ``environment`` is the alias
    spec = {"image": busybox, "command": d.SLEEPER, "environment": {"ROLE": "web"}, "memory": "64m"}

    t0 = time.time()
    pred = single(salt_call_cli, "container.running", name, test=True, **spec)
    assert pred["result"] is None and pred["changes"] == {"created": name}
    assert d.containers(prefix) == [], "test=True must not create anything"
    assert d.events(t0, prefix) == [], "no temporary container, even in test mode"

    ret = single(salt_call_cli, "container.running", name, **spec)
    assert ret["result"] is True and ret["changes"] == {"created": name}
    info = d.inspect(name)
    assert info["State"]["Running"] and info["Config"]["Labels"]["saltmesh.managed"] == "true"
    assert info["HostConfig"]["Memory"] == 64 * 1024**2

    t1 = time.time()
    again = single(salt_call_cli, "container.running", name, **spec)
    assert again["result"] is True and again["changes"] == {}, again
    assert d.events(t1, prefix) == [], "a no-op run creates nothing"

    # memory: in place, same container
    spec["memory"] = "96m"
    pred = single(salt_call_cli, "container.running", name, test=True, **spec)
    assert pred["changes"] == {"memory": {"old": 64 * 1024**2, "new": 96 * 1024**2}}
    assert d.inspect(name)["HostConfig"]["Memory"] == 64 * 1024**2
    ret = single(salt_call_cli, "container.running", name, **spec)
    assert ret["changes"] == pred["changes"] and "in place" in ret["comment"]
    assert d.inspect(name)["Id"] == info["Id"]
    assert d.inspect(name)["HostConfig"]["Memory"] == 96 * 1024**2
    assert single(salt_call_cli, "container.running", name, **spec)["changes"] == {}

    # env: recreate, and changes names the field
    spec["environment"] = {"ROLE": "db"}
    pred = single(salt_call_cli, "container.running", name, test=True, **spec)
    assert pred["changes"] == {"env": {"old": {"ROLE": "web"}, "new": {"ROLE": "db"}}}
    assert d.inspect(name)["Id"] == info["Id"], "test=True must not recreate"
    ret = single(salt_call_cli, "container.running", name, **spec)
    assert ret["changes"] == pred["changes"] and "recreated (env differ)" in ret["comment"]
    assert d.inspect(name)["Id"] != info["Id"]
    assert "ROLE=db" in d.inspect(name)["Config"]["Env"]
    assert single(salt_call_cli, "container.running", name, **spec)["changes"] == {}

    # stopped, then running again starts it
    ret = single(salt_call_cli, "container.stopped", name)
    assert ret["changes"] == {"state": {"old": "running", "new": "exited"}}
    assert single(salt_call_cli, "container.stopped", name)["changes"] == {}
    ret = single(salt_call_cli, "container.running", name, **spec)
    assert ret["changes"] == {"state": {"old": "exited", "new": "running"}}

    pred = single(salt_call_cli, "container.absent", name, test=True)
    assert pred["result"] is None and d.containers(prefix) == [name]
    assert single(salt_call_cli, "container.absent", name)["changes"] == {"removed": name}
    assert d.containers(prefix) == []
    assert single(salt_call_cli, "container.absent", name)["changes"] == {}


def test_foreign_container_is_never_touched(salt_call_cli, busybox, prefix):
    name = f"{prefix}foreign"
    d.docker("run", "-d", "--name", name, busybox, *d.SLEEPER)
    before = d.inspect(name)["Id"]
    ret = single(salt_call_cli, "container.running", name, image=busybox, command=["sleep", "1"])
    assert ret["result"] is False and "not managed by saltmesh" in ret["comment"]
    assert single(salt_call_cli, "container.absent", name)["result"] is False
    assert d.inspect(name)["Id"] == before


def test_bad_arguments_fail_cleanly(salt_call_cli, busybox, prefix):
    ret = single(salt_call_cli, "container.running", f"{prefix}x", image=busybox, memory="lots")
    assert (
        ret["result"] is False and "memory" in ret["comment"] and "Traceback" not in ret["comment"]
    )
    ret = single(salt_call_cli, "container.running", f"{prefix}x", image=f"{prefix}/missing:1")
    assert ret["result"] is False and "Docker engine" in ret["comment"]
    assert d.containers(prefix) == []
