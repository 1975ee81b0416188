"""The saltmesh demo (``make demo``).

Three Docker hosts from pillar.example (docker01..03, underlay 10.0.0.11-13) are simulated as
network namespaces, each with its own Open vSwitch (userspace datapath) and its own Salt
minion. A real master applies ``state.sls mesh`` and ``state.sls containers``; the demo prints
the plan, what changed, each host's bridge, and pings across the overlay.
"""

from __future__ import annotations

import contextlib
import shutil
import textwrap
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.support import docker as dk
from tests.support.lab import Lab

REPO = Path(__file__).resolve().parent.parent
HOSTS = ["docker01", "docker02", "docker03"]


def say(title: str, body: str = "") -> None:
    print(f"\n=== {title}")
    if body:
        print(textwrap.indent(body.rstrip(), "    "))


@pytest.fixture(scope="module")
def pillar_dir(tmp_path_factory, image_ref):
    """pillar.example as shipped, plus what a one-machine demo must change."""
    d = tmp_path_factory.mktemp("pillar")
    for f in (REPO / "pillar.example").glob("*.sls"):
        shutil.copy(f, d / f.name)
    top = yaml.safe_load((d / "top.sls").read_text())
    top["base"]["*"].append("demo")
    (d / "top.sls").write_text(yaml.safe_dump(top))
    servers = yaml.safe_load((d / "servers.sls").read_text())["servers"]
    overlay = {
        # no OVS kernel module here: userspace datapath; the lab's underlay MTU is 1600
        "saltmesh": {"mesh": {"datapath_type": "netdev", "underlay_mtu": 1600}},
        "servers": {
            name: {"container": {"image": image_ref}}
            for name, s in servers.items()
            if s.get("node_type") == "container"
        },
    }
    (d / "demo.sls").write_text(yaml.safe_dump(overlay))
    return d


@pytest.fixture(scope="module")
def image_ref(tmp_path_factory):
    if not dk.have_docker():
        yield None
        return
    ref = f"smtdemo{uuid.uuid4().hex[:4]}/busybox:latest"
    dk.import_image(dk.rootfs_tar(tmp_path_factory.mktemp("rootfs") / "rootfs.tar"), ref)
    yield ref
    for name in ("web01", "db01"):  # only the demo's own containers, by exact name and label
        info = dk.inspect(name)
        if info and info["Config"]["Image"] == ref:
            dk.docker("rm", "-f", name, check=False)
    dk.docker("rmi", "-f", ref, check=False)


@pytest.fixture(scope="module")
def lab(tmp_path_factory, salt_factories, state_tree, pillar_dir):
    tag = "smd" + uuid.uuid4().hex[:4]
    servers = yaml.safe_load((pillar_dir / "servers.sls").read_text())["servers"]
    the_lab = Lab(tag, tmp_path_factory.mktemp("lab"), 3, names=HOSTS,
                  ips=[servers[h]["address"] for h in HOSTS])  # fmt: skip
    with contextlib.ExitStack() as stack:
        stack.callback(the_lab.stop)
        the_lab.start()
        master = salt_factories.salt_master_daemon(
            f"{tag}-master",
            overrides={
                "file_roots": {"base": [str(REPO / "salt"), str(state_tree)]},
                "pillar_roots": {"base": [str(pillar_dir)]},
                "fileserver_followsymlinks": True,
            },
        )
        stack.enter_context(master.started())
        minions = [
            master.salt_minion_daemon(
                h.name, overrides={"saltmesh": {"ovsdb": h.ovs.db, "netns": h.netns}}
            )
            for h in the_lab.hosts
        ]
        with ThreadPoolExecutor(len(minions)) as pool:
            list(pool.map(lambda m: m.start(), minions))
        for m in minions:
            stack.callback(m.terminate)
        the_lab.salt = master.salt_cli(timeout=300)
        the_lab.run = master.salt_run_cli(timeout=300)
        assert the_lab.salt.run("saltutil.sync_all", minion_tgt="docker*").returncode == 0
        assert the_lab.run.run("saltutil.sync_all").returncode == 0
        yield the_lab


def summary(ret) -> str:
    lines = []
    for minion, states in sorted(ret.data.items()):
        for result in states.values():
            lines.append(f"{minion}: result={result['result']} {result['comment']}")
            if result["changes"]:
                lines.append(textwrap.indent(yaml.safe_dump(result["changes"]), "    "))
    return "\n".join(lines)


def test_demo(lab, image_ref):
    table = lab.run.run("mesh.plan", "--out=txt")
    say("salt-run mesh.plan", table.stdout)
    assert table.returncode == 0

    ret = lab.salt.run("state.sls", "mesh", minion_tgt="docker*")
    say("salt 'docker*' state.sls mesh", summary(ret))
    assert ret.returncode == 0
    again = lab.salt.run("state.sls", "mesh", minion_tgt="docker*")
    say("second run (no changes expected)", summary(again))
    assert all(not r["changes"] for s in again.data.values() for r in s.values())

    for h in lab.hosts:
        say(f"{h.name}: ovs-vsctl show", h.ovs.vsctl("show"))

    for h in lab.hosts:
        h.add_endpoint("br-mesh", f"192.168.77.{h.index}/24")
    rows = []
    for a in lab.hosts:
        for b in lab.hosts:
            if a is not b:
                ok = a.ping(f"192.168.77.{b.index}", 3)
                rows.append(
                    f"{a.name} -> {b.name} (192.168.77.{b.index}): {'ok' if ok else 'FAIL'}"
                )
    say("overlay ping between hosts", "\n".join(rows))
    assert all(r.endswith("ok") for r in rows)

    verify = lab.run.run("mesh.verify", "--out=yaml")
    say("salt-run mesh.verify", verify.stdout)

    if image_ref is None:
        say("containers", "skipped: no Docker engine")
        return
    ret = lab.salt.run("state.sls", "containers", minion_tgt="docker*")
    say("salt 'docker*' state.sls containers", summary(ret))
    assert ret.returncode == 0
    web = dk.inspect("web01")
    pid = web["State"]["Pid"]
    out = dk.netns_exec(pid, "ping", "-c", "3", "-W", "2", "192.168.77.21", check=False)
    say("web01 (on docker01) pings db01 (on docker02) over the mesh", out.stdout)
    assert out.returncode == 0
