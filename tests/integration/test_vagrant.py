"""Vagrant, masterless: the Vagrantfile validates, and what its salt provisioner runs on a box
gives the end state the master run gives.

VirtualBox cannot run here, so ``tests/support/vagrant_provision.rb`` runs Vagrant's own salt
provisioner (``VagrantPlugins::Salt::Provisioner#provision``, Debian's vagrant 2.3.4) on the
repository's Vagrantfile against a recording communicator: the files it would upload to a box
and the commands it would run there, in order. Each Docker host of ``pillar.example`` then
becomes a "box": a network namespace with its own Open vSwitch on the underlay address of its
pillar entry (``tests/support/lab.py``), Salt from this venv plus the saltmesh wheel (the pip
route ``vagrant/bootstrap-saltmesh.sh`` installs), the uploaded minion config as its
``/etc/salt/minion``, a masterless salt-minion daemon (as the bootstrap starts) and, inside the
namespace, the provisioner's own ``salt-call state.highstate ...`` line.

What differs from a box, and why: paths (``--config-dir``, ``root_dir``, and the two roots the
minion config names, mapped to the wheel's SLS tree and a copy of ``pillar.example``), the
OVSDB socket of the namespace's OVS, and a pillar overlay for one machine: the userspace
datapath (no OVS kernel module), the lab's underlay MTU, a test image for the containers and
NRPE files in a temporary folder (no packages, no systemd).
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from saltmesh import inventory
from saltmesh.mesh import planner
from tests.conftest import REPO
from tests.support import docker as dk
from tests.support import wheel
from tests.support.lab import Lab
from tests.support.ovs import have_ovs

RECORDER = REPO / "tests" / "support" / "vagrant_provision.rb"
SALT_BIN = Path(sys.executable).parent
MACHINES = ["master", "docker01", "docker02", "docker03", "nagios01"]
DOCKER_HOSTS = ["docker01", "docker02", "docker03"]
# The two roots of vagrant/minion, and what stands for them on this machine.
BOX_SLS_ROOT = "/srv/saltmesh"  # bootstrap: ln -s "$(python3 -m saltmesh.loader)"
BOX_PILLAR_ROOT = "/vagrant/pillar.example"  # the synced checkout's pillar.example/


@pytest.fixture(scope="module")
def vagrant_env(tmp_path_factory) -> dict[str, str]:
    """Vagrant with its home and the project's .vagrant/ in a temporary folder (no box)."""
    if not shutil.which("vagrant") or not shutil.which("ruby"):
        pytest.skip("vagrant not installed (apt-get install vagrant)")
    tmp = tmp_path_factory.mktemp("vagrant")
    return {
        **os.environ,
        "VAGRANT_HOME": str(tmp / "home"),
        "VAGRANT_DOTFILE_PATH": str(tmp / "dot"),
        "VAGRANT_CHECKPOINT_DISABLE": "1",
    }


