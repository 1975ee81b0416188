"""The demo of a container that is a minion (``make demo-minion``).

pillar.example/minions.sls's ``mon01`` on docker01: the image ``saltmesh/minion:3008.3`` is
built unless it exists (``scripts/build-minion-image``, about 2.5 minutes the first time), a
master listens where containers reach it (the docker0 gateway) with ``auto_accept`` off and the
``minion_keys`` reactor, docker01's minion applies ``state.sls containers``, mon01 registers by
itself and takes ``state.sls nagios.nrpe``; ``check_nrpe`` asks its NRPE.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import textwrap
import time
import uuid
from pathlib import Path

import pytest
import yaml

from tests.support import docker as dk
from tests.support import minion_image as mi
from tests.support.nagios import CHECK_NRPE
from tests.support.ovs import have_ovs, ovs_in_netns

REPO = Path(__file__).resolve().parent.parent
NAME = "mon01"  # pillar.example/minions.sls
DOCKER_HOST = "smdm-docker01"  # docker01 of pillar.example, under a name of the demo's own


def say(title: str, body: str = "") -> None:
    print(f"\n=== {title}")
    if body:
        print(textwrap.indent(body.rstrip(), "    "))


@pytest.fixture(scope="module")
def image():
    why = mi.have_tools() or (None if have_ovs() else "Open vSwitch is not installed")
    if why:
        pytest.skip(f"minion demo: {why}")
    if dk.inspect(NAME) is not None:
        pytest.fail(f"a container {NAME} exists already (another demo running?): not touching it")
    started = time.monotonic()
    tag = mi.image()
    say("minion image (scripts/build-minion-image)", f"{tag}, {time.monotonic() - started:.0f} s")
    return tag


@pytest.fixture(scope="module")
def lab(image, salt_factories, state_tree, tmp_path_factory):
    """The master, docker01's minion (with an OVS of its own) and the demo's pillar."""
    pillar_root = tmp_path_factory.mktemp("minion-demo-pillar")
    (pillar_root / "top.sls").write_text(
        yaml.safe_dump({"base": {"*": ["demo"], NAME: ["minion_nrpe"]}})
    )
    (pillar_root / "minion_nrpe.sls").write_text(
        (REPO / "pillar.example/minion_nrpe.sls").read_text()
    )
    events = mi.KeyEvents()
    config = mi.master_config([str(REPO / "salt"), str(state_tree)], str(pillar_root))
    master = salt_factories.salt_master_daemon(
        "smdm-master-" + uuid.uuid4().hex[:4], overrides=config, on_auth_event_callback=events
    )
    tag = "smdm" + uuid.uuid4().hex[:4]
    with contextlib.ExitStack() as stack:
        ovs = stack.enter_context(ovs_in_netns(tmp_path_factory.mktemp("ovs"), f"{tag}-d1"))
        stack.enter_context(master.started())
        assert master.salt_run_cli(timeout=120).run("saltutil.sync_all").returncode == 0
        host_id = f"{tag}-docker01"
        events.accept_only.add(host_id)
        minion_dir = tmp_path_factory.mktemp("minion-dir")
        host = master.salt_minion_daemon(host_id, overrides={
            "master": config["interface"],
            "saltmesh": {"ovsdb": ovs.db, "netns": ovs.netns, "minion_dir": str(minion_dir)},
        })  # fmt: skip
        stack.enter_context(host.started())
        salt = master.salt_cli(timeout=300)
        assert salt.run("saltutil.sync_all", minion_tgt=host_id).returncode == 0
        mon01 = yaml.safe_load((REPO / "pillar.example/minions.sls").read_text())["servers"][NAME]
        mon01["container"]["image"] = image
        mon01["container"]["minion"] = {"master": config["interface"],
                                        "master_port": master.config["ret_port"]}  # fmt: skip
        mon01["container"].pop("ports")  # check_nrpe asks the container's own address here
        # the docker host's name is the demo's own: containers placed on a docker host are
        # labelled with its name, and the machine's dockerd may run another demo's docker01
        mon01["parents"] = DOCKER_HOST
        pillar = {
            "servers": {
                DOCKER_HOST: {"node_type": "docker_host", "address": "10.0.0.11",
                              "minion_id": host_id},
                NAME: mon01,
            },
            "saltmesh": {"containers": {"prune": False}, "nagios": mi.nrpe_settings(
                [config["interface"]],
                {"check_salt_minion": "/usr/lib/nagios/plugins/check_procs -c 1: -a salt-minion"},
            )},
        }  # fmt: skip
        (pillar_root / "demo.sls").write_text(yaml.safe_dump(pillar))
        assert salt.run("saltutil.refresh_pillar", "wait=True", minion_tgt=host_id).returncode == 0
        stack.callback(_remove_mon01)
        yield master, host, events, salt


def _remove_mon01() -> None:
    info = dk.inspect(NAME)
    if info and (info["Config"]["Labels"] or {}).get("saltmesh.host") == DOCKER_HOST:
        dk.docker("rm", "-f", NAME, check=False)


def test_a_container_that_is_a_minion(lab):
    master, host, events, salt = lab
    say(
        "pillar (pillar.example/minions.sls, master as the container reaches it)",
        yaml.safe_dump({NAME: yaml.safe_load((REPO / "pillar.example/minions.sls").read_text())
                        ["servers"][NAME]["container"]["minion"]}),
    )  # fmt: skip
    started = time.monotonic()
    ret = salt.run("state.sls", "containers", minion_tgt=host.id)
    (placed,) = ret.data.values()
    say(f"salt {DOCKER_HOST} state.sls containers", json.dumps(placed["changes"], indent=2))
    assert placed["result"] is True, placed

    quick = master.salt_cli(timeout=10)
    deadline = time.monotonic() + 120
    while quick.run("test.ping", minion_tgt=NAME).data is not True:
        if time.monotonic() > deadline:
            logs = dk.docker("logs", "--tail", "40", NAME, check=False)
            pytest.fail(f"{NAME} did not answer test.ping; its log:\n{logs}")
    keys = master.salt_key_cli().run("-L").stdout
    log = Path(master.config["log_file"]).read_text(errors="replace")
    line = next(ln for ln in log.splitlines() if f"accepted the key of {NAME}" in ln)
    say(
        f"{NAME} registered by itself ({time.monotonic() - started:.0f} s; auto_accept: "
        f"{master.config['auto_accept']}; salt-key run for it: "
        f"{NAME in events.accepted_by_hand})",
        keys + "\nmaster log: " + line.split("]", 4)[-1].strip(),
    )
    assert NAME not in events.accepted_by_hand

    assert salt.run("saltutil.sync_all", minion_tgt=NAME).returncode == 0
    ret = salt.run("state.sls", "nagios.nrpe", minion_tgt=NAME)
    comments = [f"{r['__id__']}: {r['comment']}" for r in ret.data.values()]
    say(f"salt {NAME} state.sls nagios.nrpe", "\n".join(comments))
    assert all(r["result"] for r in ret.data.values()), ret.data
    check = subprocess.run(
        [CHECK_NRPE, "-H", mi.container_ip(NAME), "-c", "check_salt_minion"],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    say(f"check_nrpe -H <{NAME}> -c check_salt_minion", check.stdout)
    assert check.returncode == 0, check
    again = salt.run("state.sls", "containers", minion_tgt=host.id)
    again_nrpe = salt.run("state.sls", "nagios.nrpe", minion_tgt=NAME)
    unchanged = not any(r["changes"] for r in [*again.data.values(), *again_nrpe.data.values()])
    say("second runs of both", "no changes" if unchanged else "CHANGED")
    assert unchanged
