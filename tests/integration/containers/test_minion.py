"""A container declared as a minion in pillar: started by ``state.sls containers``, registered
with the master by the docker host's key announcement (no ``salt-key``, no ``auto_accept``),
then ``state.sls nagios.nrpe`` on it and a real ``check_nrpe`` against it.

The image is ``saltmesh/minion:3008.3`` from ``scripts/build-minion-image`` (built once per
machine, about 2.5 minutes, then reused). The master is one of this module's own: it listens
on the gateway of the machine dockerd's default bridge (``docker0``), where a container on the
default network reaches it, runs the reactor ``salt://reactor/minion_keys.sls``, has
``auto_accept: False``, and its auth callback accepts the docker host's minion only (the test
harness's), recording every other key event.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO, Pillar, state_ret
from tests.support import docker as d
from tests.support import minion_image as mi
from tests.support.nagios import CHECK_NRPE
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.reliability, pytest.mark.usefixtures("docker_ok")]


@pytest.fixture(scope="session")
def minion_image():
    """``saltmesh/minion:<salt version>``, built once per machine (then instant)."""
    why = mi.have_tools()
    if why:
        pytest.skip(f"minion image: {why}")
    return mi.image()


@pytest.fixture(scope="module")
def key_events() -> mi.KeyEvents:
    return mi.KeyEvents()


@pytest.fixture(scope="module")
def minion_master(salt_factories, state_tree, tmp_path_factory, key_events, docker_ok):
    pillar_root = tmp_path_factory.mktemp("minion-pillar")
    (pillar_root / "top.sls").write_text("base:\n  '*':\n    - saltmesh_test\n")
    (pillar_root / "saltmesh_test.sls").write_text("{}\n")
    config = mi.master_config([str(REPO / "salt"), str(state_tree)], str(pillar_root))
    factory = salt_factories.salt_master_daemon(
        "smtmin-master-" + uuid.uuid4().hex[:6],
        overrides=config,
        on_auth_event_callback=key_events,
    )
    factory.pillar_root = pillar_root
    with factory.started():
        ret = factory.salt_run_cli(timeout=120).run("saltutil.sync_all")  # the runner
        assert ret.returncode == 0, ret
        yield factory


@pytest.fixture(scope="module")
def docker_host_minion(minion_master, docker_hosts, key_events, tmp_path_factory):
    """A docker host's minion (its OVS: the first simulated host's) with its own minion_dir."""
    host = docker_hosts[0]
    mid = "smtmin-dh-" + uuid.uuid4().hex[:6]
    key_events.accept_only.add(mid)
    minion_dir = tmp_path_factory.mktemp("minion-dir")
    config = {
        "master": minion_master.config["interface"],
        "saltmesh": {**host.kw, "minion_dir": str(minion_dir)},
    }
    factory = minion_master.salt_minion_daemon(mid, overrides=config)
    factory.minion_dir = minion_dir
    with factory.started():
        ret = minion_master.salt_cli(timeout=120).run("saltutil.sync_all", minion_tgt=mid)
        assert ret.returncode == 0, ret
        yield factory


def _pillar(prefix: str, dh, master, tag: str) -> dict:
    gateway = master.config["interface"]
    name = f"{prefix}m1"
    servers = {
        f"{prefix}dh": {"node_type": "docker_host", "address": gateway, "minion_id": dh.id},
        name: mi.minion_server(
            f"{prefix}dh", gateway, tag, master.config["ret_port"], address=f"{prefix}m1"
        ),
    }
    hello = f"/usr/lib/nagios/plugins/check_dummy 0 hello-from-{name}"
    nagios = mi.nrpe_settings([gateway], {"saltmesh_hello": hello})
    return {"servers": servers, "saltmesh": {"nagios": nagios}}


def _apply(cli, sls: str, target: str, **kw) -> list[dict]:
    ret = cli.run("state.sls", sls, minion_tgt=target, **kw)
    results = state_ret(ret)
    assert all(r["result"] is not False for r in results), results
    return results


def _key_state(master, mid: str) -> str | None:
    pki = Path(master.config["pki_dir"])
    for state, folder in (("accepted", "minions"), ("pending", "minions_pre")):
        if (pki / folder / mid).exists():
            return state
    return None


def test_a_container_declared_as_a_minion_registers_and_takes_nagios_nrpe(
    minion_master, docker_host_minion, minion_image, key_events, prefix
):
    assert minion_master.config["auto_accept"] is False
    assert minion_master.config["open_mode"] is False
    assert not minion_master.config.get("autosign_file")
    assert not minion_master.config.get("autosign_grains_dir")
    salt = minion_master.salt_cli(timeout=300)
    dh = docker_host_minion
    name = f"{prefix}m1"
    pillar = Pillar(minion_master.pillar_root, salt, [dh.id])
    pillar.set(_pillar(prefix, dh, minion_master, minion_image))
    started = time.monotonic()
    try:
        # 1. the docker host writes the config and key pair, announces the key, starts it
        (placed,) = [
            r for r in _apply(salt, "containers", dh.id) if r["__id__"] == "saltmesh-containers"
        ]
        changes = placed["changes"][name]
        assert changes["minion_config"]["new"] == {
            "id": name, "master": minion_master.config["interface"],
            "master_port": minion_master.config["ret_port"],
        }  # fmt: skip
        assert changes["minion_key"]["old"] is None and changes["created"], changes
        folder = Path(dh.minion_dir) / name
        assert (folder / "pki" / "minion.pem").stat().st_mode & 0o777 == 0o600
        mounts = {m["Destination"]: m for m in d.inspect(name)["Mounts"]}
        for target in ("/etc/salt/minion.d", "/etc/salt/pki/minion/minion.pem"):
            assert mounts[target]["RW"] is False, mounts

        # 2. registered by the reactor's runner: the key the docker host made, nobody's hands
        wait_until(
            lambda: _key_state(minion_master, name) == "accepted", 60, f"{name}'s key", step=1
        )
        master_key = Path(minion_master.config["pki_dir"]) / "minions" / name
        assert master_key.read_text().strip() == (folder / "pki" / "minion.pub").read_text().strip()
        quick = minion_master.salt_cli(timeout=10)  # a ping published before it connected is lost
        wait_until(
            lambda: quick.run("test.ping", minion_tgt=name).data is True, 120, "test.ping", step=1
        )
        registered = time.monotonic() - started
        assert name not in key_events.accepted_by_hand
        # the master's log, not its auth events: those reach the callback through a forwarder
        # polling each second, and salt drops one it cannot push within 1 s (CI of stop 19)
        log_file = Path(minion_master.config["log_file"])
        wait_until(
            lambda: f"Authentication accepted from {name}" in log_file.read_text(errors="replace"),
            30, f"the master's log of {name}'s authentication", step=1,
        )  # fmt: skip
        log = log_file.read_text(errors="replace")
        assert f"minion_keys: accepted the key of {name}, announced by {dh.id}" in log

        # 3. nagios.nrpe on the container (route 1: sync first), reload by SIGHUP
        ret = salt.run("saltutil.sync_all", minion_tgt=name)
        assert ret.returncode == 0, ret
        nrpe = _apply(salt, "nagios.nrpe", name)
        config = next(r for r in nrpe if r["__id__"] == "saltmesh-nrpe-config")
        assert config["changes"]["allowed_hosts"]["new"] == minion_master.config["interface"]
        assert "reloaded NRPE" in config["comment"], config
        address = mi.container_ip(name)
        check = subprocess.run(
            [CHECK_NRPE, "-H", address, "-t", "10", "-c", "saltmesh_hello"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert check.returncode == 0 and f"hello-from-{name}" in check.stdout, check

        # 4. second runs: nothing changes, the container is not recreated, the key is current
        container_id = d.inspect(name)["Id"]
        assert [r["changes"] for r in _apply(salt, "containers", dh.id)] == [{}, {}]
        assert [r["changes"] for r in _apply(salt, "nagios.nrpe", name)] == [{}] * len(nrpe)
        assert d.inspect(name)["Id"] == container_id
        assert [r["changes"] for r in _apply(salt, "containers", dh.id, test=True)] == [{}, {}]
        print(f"\n{name}: registered and answering {registered:.0f} s after state.sls containers")
    finally:
        pillar.clear()
        d.remove_containers(prefix)


def test_the_runner_accepts_keys_only_for_the_announcing_hosts_minion_containers(
    minion_master, docker_host_minion, minion_image, prefix
):
    """A docker host cannot get a key accepted for a minion it does not run."""
    salt = minion_master.salt_cli(timeout=120)
    pillar = Pillar(minion_master.pillar_root, salt, [docker_host_minion.id])
    pillar.set(_pillar(prefix, docker_host_minion, minion_master, minion_image))
    pub = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"
    run = minion_master.salt_run_cli(timeout=120)
    try:
        ret = run.run(
            "minion_keys.accept", f"host={docker_host_minion.id}",
            f'keys={{"{prefix}other": {pub!r}}}',
        )  # fmt: skip
        assert ret.returncode == 1, ret
        assert f"{prefix}other" in ret.data["refused"], ret.data
        ret = run.run("minion_keys.accept", f"host={prefix}m1", f'keys={{"{prefix}m1": {pub!r}}}')
        assert ret.returncode == 1 and "not the minion of a docker_host" in str(ret.data), ret
        assert _key_state(minion_master, f"{prefix}other") is None
        assert _key_state(minion_master, f"{prefix}m1") is None
    finally:
        pillar.clear()