def provision(env: dict[str, str], machine: str, installed: bool = False) -> list[dict]:
    """The uploads and commands of Vagrant's salt provisioner for ``machine``, in order."""
    proc = subprocess.run(
        ["ruby", str(RECORDER), str(REPO), machine, "installed" if installed else "fresh"],
        capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def validate(env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    # --ignore-provider: with no provider installed (no VirtualBox here) validate stops at
    # "No usable default provider"; this checks everything else, provisioners included.
    return subprocess.run(
        ["vagrant", "validate", "--ignore-provider"],
        cwd=cwd, capture_output=True, text=True, env=env, check=False, timeout=120,
    )  # fmt: skip


def test_vagrantfile_validates(vagrant_env, tmp_path):
    proc = validate(vagrant_env, REPO)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Vagrantfile validated successfully" in proc.stdout
    checked = [line.split()[1].rstrip(":") for line in proc.stdout.splitlines() if "==>" in line]
    assert checked == MACHINES, proc.stdout

    # validate does check the salt provisioner: without the minion config it fails, naming it
    for name in ("Vagrantfile", "pillar.example/servers.sls", "vagrant/master",
                 "vagrant/bootstrap-saltmesh.sh"):  # fmt: skip
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO / name, tmp_path / name)
    proc = validate(vagrant_env, tmp_path)
    assert proc.returncode != 0
    assert str(tmp_path / "vagrant" / "minion") in proc.stdout + proc.stderr


def test_provisioner_actions(vagrant_env):
    """What `vagrant up` does on a Docker host and on the master, from Vagrant's own code."""
    box = provision(vagrant_env, "docker01")
    uploads = [a["upload"] for a in box if "upload" in a]
    assert [str(REPO / "vagrant" / "minion"), "/tmp/minion"] in uploads
    assert [str(REPO / "vagrant" / "bootstrap-saltmesh.sh"), "/tmp/bootstrap_salt.sh"] in uploads
    commands = [a["sudo"] for a in box if "sudo" in a]
    assert commands[-2:] == [
        "/tmp/bootstrap_salt.sh -i docker01 -F -c /tmp pip 3008.3",
        "salt-call state.highstate --retcode-passthrough --local --id docker01"
        " --log-level=info --no-color queue=True",
    ]
    # re-provisioning with Salt installed: configure only (-C), the same highstate
    again = [a["sudo"] for a in provision(vagrant_env, "docker01", installed=True) if "sudo" in a]
    assert again[-2:] == [commands[-2].replace(" pip", " -C pip"), commands[-1]]

    master = provision(vagrant_env, "master")
    assert [str(REPO / "vagrant" / "master"), "/tmp/master"] in [
        a["upload"] for a in master if "upload" in a
    ]
    commands = [a["sudo"] for a in master if "sudo" in a]
    assert commands[-1] == "/tmp/bootstrap_salt.sh  -F -c /tmp -M -N pip 3008.3"
    assert not any("state.highstate" in c for c in commands)


def bootstrap_dry_run(line: str) -> str:
    """What vagrant/bootstrap-saltmesh.sh makes of the options the provisioner passes it."""
    argv = shlex.split(line)
    assert argv[0] == "/tmp/bootstrap_salt.sh"
    proc = subprocess.run(
        ["bash", str(REPO / "vagrant" / "bootstrap-saltmesh.sh"), *argv[1:]],
        capture_output=True, text=True, check=False, timeout=30,
        env={**os.environ, "SALTMESH_BOOTSTRAP_DRY_RUN": "1"},
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_bootstrap_understands_the_provisioner(vagrant_env):
    """The bootstrap script parses the option strings Vagrant really passes it."""

    def line(machine, installed=False):
        (cmd,) = [
            a["sudo"]
            for a in provision(vagrant_env, machine, installed)
            if a.get("sudo", "").startswith("/tmp/bootstrap_salt.sh")
        ]
        return bootstrap_dry_run(cmd)

    assert line("docker01") == (
        "install=1 salt=3008.3 config_dir=/tmp force=1 master=0 minion=1 id=docker01"
    )
    assert line("nagios01", installed=True) == (
        "install=0 salt=3008.3 config_dir=/tmp force=1 master=0 minion=1 id=nagios01"
    )
    assert line("master") == "install=1 salt=3008.3 config_dir=/tmp force=1 master=1 minion=0 id="


# -- the masterless highstate of the Docker hosts ------------------------------------------


def highstate_line(actions: list[dict]) -> str:
    (line,) = [a["sudo"] for a in actions if "state.highstate" in a.get("sudo", "")]
    return line


def bootstrap_id(actions: list[dict]) -> str:
    """The minion id the bootstrap writes to /etc/salt/minion_id (its -i option)."""
    (line,) = [a["sudo"] for a in actions if a.get("sudo", "").startswith("/tmp/bootstrap_salt")]
    argv = line.split()
    return argv[argv.index("-i") + 1]


class Box:
    """One Docker host "box": its namespace host, /etc/salt and its masterless daemon."""

    def __init__(self, host, root: Path, actions: list[dict], site: Path):
        self.host = host
        self.name = host.name
        self.root = root
        self.conf = root / "etc" / "salt"
        self.actions = actions
        self.env = {**os.environ, "PYTHONPATH": str(site)}
        self.daemon: subprocess.Popen | None = None

    def ns(self, argv: list[str]) -> list[str]:
        return ["ip", "netns", "exec", self.host.netns, *argv]

    def start_daemon(self) -> None:
        """salt-minion without a master, as the bootstrap starts it (it runs mesh.heal)."""
        self.daemon = subprocess.Popen(
            self.ns([str(SALT_BIN / "salt-minion"), f"--config-dir={self.conf}",
                     "--log-level=quiet"]),
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True,
        )  # fmt: skip
        pattern = str(self.root / "var/run/salt/minion/minion_event_*_pub.ipc")
        deadline = time.monotonic() + 60
        while not glob.glob(pattern):
            assert self.daemon.poll() is None, f"{self.name}: salt-minion exited"
            assert time.monotonic() < deadline, f"{self.name}: salt-minion never listened"
            time.sleep(0.1)

    def stop_daemon(self) -> None:
        """SIGTERM: the daemon stops its own processes (some seconds)."""
        if self.daemon is not None and self.daemon.poll() is None:
            self.daemon.terminate()

    def reap_daemon(self) -> None:
        """Wait for it; whatever is left of its session (a scheduled job mid-run) is killed."""
        if self.daemon is None:
            return
        try:
            self.daemon.wait(30)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.daemon.pid, signal.SIGKILL)
            self.daemon.wait(10)

    def provisioner(self, *extra: str) -> subprocess.CompletedProcess:
        """The provisioner's highstate line, run in the box; only its config dir is ours."""
        argv = shlex.split(highstate_line(self.actions))
        assert argv[0] == "salt-call"
        argv = [str(SALT_BIN / "salt-call"), *argv[1:], f"--config-dir={self.conf}", *extra]
        return subprocess.run(
            self.ns(argv), capture_output=True, text=True, env=self.env, check=False, timeout=600
        )

    def call(self, *args: str):
        """``salt-call --local <args> --out=json`` with the box's config; the return data."""
        proc = subprocess.run(
            [str(SALT_BIN / "salt-call"), "--local", f"--config-dir={self.conf}",
             f"--id={self.name}", "--out=json", "--log-level=quiet", *args],
            capture_output=True, text=True, env=self.env, check=False, timeout=300,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stdout + proc.stderr
        return json.loads(proc.stdout)["local"]


def write_box_config(box: Box, sls_root: Path, image: str) -> None:
    """/etc/salt/minion as Vagrant uploads it; the box's paths and lab settings in minion.d."""
    (uploaded,) = [
        a["upload"][0] for a in box.actions if a.get("upload", [0, 0])[1] == "/tmp/minion"
    ]
    minion = yaml.safe_load(Path(uploaded).read_text())
    assert minion["file_client"] == "local"
    assert minion["file_roots"] == {"base": [BOX_SLS_ROOT]}
    assert minion["pillar_roots"] == {"base": [BOX_PILLAR_ROOT]}
    (box.conf / "minion.d").mkdir(parents=True)
    shutil.copy(uploaded, box.conf / "minion")

    pillar = box.root / "vagrant" / "pillar.example"
    shutil.copytree(REPO / "pillar.example", pillar)
    top = yaml.safe_load((pillar / "top.sls").read_text())
    top["base"]["*"].append("lab")
    (pillar / "top.sls").write_text(yaml.safe_dump(top))
    nrpe = box.root / "etc" / "nagios"
    (nrpe / "nrpe.d").mkdir(parents=True)
    (nrpe / "nrpe.cfg").write_text(f"allowed_hosts=127.0.0.1\ninclude_dir={nrpe / 'nrpe.d'}\n")
    servers = yaml.safe_load((pillar / "servers.sls").read_text())["servers"]
    lab = {
        "saltmesh": {
            # no OVS kernel module here: the userspace datapath; the lab's underlay MTU
            "mesh": {"datapath_type": "netdev", "underlay_mtu": 1600},
            "nagios": {
                "nrpe": {
                    "packages": [],
                    "reload": "none",
                    "main_config": str(nrpe / "nrpe.cfg"),
                    "include_dir": str(nrpe / "nrpe.d"),
                }
            },
        },
        "servers": {
            name: {"container": {"image": image}}
            for name, s in servers.items()
            if s.get("node_type") == "container"
        },
    }
    (pillar / "lab.sls").write_text(yaml.safe_dump(lab))
    override = {
        "id": bootstrap_id(box.actions),
        "root_dir": str(box.root),
        "file_roots": {"base": [str(sls_root)]},
        "pillar_roots": {"base": [str(pillar)]},
        "saltmesh": {"ovsdb": box.host.ovs.db},
    }
    (box.conf / "minion.d" / "lab.conf").write_text(yaml.safe_dump(override))


def ovs_map(value) -> dict:
    return dict(value[1]) if isinstance(value, list) and value[0] == "map" else {}


def mesh_state(ovs, bridge: str) -> dict:
    """The mesh as OVSDB has it: the bridge, its MTU and its tunnel ports, all columns we set."""
    ports = {p["name"]: p for p in ovs.table("Port", "name", "protected", "external_ids")}
    ifaces = {
        i["name"]: i for i in ovs.table("Interface", "name", "type", "options", "mtu_request")
    }
    (br,) = [b for b in ovs.table("Bridge", "name", "datapath_type") if b["name"] == bridge]
    tunnels = {
        name: {
            "type": iface["type"],
            "options": ovs_map(iface["options"]),
            "external_ids": ovs_map(ports[name]["external_ids"]),
            "protected": ports[name]["protected"],
        }
        for name, iface in ifaces.items()
        if planner.MESH_ID in ovs_map(ports.get(name, {}).get("external_ids"))
    }
    return {"datapath_type": br["datapath_type"], "mtu": ifaces[bridge]["mtu_request"],
            "tunnels": tunnels}  # fmt: skip


def planned_state(plan: planner.HostPlan) -> dict:
    """The same, from the planner (what `state.sls mesh` through the master applies)."""
    return {
        "datapath_type": plan.datapath_type,
        "mtu": plan.mtu,
        "tunnels": {
            t.name: {
                "type": plan.type,
                "options": plan.options(t),
                "external_ids": plan.external_ids(t),
                "protected": True,
            }
            for t in plan.tunnels
        },
    }


def changed_states(proc: subprocess.CompletedProcess) -> dict[str, dict]:
    data = json.loads(proc.stdout)["local"]
    assert isinstance(data, dict) and all("result" in r for r in data.values()), data
    return data


@pytest.fixture
def boxes(vagrant_env, wheel_site, tmp_path, prefix):
    if not have_ovs() or not shutil.which("nft"):
        pytest.skip("needs Open vSwitch and nftables")
    if not dk.have_docker():
        pytest.skip("needs a Docker engine and busybox-static")
    servers = yaml.safe_load((REPO / "pillar.example" / "servers.sls").read_text())["servers"]
    containers = sorted(n for n, s in servers.items() if s.get("node_type") == "container")
    # pillar.example's names are fixed: refuse to touch a live run of them (make demo)
    for name in DOCKER_HOSTS:
        found = dk.docker("ps", "-aq", "--filter", f"label=saltmesh.host={name}").split()
        assert not found, f"containers placed on {name} exist already (a demo running?)"
    for name in containers:
        assert dk.inspect(name) is None, f"a container named {name} exists already"

    lab = Lab(prefix, tmp_path / "lab", len(DOCKER_HOSTS), names=DOCKER_HOSTS,
              ips=[servers[h]["address"] for h in DOCKER_HOSTS])  # fmt: skip
    image = f"{prefix}/busybox:latest"
    sls_root = wheel.sls_root(wheel_site)
    # the boxes' roots: short, for the daemons' unix sockets (108 bytes at most)
    roots = Path(tempfile.mkdtemp(prefix="smt", dir="/tmp"))
    started: list[Box] = []
    try:
        dk.import_image(dk.rootfs_tar(tmp_path / "rootfs.tar"), image)
        lab.start()
        for host in lab.hosts:
            box = Box(host, roots / host.name, provision(vagrant_env, host.name), wheel_site)
            write_box_config(box, sls_root, image)
            started.append(box)
            box.start_daemon()
        yield started
    finally:
        for box in started:
            box.stop_daemon()
        for box in started:
            box.reap_daemon()
        for name in containers:  # only this test's containers: by exact name and image
            info = dk.inspect(name)
            if info and info["Config"]["Image"] == image:
                dk.docker("rm", "-f", name, check=False)
        dk.docker("rmi", "-f", image, check=False)
        lab.stop()
        shutil.rmtree(roots, ignore_errors=True)


def test_masterless_highstate_as_vagrant_runs_it(boxes):
    with ThreadPoolExecutor(len(boxes)) as pool:
        first = list(pool.map(lambda b: b.provisioner(), boxes))
    for box, proc in zip(boxes, first, strict=True):
        assert proc.returncode == 0, (box.name, proc.stdout[-6000:], proc.stderr[-3000:])
        assert "Failed:    0" in proc.stdout, (box.name, proc.stdout[-3000:])

    # the end state: each host's mesh share exactly as the planner gives it from this pillar
    pillar = boxes[0].call("pillar.items", "unmask=True")
    plans = planner.plan_fleet(inventory.parse(pillar))
    assert sorted(plans) == DOCKER_HOSTS
    for box in boxes:
        plan = plans[box.name]
        assert mesh_state(box.host.ovs, plan.bridge) == planned_state(plan), box.name
        assert len(plan.tunnels) == len(boxes) - 1

    # containers: web01 on docker01 reaches db01 on docker02 over the VXLAN tunnel
    web = dk.inspect("web01")
    assert web["Config"]["Labels"]["saltmesh.host"] == "docker01"
    out = dk.netns_exec(web["State"]["Pid"], "ping", "-c", "3", "-W", "2", "192.168.77.21",
                        check=False)  # fmt: skip
    assert out.returncode == 0, out.stdout + out.stderr

    # the heal schedule lives in the masterless daemon; NRPE got its file
    for box in boxes:
        schedule = box.call("schedule.list", "return_yaml=False")
        assert schedule["saltmesh-heal"]["function"] == "state.apply", schedule
        assert (box.root / "etc/nagios/nrpe.d/saltmesh.cfg").is_file()

    # `vagrant provision` again (queued behind the heal run the new schedule starts): no changes
    with ThreadPoolExecutor(len(boxes)) as pool:
        second = list(pool.map(lambda b: b.provisioner("--out=json"), boxes))
    for box, proc in zip(boxes, second, strict=True):
        assert proc.returncode == 0, (box.name, proc.stdout[-6000:], proc.stderr[-3000:])
        states = changed_states(proc)
        ids = {key.split("_|-")[1] for key in states}
        # mesh, containers, mesh.heal, nagios.nrpe: what salt/top.sls gives a docker host
        assert {"saltmesh-mesh", "saltmesh-containers", "saltmesh-heal",
                "saltmesh-nrpe-config"} <= ids, ids  # fmt: skip
        assert all(r["result"] is True for r in states.values()), states
        assert {k: r["changes"] for k, r in states.items() if r["changes"]} == {}, box.name
