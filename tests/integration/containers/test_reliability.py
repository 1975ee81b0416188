"""Written guarantees of the container states, each proven on the real dockerd through a real
master and minion: clean answers at the loader boundary, test=True touches nothing, omitted
arguments are never touched, a failed recreate keeps the old container, every state takes the
host lock, pruning follows saltmesh:containers and spares foreign objects."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from saltmesh import fileio, hostlock
from saltmesh.containers.names import host_ifname
from tests.conftest import state_of, state_ret
from tests.support import docker as d
from tests.support.minion_log import MinionLog
from tests.support.net import received

pytestmark = [pytest.mark.usefixtures("docker_ok"), pytest.mark.reliability]


OTHER = ["sh", "-c", "trap 'exit 0' TERM; sleep 99999 & wait"]  # like SLEEPER, but another


def single(cli, fun, name, test=False, **kw):
    ret = cli.run("state.single", fun, name=name, test=test, **kw)
    assert ret.returncode in (0, 1), ret
    (one,) = state_ret(ret)
    return one


def clean(ret):
    """A failed state whose comment is one line, without a traceback."""
    assert ret["result"] is False, ret
    assert "Traceback" not in ret["comment"] and "\n" not in ret["comment"], ret["comment"]
    return ret["comment"]


def net(bridge, ip, mac):
    return [{"bridge": bridge, "ip": ip, "mac": mac}]


def attached_pid(ovs, container):
    for row in ovs.table("Interface", "external_ids"):
        ext = dict(row["external_ids"][1])
        if ext.get("saltmesh-container") == container:
            return int(ext["saltmesh-pid"])
    return None


# --------------------------------------------------------------------------- loader boundary


def test_bad_image_files_are_clean_failures_naming_the_file(
    salt_call_cli, salt_minion, image_prefix, prefix, tmp_path
):
    log = MinionLog(salt_minion)
    not_tar = tmp_path / "not-a-tar.tar"
    not_tar.write_bytes(b"garbage " * 200)
    no_manifest = tmp_path / "no-manifest.tar"
    with tarfile.open(no_manifest, "w") as tar:
        tar.add(not_tar, "something-else")
    missing = tmp_path / "missing.tar"
    ref = f"{image_prefix}/{prefix}bad:1"
    cases = [
        ({"load": str(not_tar)}, f"{not_tar}: not a tar archive (or a damaged one)"),
        ({"load": str(no_manifest)}, f"{no_manifest}: no manifest.json; not a docker save archive"),
        ({"load": str(missing)}, f"{missing}: cannot read it: No such file or directory"),
        ({"rootfs": str(missing)}, f"{missing}: cannot read it: No such file or directory"),
    ]
    for kwargs, message in cases:
        for test in (True, False):
            ret = single(salt_call_cli, "image.present", ref, test=test, **kwargs)
            assert clean(ret) == message and ret["changes"] == {}
    assert d.docker("images", "-q", ref) == ""
    assert log.tracebacks() == []


def test_bad_state_arguments_are_clean_failures_naming_the_argument(
    salt_call_cli, salt_minion, busybox, prefix
):
    log = MinionLog(salt_minion)
    name = f"{prefix}x"
    cases = [
        ({"name": "bad name!"}, "name: 'bad name!' is not a valid container name"),
        ({"name": f"{name}.saltmesh-old"}, "name: names ending in .saltmesh-old are reserved"),
        ({"ports": json.dumps([80])}, f"{name}:container:ports: must be a mapping"),
        ({"networks": json.dumps("br0")}, f"{name}:container:networks: must be a list"),
        ({"memory": "-5"}, f"{name}:container:memory: -5 is below Docker's minimum of 6m"),
        ({"volumes": json.dumps(["relative/dir:/x"])}, f"{name}:container:volumes:0:"),
        ({"cpus": "0"}, f"{name}:container:cpus: 0 is out of range"),
    ]
    for kwargs, message in cases:
        kw = {"name": name, **kwargs}
        ret = salt_call_cli.run("state.single", "container.running", image=busybox, **kw)
        (one,) = state_ret(ret)
        assert message in clean(one), one
    assert d.containers(prefix) == []
    assert log.tracebacks() == []


# --------------------------------------------------------------------------- test=True


def tree(root: Path) -> dict[str, tuple | None]:
    """Every file (size, mtime, inode) and directory under ``root``."""
    out: dict[str, tuple | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            st = (Path(dirpath) / name).lstat()
            out[os.path.relpath(Path(dirpath) / name, root)] = (
                st.st_size,
                st.st_mtime_ns,
                st.st_ino,
            )
        for name in dirnames:
            out[os.path.relpath(Path(dirpath) / name, root) + "/"] = None
    return out


def ovs_state(ovs):
    """Bridges, ports and interfaces with their external_ids, and the database file."""
    rows = {
        table: sorted(
            json.dumps(r, sort_keys=True) for r in ovs.table(table, "name", "external_ids")
        )
        for table in ("Bridge", "Port", "Interface")
    }
    db = ovs.dir / "conf.db"
    return rows, db.stat().st_size, db.stat().st_mtime_ns


def test_test_mode_touches_nothing_at_all(
    salt_call_cli, salt_minion, busybox, rootfs, image_prefix, prefix, bridge, docker_hosts,
    state_tree, tmp_path,
):  # fmt: skip
    """Every container and image state, in every situation that would write, with test=True:
    no Docker event, no OVSDB change, no file created or changed under the minion's root (its
    log aside), the host lock file included; and each prediction is exactly the real run."""
    host = docker_hosts[0]
    kw = {"ovsdb": host.ovs.db, "netns": host.name}
    keep, gone, fresh = f"{prefix}keep", f"{prefix}gone", f"{prefix}fresh"
    img, loaded, url_img = (f"{image_prefix}/{prefix}{n}:1" for n in ("img", "ld", "url"))
    saved = tmp_path / "saved.tar"
    d.docker("save", "-o", str(saved), busybox)
    (state_tree / f"{prefix}rootfs.tar").write_bytes(rootfs.read_bytes())
    (state_tree / f"{prefix}saved.tar").write_bytes(saved.read_bytes())
    first = d.import_image(rootfs, img)  # replaced behind its tag below: left dangling
    try:
        # what exists before: a running container with an attachment, one to remove, an image
        base = {"image": busybox, "command": d.SLEEPER, "memory": "64m", **kw}
        nets = json.dumps(net(bridge, "10.79.0.2/24", "02:79:00:00:00:02"))
        assert single(salt_call_cli, "container.running", keep, networks=nets, **base)["result"]
        assert single(salt_call_cli, "container.running", gone, **base)["result"]
        lock = Path(hostlock.path(salt_minion.config["cachedir"]))
        with fileio.locked(str(lock), timeout=60):
            lock.unlink()  # no writer runs now; test mode must not create it again
        root = Path(salt_minion.config["root_dir"])
        fresh_nets = json.dumps(net(bridge, "10.79.0.3/24", "02:79:00:00:00:03"))
        (tmp_path / "other.tar").write_bytes(rootfs.read_bytes() + b"\0" * 1024)
        runs = [
            ("image.present", img, {"rootfs": str(tmp_path / "other.tar")}),
            ("image.present", url_img, {"rootfs": f"salt://{prefix}rootfs.tar"}),
            ("image.present", loaded, {"load": f"salt://{prefix}saved.tar"}),
            ("image.present", loaded, {"load": str(saved)}),
            ("image.absent", img, {}),
            ("container.running", fresh, {**base, "networks": fresh_nets}),
            ("container.running", keep, {**base, "networks": nets, "memory": "96m"}),
            ("container.running", keep, {**base, "networks": nets, "command": OTHER}),
            ("container.stopped", keep, {}),
            ("container.absent", gone, kw),
        ]
        events_from = time.time()
        before = (tree(root), ovs_state(host.ovs))
        for fun, name, args in runs:
            ret = single(salt_call_cli, fun, name, test=True, **args)
            assert ret["result"] is None and ret["changes"], (fun, name, ret)
        after = (tree(root), ovs_state(host.ovs))
        changed = sorted(k for k in set(before[0]) | set(after[0])
                         if before[0].get(k, "-") != after[0].get(k, "-"))  # fmt: skip
        assert changed == ["logs/minion.log"], changed
        assert not lock.exists()
        assert before[1] == after[1], "test=True changed the OVS database"
        assert d.all_events(events_from, prefix) == []
        assert d.all_events(events_from, image_prefix) == []

        # in the same order, each prediction is what the real run reports, then a no-op
        for fun, name, args in runs:
            predicted = single(salt_call_cli, fun, name, test=True, **args)["changes"]
            real = single(salt_call_cli, fun, name, **args)
            assert real["result"] is True, real
            if fun == "image.present" and predicted:  # a file's image ID is known once read
                assert predicted["image_id"]["old"] == real["changes"]["image_id"]["old"]
                assert set(predicted) == set(real["changes"])
            else:
                assert real["changes"] == predicted, (fun, name)
            assert single(salt_call_cli, fun, name, **args)["changes"] == {}, (fun, name)
    finally:
        d.remove_images(f"{image_prefix}/{prefix}")
        d.docker("rmi", first, check=False)


# --------------------------------------------------------------------------- omitted arguments


def test_omitted_arguments_are_never_touched(salt_call_cli, busybox, prefix):
    name = f"{prefix}om"
    full = {
        "image": busybox, "command": d.SLEEPER, "environment": {"A": "1"},
        "labels": {"team": "web"}, "restart": "always", "memory": "64m", "cpus": "0.5",
        "hostname": "omhost", "workdir": "/tmp",
    }  # fmt: skip
    assert single(salt_call_cli, "container.running", name, **full)["changes"] == {"created": name}
    first = d.inspect(name)

    def settings(info):
        cfg, hcfg = info["Config"], info["HostConfig"]
        return (
            cfg["Env"], {k: v for k, v in cfg["Labels"].items() if k == "team"},
            hcfg["RestartPolicy"]["Name"], hcfg["Memory"], hcfg["CpuQuota"], cfg["Hostname"],
            cfg["WorkingDir"],
        )  # fmt: skip

    # only image and command: nothing else is compared, nothing reset
    bare = {"image": busybox, "command": d.SLEEPER}
    assert single(salt_call_cli, "container.running", name, test=True, **bare)["changes"] == {}
    for _ in range(2):
        assert single(salt_call_cli, "container.running", name, **bare)["changes"] == {}
    assert d.inspect(name)["Id"] == first["Id"] and settings(d.inspect(name)) == settings(first)

    # a recreate forced by the command keeps every setting the state does not give
    changed = {"image": busybox, "command": OTHER}
    pred = single(salt_call_cli, "container.running", name, test=True, **changed)
    assert list(pred["changes"]) == ["command"]
    ret = single(salt_call_cli, "container.running", name, **changed)
    assert ret["result"] is True and ret["changes"] == pred["changes"]
    after = d.inspect(name)
    assert after["Id"] != first["Id"] and settings(after) == settings(first)
    assert single(salt_call_cli, "container.running", name, **changed)["changes"] == {}
    assert single(salt_call_cli, "container.running", name, **full)["changes"] == {
        "command": {"old": changed["command"], "new": d.SLEEPER}
    }


# --------------------------------------------------------------------------- failed recreate


def test_a_failed_recreate_keeps_the_old_container_running_and_attached(
    salt_call_cli, busybox, prefix, bridge, docker_hosts
):
    host = docker_hosts[0]
    kw = {"ovsdb": host.ovs.db, "netns": host.name}
    peer, name = f"{prefix}peer", f"{prefix}svc"
    nets = {n: json.dumps(net(bridge, f"10.79.1.{i}/24", f"02:79:00:00:01:0{i}"))
            for i, n in ((1, peer), (2, name))}  # fmt: skip
    for n in (peer, name):
        ret = single(salt_call_cli, "container.running", n, image=busybox, command=d.SLEEPER,
                     networks=nets[n], **kw)  # fmt: skip
        assert ret["result"] is True, ret
    old = d.inspect(name)
    assert received(d.docker("exec", peer, "ping", "-c", "1", "-W", "2", "10.79.1.2")) == 1

    # the new command does not exist: Docker refuses to start it
    broken = {"image": busybox, "command": ["/no/such/program"], "networks": nets[name], **kw}
    pred = single(salt_call_cli, "container.running", name, test=True, **broken)
    assert set(pred["changes"]) == {"command", "networks"}  # a new container, attached anew
    ret = single(salt_call_cli, "container.running", name, **broken)
    comment = clean(ret)
    assert comment.startswith(f"Container {name} not recreated (command differ): Docker engine:")
    assert "kept the old container" in comment
    now = d.inspect(name)
    assert now["Id"] == old["Id"] and now["State"]["Running"]
    assert d.containers(prefix) == [peer, name], "no new container, nothing left aside"
    # it was stopped for the new one and started again: re-attached, and says so
    assert set(ret["changes"]) == {"networks"}
    assert attached_pid(host.ovs, name) == now["State"]["Pid"]
    assert received(d.docker("exec", peer, "ping", "-c", "2", "-W", "2", "10.79.1.2")) == 2
    assert sorted(host.ovs.ports(bridge)) == sorted(host_ifname(n, "eth0") for n in (peer, name))


def test_a_recreate_then_a_failed_attachment_still_reports_the_recreate(
    salt_call_cli, busybox, prefix, bridge, docker_hosts
):
    host = docker_hosts[0]
    kw = {"ovsdb": host.ovs.db, "netns": host.name}
    name = f"{prefix}att"
    nets = json.dumps(net(bridge, "10.79.2.2/24", "02:79:00:00:02:02"))
    good = {"image": busybox, "command": d.SLEEPER, "networks": nets, **kw}
    assert single(salt_call_cli, "container.running", name, **good)["result"] is True
    # ``true`` exits at once: recreated and started, but there is nothing left to attach
    ret = single(salt_call_cli, "container.running", name, image=busybox, command=["true"],
                 networks=nets, **kw)  # fmt: skip
    comment = clean(ret)
    assert ret["changes"]["command"] == {"old": d.SLEEPER, "new": ["true"]}
    assert comment.startswith(f"Container {name} recreated (command differ);")
    assert "then failed:" in comment
    # back to the good spec: converges, then a no-op
    ret = single(salt_call_cli, "container.running", name, **good)
    assert ret["result"] is True and ret["changes"]["command"]["new"] == d.SLEEPER
    assert single(salt_call_cli, "container.running", name, **good)["changes"] == {}
    assert host.ovs.ports(bridge) == [host_ifname(name, "eth0")]


# --------------------------------------------------------------------------- the host lock


def test_every_docker_state_takes_the_host_lock(
    salt_call_cli, salt_minion, pillar, busybox, rootfs, image_prefix, prefix
):
    """While the lock is held, each state waits (and writes nothing); it runs once released."""
    name, ref = f"{prefix}lk", f"{image_prefix}/{prefix}lk:1"
    host = f"{prefix}h"
    pillar.set({"servers": {
        host: {"node_type": "docker_host", "address": "10.254.0.1", "minion_id": salt_minion.id},
        f"{prefix}pl": {"node_type": "container", "address": "10.254.1.1", "parents": host,
                        "container": {"image": busybox, "command": d.SLEEPER}},
    }})  # fmt: skip
    steps = [
        ("image.present", ref, [f"rootfs={rootfs}"], "image_id"),
        (
            "container.running",
            name,
            [f"image={busybox}", f"command={json.dumps(d.SLEEPER)}"],
            "created",
        ),
        ("container.stopped", name, [], "state"),
        ("container.absent", name, [], "removed"),
        ("image.absent", ref, [], "removed"),
        ("container.placed", "containers", [], f"{prefix}pl"),
    ]
    lock = hostlock.path(salt_minion.config["cachedir"])
    salt_call = Path(sys.executable).parent / "salt-call"
    try:
        for fun, target, args, change in steps:
            argv = [str(salt_call), "--config-dir", str(salt_minion.config_dir), "--out", "json",
                    "--log-level", "quiet", "state.single", fun, f"name={target}", *args]  # fmt: skip
            since = time.time()
            with fileio.locked(lock, timeout=60):
                run = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
                time.sleep(4)
                assert run.poll() is None, f"{fun} did not wait for the host lock"
                assert d.all_events(since, prefix) == [] and d.all_events(since, ref) == []
            out, _ = run.communicate(timeout=120)
            (ret,) = json.loads(out)["local"].values()
            assert ret["result"] is True and change in ret["changes"], (fun, ret)
    finally:
        d.remove_images(f"{image_prefix}/{prefix}")


# --------------------------------------------------------------------------- pruning


def test_pruning_follows_the_pillar_and_spares_foreign_containers(
    salt_call_cli, salt_minion, pillar, busybox, prefix, seeds
):
    host = f"{prefix}h"
    keep, gone = f"{prefix}keep", f"{prefix}gone"

    def declare(*names, **containers_settings):
        servers = {host: {"node_type": "docker_host", "address": "10.254.0.1",
                          "minion_id": salt_minion.id}}  # fmt: skip
        for i, n in enumerate(names):
            servers[n] = {"node_type": "container", "address": f"10.254.2.{i + 1}",
                          "parents": host, "container": {"image": busybox, "command": d.SLEEPER}}  # fmt: skip
        data = {"servers": servers}
        if containers_settings:
            data["saltmesh"] = {"containers": containers_settings}
        pillar.set(data)

    def apply(test=False):
        one = state_of(
            salt_call_cli.run("state.sls", "containers", test=test), "saltmesh-containers"
        )
        return one

    declare(keep, gone)
    assert set(apply()["changes"]) == {keep, gone}

    # a bad setting fails before anything is touched, naming its path
    declare(keep, prune="sometimes")
    ret = apply()
    assert ret["result"] is False and ret["changes"] == {}
    assert (
        "saltmesh:containers:prune: must be true, false or stop, got 'sometimes'" in ret["comment"]
    )
    assert d.inspect(gone)["State"]["Running"]

    # prune: false leaves it running, and says so; nothing in changes
    declare(keep, prune=False)
    for test in (True, False, False):
        ret = apply(test)
        assert ret["result"] is True and ret["changes"] == {}, ret
        assert f"left running {gone} (not declared here)" in ret["comment"]
    assert d.inspect(gone)["State"]["Running"]

    # prune_max: more removals than allowed remove none, and the state fails saying why
    declare(keep, prune=True, prune_max=0)
    ret = apply()
    assert ret["result"] is False and ret["changes"] == {}
    assert (
        f"not removing 1 containers ({gone}): more than saltmesh:containers:prune_max (0)"
        in ret["comment"]
    )
    assert d.inspect(gone)["State"]["Running"]

    # prune: stop stops it, keeps it
    declare(keep, prune="stop")
    pred = apply(test=True)
    assert pred["changes"] == {gone: {"state": {"old": "running", "new": "exited"}}}
    assert apply()["changes"] == pred["changes"]
    assert apply()["changes"] == {}
    assert d.inspect(gone)["State"]["Status"] == "exited"

    # the default removes it, and says what it removed
    declare(keep)
    pred = apply(test=True)
    assert pred["changes"] == {gone: {"removed": gone}}
    ret = apply()
    assert ret["changes"] == pred["changes"] and f"pruned: removed {gone}" in ret["comment"]
    assert apply()["changes"] == {}
    assert d.containers(prefix) == [keep]
    assert seeds.missing() == []
