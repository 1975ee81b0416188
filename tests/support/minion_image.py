"""Containers that are minions, for the tests and the demo: the image and a pillar snippet.

The small API the demo uses:

* :func:`image` builds ``saltmesh/minion:<salt version>`` with ``scripts/build-minion-image``
  unless this recipe's image exists (about 2.5 minutes the first time, then instant);
* :func:`docker_gateway` is the machine dockerd's default bridge address (``docker0``): a
  master listening there is reachable from containers on the default network;
* :func:`minion_server` is the ``servers`` entry of a container that is a minion;
* :func:`nrpe_settings` is the ``saltmesh:nagios`` pillar that fits the image's NRPE (no
  systemd: reload by SIGHUP to the pid in Debian's pid file);
* :func:`master_config` is a master that containers reach (on :func:`docker_gateway`), with
  ``auto_accept`` off and the reactor of ``salt://reactor/minion_keys.sls`` (:data:`REACTOR`),
  so that the key a docker host made for the container is accepted without ``salt-key``
  (then ``salt-run saltutil.sync_all`` for the ``minion_keys`` runner);
* :class:`KeyEvents` is an auth callback for salt-factories that accepts only the minions it
  is told to (the harness's own) and records every other key event.

E.g., with salt-factories::

    events = KeyEvents()
    master = salt_factories.salt_master_daemon(
        "m", overrides=master_config(file_roots, pillar_root), on_auth_event_callback=events)
    # start it, salt-run saltutil.sync_all; a docker host minion with
    # overrides={"master": docker_gateway(), ...} accepted through events.accept_only;
    # pillar: servers = {host: {..., minion_id: <its id>},
    #                    "mon01": minion_server(host, docker_gateway(), image(),
    #                                           master.config["ret_port"])}
    # salt <host> state.sls containers; wait for mon01 to answer test.ping
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "build-minion-image"
SALT_VERSION = "3008.3"  # the Makefile's SALT_VERSION
REACTOR = [{"saltmesh/containers/minion-keys": ["salt://reactor/minion_keys.sls"]}]


def have_tools() -> str | None:
    """None when the image can be built and run here, else why not."""
    for tool in ("docker", "mmdebstrap"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if subprocess.run(["docker", "info"], capture_output=True, check=False).returncode != 0:
        return "the Docker daemon does not answer"
    return None


def image(salt: str = SALT_VERSION, log=print) -> str:
    """The tag of the minion image for ``salt``, built first when missing (or out of date)."""
    out = subprocess.run(
        [sys.executable, str(SCRIPT), "--salt", salt],
        capture_output=True, text=True, check=False, timeout=1800,
    )  # fmt: skip
    for line in out.stderr.splitlines():
        log(line)
    if out.returncode != 0:
        raise RuntimeError(f"build-minion-image failed ({out.returncode}): {out.stderr[-2000:]}")
    return out.stdout.strip().splitlines()[-1]


def docker_gateway() -> str:
    """The gateway of dockerd's default ``bridge`` network (``docker0``), e.g. 172.17.0.1.

    Docker 20.10 leaves ``Gateway`` out of the network's IPAM config when dockerd found no
    ``docker0`` at its start (a fresh machine): then the bridge interface's own address is it.
    """
    out = subprocess.run(
        ["docker", "network", "inspect", "bridge", "--format", "{{json .}}"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    net = json.loads(out.stdout)
    for entry in (net.get("IPAM") or {}).get("Config") or []:
        if entry.get("Gateway") and ":" not in entry["Gateway"]:
            return entry["Gateway"]
    ifname = (net.get("Options") or {}).get("com.docker.network.bridge.name", "docker0")
    out = subprocess.run(["ip", "-j", "-4", "addr", "show", "dev", ifname],
                         capture_output=True, text=True, check=False)  # fmt: skip
    for link in json.loads(out.stdout or "[]"):
        for addr in link.get("addr_info", []):
            if addr.get("family") == "inet":
                return addr["local"]
    raise RuntimeError(f"the default bridge network ({ifname}) has no IPv4 address")


def minion_server(
    docker_host: str,
    master: str,
    tag: str,
    master_port: int | None = None,
    address: str | None = None,
) -> dict:
    """A ``servers`` entry: a container on ``docker_host`` whose salt-minion talks to
    ``master`` (its id is the entry's name, or its ``minion_id`` when one is set)."""
    minion: dict = {"master": master}
    if master_port is not None:
        minion["master_port"] = master_port
    return {
        "node_type": "container",
        "address": address or master,
        "parents": docker_host,
        "container": {"image": tag, "restart": "unless-stopped", "minion": minion},
    }


def nrpe_settings(nagios_servers: list[str], commands: dict[str, str] | None = None) -> dict:
    """``saltmesh:nagios`` for the image's NRPE: Debian's paths, reload by signal."""
    return {
        "servers": nagios_servers,
        "nrpe": {"reload": "signal", "commands": commands or {}},
    }


def master_config(file_roots: list[str], pillar_root: str) -> dict:
    """Master overrides: listening on :func:`docker_gateway`, no auto_accept, the reactor."""
    return {
        "interface": docker_gateway(),
        "file_roots": {"base": list(file_roots)},
        "pillar_roots": {"base": [pillar_root]},
        "runner_dirs": [],
        "fileserver_followsymlinks": True,
        "auto_accept": False,
        "open_mode": False,
        "reactor": REACTOR,
    }


class KeyEvents:
    """A salt-factories ``on_auth_event_callback``: accepts the pending keys of
    ``accept_only`` (the harness's own minions) with ``salt-key``, and records those."""

    def __init__(self) -> None:
        self.accept_only: set[str] = set()
        self.accepted_by_hand: list[str] = []

    def __call__(self, master, payload: dict) -> None:
        if payload.get("act") == "pend" and payload.get("id") in self.accept_only:
            ret = master.salt_key_cli().run("--yes", "--accept", payload["id"])
            if ret.returncode != 0:
                raise RuntimeError(f"salt-key --accept {payload['id']}: {ret}")
            self.accepted_by_hand.append(payload["id"])


def container_ip(name: str) -> str:
    """The address of container ``name`` on the default bridge network."""
    out = subprocess.run(
        ["docker", "inspect", "--format", "{{.NetworkSettings.IPAddress}}", name],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return out.stdout.strip()


if __name__ == "__main__":
    print(image())
