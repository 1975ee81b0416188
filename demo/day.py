"""The operator's day (issue 10): the story ``make demo`` tells and the end-to-end test proves.

One :class:`Day` holds the lab: a real salt-master; three Docker hosts (network namespaces from
:mod:`tests.support.lab`, each with its own ovsdb-server + ovs-vswitchd, userspace datapath, and
its own salt-minion); nagios01 (a salt-minion, and a real nagios4 running in a namespace of its
own on the lab's underlay); a webhook receiver standing in for Slack; the machine's dockerd for
the containers. Each step is a method that prints what happened (real command output, abridged)
and returns the facts it saw; ``python -m demo`` prints them, ``tests/integration/test_day.py``
asserts them.

Step 8, the original story (a container that is its own minion: Nagios, its default NRPE
checks CRITICAL, ``salt mon01 state.sls nagios.nrpe``, RECOVERY), is :mod:`demo.minion_story`.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from demo.monitor import STATES, NamespacedNagios, Webhook
from demo.saltd import EventWatch, Master, stop_all, wait_for
from tests.support import docker as dk
from tests.support import minion_image as mi
from tests.support.lab import UNDERLAY_MTU, Host, Lab
from tests.support.net import received

REPO = Path(__file__).resolve().parent.parent
PREFIX = "smday"  # every namespace, directory and image of a demo starts with it (demo-clean)
DOCKER_HOSTS = ["docker01", "docker02", "docker03"]
NEWCOMER, NEWCOMER_IP = "docker04", "10.0.0.14"
NAGIOS_ID = "nagios01"
BRIDGE = "br-mesh"
NAGIOS_OVERLAY_IP = "192.168.77.5"  # nagios01 plugged into docker01's mesh bridge
PROBE_IP = "192.168.77.14"  # a probe on docker04's mesh bridge (step 7)
REACTOR = {"salt/minion/*/start": ["salt://reactor/mesh_join.sls"]}
STEPS = [
    ("plan", "The plan: salt-run mesh.plan, placement.plan, mesh.graph"),
    ("apply", "salt '*' state.apply from the master, twice"),
    ("matrix", "Containers on different hosts reach each other over the tunnels"),
    ("nagios_view", "Nagios' own view: hosts, parents, states"),
    ("stop_container", "A container stops: Nagios says DOWN, Slack hears it"),
    ("drift", "Drift by hand; the scheduled highstate repairs it"),
    ("join", "A fourth docker host joins; the reactor meshes it"),
    ("container_minion", "A container that is a minion: Nagios, CRITICAL, nagios.nrpe, RECOVERY"),
    ("explore", "Explore further"),
]


class DemoError(RuntimeError):
    pass


@dataclass
class Ping:
    source: str
    target: str
    address: str
    returncode: int
    sent: int
    received: int

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and self.received == self.sent


@dataclass
class HostView:
    """One host as Nagios has it: objects.cache (parents, address) and status.dat (state)."""

    name: str
    address: str
    parents: str
    state: str
    hard: bool
    output: str
    last_check: int


@dataclass
class PlanFacts:
    tunnels: dict[str, dict[str, str]]  # host -> {port: peer}
    placement: dict[str, str]  # container -> host, as placement.apply wrote it
    how: dict[str, str]  # container -> pinned | placed | kept | rebalanced (placement.plan)
    record: dict
    svg: Path


@dataclass
class ApplyFacts:
    first: dict[str, dict]  # minion -> {states, changed, failed}
    second: dict[str, dict]


@dataclass
class MatrixFacts:
    pings: list[Ping]
    placed: dict[str, str]  # container -> docker host whose OVS carries its port


@dataclass
class NagiosFacts:
    hosts: dict[str, HostView]
    placed: dict[str, str]  # container -> docker host, from OVS and Docker


@dataclass
class StopFacts:
    container: str
    host: str
    down: HostView
    problem: dict
    back_seconds: float
    up: HostView
    recovery: dict


@dataclass
class DriftFacts:
    host: str
    port: str
    peer: str
    options_before: dict
    options_after: dict
    port_seconds: float
    container: str
    container_host: str
    container_seconds: float
    attached_to: str | None
    ping: Ping
    verify: dict


@dataclass
class JoinFacts:
    first_ping_seconds: float
    all_seconds: float
    pings: list[Ping]
    join_run: dict
    peers: dict[str, set[str]]  # docker host -> peers of its tunnel ports
    newcomer_tunnels: int


@dataclass
class Container:
    name: str
    ip: str


def indent(text: str, by: str = "    ") -> str:
    return textwrap.indent(text.rstrip(), by)


def abridge(text: str, head: int = 14, tail: int = 4) -> str:
    lines = text.rstrip().splitlines()
    if len(lines) <= head + tail + 1:
        return "\n".join(lines)
    cut = len(lines) - head - tail
    return "\n".join([*lines[:head], f"... ({cut} lines)", *lines[-tail:]])


def ovs_map(value) -> dict:
    return dict(value[1]) if isinstance(value, list) and value and value[0] == "map" else {}


def tunnel_ports(h: Host) -> dict[str, dict]:
    """The mesh's tunnel ports on ``h``'s bridge: name -> {peer, options}."""
    if BRIDGE not in h.ovs.vsctl("list-br").split():
        return {}
    on_bridge = set(h.ovs.ports(BRIDGE))
    ids = {
        p["name"]: ovs_map(p["external_ids"]) for p in h.ovs.table("Port", "name", "external_ids")
    }
    out = {}
    for row in h.ovs.table("Interface", "name", "type", "options"):
        if row["type"] in ("gre", "vxlan", "geneve") and row["name"] in on_bridge:
            peer = ids.get(row["name"], {}).get("saltmesh-peer")
            if peer:
                out[row["name"]] = {"peer": peer, "options": ovs_map(row["options"])}
    return out


def ping_from(container: str, target: str, address: str, count: int = 3, wait: int = 2) -> Ping:
    """``ping`` run in ``container``'s network namespace; judged by exit status and replies."""
    info = dk.inspect(container)
    pid = (info or {}).get("State", {}).get("Pid") or 0
    if not pid:
        return Ping(container, target, address, -1, count, 0)
    out = dk.netns_exec(
        pid,
        "ping",
        "-n",
        "-q",
        "-c",
        str(count),
        "-i",
        "0.2",
        "-W",
        str(wait),
        address,
        check=False,
    )
    got = received(out.stdout) if "packets transmitted" in out.stdout else 0
    return Ping(container, target, address, out.returncode, count, got)


def timed_ping(container: str, target: str, address: str) -> tuple[Ping, float]:
    """One ping, 1 s timeout; with the time.monotonic() its answer came."""
    ping = ping_from(container, target, address, count=1, wait=1)
    return ping, time.monotonic()


class Day:
    def __init__(
        self,
        *,
        say: Callable[[str], None] = print,
        svg: Path | None = None,
        keep: bool = False,
        heal_seconds: int = 10,
    ):
        self.say = say
        self.keep = keep
        self.heal_seconds = heal_seconds
        self.tag = PREFIX + uuid.uuid4().hex[:4]
        self.dir = Path("/tmp") / self.tag
        self.svg = svg or self.dir / "mesh.svg"
        self.image = f"{self.tag}/busybox:latest"
        self.stack = contextlib.ExitStack()  # what this demo created, undone in reverse
        self.pillar_dir = self.dir / "pillar"
        self.lab: Lab | None = None
        self.master: Master | None = None
        self.minions: dict = {}
        self.events: EventWatch | None = None
        self.nagios: NamespacedNagios | None = None
        self.webhook: Webhook | None = None
        self.containers: dict[str, Container] = {}
        self.nagios_ns = f"{self.tag}-ng"

    # ------------------------------------------------------------------ plumbing

    def __enter__(self) -> Day:
        try:
            self.start()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if self.keep:
            self.stack.pop_all()
            if self.events is not None:
                self.events.stop()
            return
        self.stack.close()

    def host(self, name: str) -> Host:
        assert self.lab is not None
        return next(h for h in self.lab.hosts if h.name == name)

    def shown(self, command: str, output: str = "", *, full: bool = False) -> None:
        """A command as the user would type it (SALT_CONFIG_DIR set), then its output."""
        self.say(indent(f"$ {command}"))
        if output.strip():
            self.say(indent(output if full else abridge(output), "      "))

    def placed(self) -> dict[str, str]:
        """Where each container really runs: the docker host whose OVS has its port, with the
        container's current PID in the port's external_ids."""
        assert self.lab is not None
        out = {}
        for name in self.containers:
            info = dk.inspect(name)
            pid = str((info or {}).get("State", {}).get("Pid") or "")
            if not pid or pid == "0":
                continue
            for h in self.lab.hosts:
                if not h.ovs.running() or BRIDGE not in h.ovs.vsctl("list-br").split():
                    continue
                for row in h.ovs.table("Interface", "name", "external_ids"):
                    ids = ovs_map(row["external_ids"])
                    if ids.get("saltmesh-container") == name and ids.get("saltmesh-pid") == pid:
                        out[name] = h.name
        return out

    def _heal(self, hosts: list[str], enable: bool) -> None:
        """Pause (``schedule.disable``: the minion's whole scheduler, which no highstate
        re-enables, unlike a job's own flag that ``schedule.present`` resets) or resume the heal
        schedule on ``hosts``. Paused, wait until no state run of theirs is left: a scheduled
        highstate under way would undo what the step does."""
        assert self.master is not None
        master = self.master
        target = ",".join(hosts)
        if enable:
            master.salt_json(target, "schedule.enable", tgt_type="list")
            return

        def idle() -> bool:
            master.salt_json(target, "schedule.disable", tgt_type="list")
            listed = master.salt_json(target, "schedule.list", "return_yaml=False", tgt_type="list")
            if not all(
                isinstance(listed.get(h), dict) and listed[h].get("enabled") is False for h in hosts
            ):
                return False
            running = master.salt_json(target, "saltutil.running", tgt_type="list")
            return all(
                isinstance(running.get(h), list)
                and not any(str(j.get("fun", "")).startswith("state.") for j in running[h])
                for h in hosts
            )

        # A job the scheduler forked just before it was disabled shows in saltutil.running a
        # moment later: idle twice, 2 s apart, with the scheduler off all along.
        calm: list[float] = []

        def paused() -> bool:
            if not idle():
                calm.clear()
                return False
            calm.append(time.monotonic())
            return calm[-1] - calm[0] >= 2

        wait_for(paused, 300, f"the heal schedule of {target} to pause", step=1)

    # ------------------------------------------------------------------ setup

    def start(self) -> None:
        if os.geteuid() != 0:
            raise DemoError("the demo runs as root (network namespaces, OVS, dockerd)")
        for what in ("ovs-vsctl", "nft", "dot"):
            if not shutil.which(what):
                raise DemoError(f"{what} not found (make system installs it)")
        if not dk.have_docker():
            raise DemoError("no Docker engine answers (make daemons starts one)")
        pillar = yaml.safe_load((REPO / "pillar.example" / "servers.sls").read_text())["servers"]
        self.containers = {
            name: Container(name, s["container"]["networks"][0]["ip"].split("/")[0])
            for name, s in pillar.items()
            if s.get("node_type") == "container"
        }
        for name in self.containers:
            if dk.inspect(name) is not None:
                raise DemoError(f"a container named {name} exists already: make demo-clean")
        for h in [*DOCKER_HOSTS, NEWCOMER]:
            found = dk.docker("ps", "-aq", "--filter", f"label=saltmesh.host={h}").split()
            if found:
                raise DemoError(f"containers placed on {h} exist already: make demo-clean")

        stack = self.stack
        self.dir.mkdir(mode=0o755)
        stack.callback(shutil.rmtree, self.dir, ignore_errors=True)
        (self.dir / "day.json").write_text(json.dumps({"tag": self.tag, "image": self.image}))
        self.svg.parent.mkdir(parents=True, exist_ok=True)

        dk.import_image(dk.rootfs_tar(self.dir / "rootfs.tar"), self.image)
        stack.callback(dk.docker, "rmi", "-f", self.image, check=False)
        self.line("image", f"{self.image} (docker import of busybox-static; no registry)")

        ips = [pillar[h]["address"] for h in DOCKER_HOSTS] + [NEWCOMER_IP]
        self.lab = Lab(self.tag, self.dir / "lab", 4, names=[*DOCKER_HOSTS, NEWCOMER], ips=ips)
        stack.callback(self.lab.stop)
        stack.callback(self._stop_ovs)
        stack.callback(self._remove_containers)  # first: their ports go before the daemons
        self.lab.start(len(DOCKER_HOSTS))
        self.line(
            "docker01..03",
            f"network namespaces {self.tag}-h1..3 on one underlay switch (10.0.0.0/24), each "
            "with its own\novsdb-server + ovs-vswitchd (userspace datapath)",
        )
        self._nagios_netns(pillar[NAGIOS_ID]["address"])
        stack.callback(subprocess.run, ["ip", "netns", "del", self.nagios_ns], check=False)

        self.webhook = Webhook(self.dir / "webhook", self.nagios_ns).start()
        stack.callback(self.webhook.stop)
        self.nagios = NamespacedNagios(self.dir / "nagios", self.nagios_ns).start()
        stack.callback(self.nagios.stop)
        self.line(
            "nagios01",
            f"namespace {self.nagios_ns}, 10.0.0.5 on the underlay: nagios4 ({self.nagios.root})"
            f"\nand the Slack stand-in {self.webhook.url}",
        )

        # the master: the SLS tree and the _* folders (symlinks, as a user sets file_roots up),
        # the reactor of salt/reactor/mesh_join.sls, a pillar that names nobody yet
        tree = self.dir / "file_roots"
        tree.mkdir()
        for name in ("_modules", "_states", "_runners", "_returners", "_engines", "_utils"):
            (tree / name).symlink_to(REPO / name)
        self.pillar_dir.mkdir()
        (self.pillar_dir / "top.sls").write_text("base: {}\n")
        # the master listens on docker0's address, where the minion container reaches it; keys:
        # the lab's minions pre-seeded, the container's by its docker host's word
        self.master = Master(
            self.dir / "master",
            {
                "interface": mi.docker_gateway(),
                "auto_accept": False,
                "file_roots": {"base": [str(REPO / "salt"), str(tree)]},
                "pillar_roots": {"base": [str(self.pillar_dir)]},
                "fileserver_followsymlinks": True,
                "runner_dirs": [],
                "reactor": [REACTOR, *mi.REACTOR],
            },
        )
        stack.callback(self._stop_salt)
        self.master.start()
        self.master.run("saltutil.sync_all")  # the runners (mesh, placement) and the core
        self.events = EventWatch(self.master)
        stack.callback(self.events.stop)
        self.line(
            "master",
            f"salt-master {self._salt_version()} on {self.master.interface} (docker0; "
            f"SALT_CONFIG_DIR={self.master.config_dir}),\nkeys: the lab's minions pre-seeded, "
            "no auto_accept; reactors: salt/minion/*/start ->\n"
            "salt://reactor/mesh_join.sls, saltmesh/containers/minion-keys -> "
            "salt://reactor/minion_keys.sls",
        )

        ids = [*DOCKER_HOSTS, NAGIOS_ID]
        keys = self.dir / "minion-containers"  # saltmesh:minion_dir: what a container minion gets
        for h in self.lab.hosts:
            self.minions[h.name] = self.master.minion(
                h.name,
                self.dir / "minions" / h.name,
                {"saltmesh": {"ovsdb": h.ovs.db, "netns": h.netns, "minion_dir": str(keys)}},
            )
        self.minions[NAGIOS_ID] = self.master.minion(
            NAGIOS_ID, self.dir / "minions" / NAGIOS_ID, {}
        )
        for mid in ids:
            self.master.seed(mid, self.minions[mid])
            self.minions[mid].start()
        self.master.wait_minions(ids)
        # each start went through the reactor: mesh.join, skipped (no docker host in pillar yet)
        joins = wait_for(lambda: self._join_runs(ids), 120, "the reactor's mesh.join runs")
        skipped = sorted(m for m, r in joins.items() if "skipped" in r)
        self.line(
            "minions",
            f"{', '.join(ids)} started before the pillar named them:\n"
            f"the reactor's mesh.join skipped {', '.join(skipped) or 'none'}",
        )

        self._write_pillar(pillar)
        self.line(
            "pillar",
            f"pillar.example/ as shipped + {self.pillar_dir}/demo.sls: userspace datapath,\n"
            f"lab MTU, the image, nagios01's private paths, heal every {self.heal_seconds} s",
        )
        synced = self.master.salt_json("*", "saltutil.sync_all")
        if sorted(synced) != sorted(ids):
            raise DemoError(f"saltutil.sync_all answered for {sorted(synced)}, not {ids}")
        self.line("synced", f"salt '*' saltutil.sync_all ({len(synced)} minions)")

    def line(self, label: str, text: str) -> None:
        """One line of the setup, as it is done."""
        first, *rest = text.splitlines()
        self.say(indent("\n".join([f"{label:<13}{first}", *(f"{'':<13}{r}" for r in rest)])))

    def _salt_version(self) -> str:
        assert self.master is not None
        return self.master.run("--version").stdout.split()[1]

    def _join_runs(self, minions: list[str]) -> dict[str, dict] | None:
        """The return of the reactor's mesh.join for each of ``minions``, once all arrived."""
        assert self.events is not None
        runs = {}
        for _, data in self.events.matching(
            lambda tag, d: tag.startswith("salt/run/") and tag.endswith("/ret")
        ):
            if data.get("fun") != "runner.mesh.join":
                continue
            minion = (data.get("fun_args") or [{}])[0]
            minion = minion.get("minion") if isinstance(minion, dict) else None
            if minion in minions:
                runs[minion] = data.get("return") or {}
        return runs if len(runs) == len(minions) else None

    def _nagios_netns(self, address: str) -> None:
        """nagios01's namespace, plugged into the underlay switch at its pillar address."""
        assert self.lab is not None
        ns, peer = self.nagios_ns, f"{self.tag}-pn"
        run = ["ip", "-n", ns]
        subprocess.run(["ip", "netns", "add", ns], check=True)
        subprocess.run([*run, "link", "set", "lo", "up"], check=True)
        subprocess.run(
            ["ip", "link", "add", "eth0", "netns", ns, "mtu", str(UNDERLAY_MTU), "type", "veth",
             "peer", "name", peer, "netns", self.lab.switch, "mtu", str(UNDERLAY_MTU)],
            check=True,
        )  # fmt: skip
        subprocess.run(
            ["ip", "-n", self.lab.switch, "link", "set", peer, "master", "ul", "up"], check=True
        )
        subprocess.run([*run, "addr", "add", f"{address}/24", "dev", "eth0"], check=True)
        subprocess.run([*run, "link", "set", "eth0", "up"], check=True)

    def _plug_nagios_into_mesh(self) -> None:
        """A veth from nagios01's namespace to docker01's mesh bridge (a port saltmesh does not
        own), so Nagios reaches every container over the overlay."""
        h = self.host("docker01")
        ns, hostside = self.nagios_ns, f"{self.tag}-nm"
        if (
            subprocess.run(
                ["ip", "-n", ns, "link", "show", "mesh0"], capture_output=True
            ).returncode
            == 0
        ):
            return
        subprocess.run(
            ["ip", "link", "add", "mesh0", "netns", ns, "mtu", "1450", "type", "veth",
             "peer", "name", hostside, "netns", h.netns, "mtu", "1450"],
            check=True,
        )  # fmt: skip
        subprocess.run(["ip", "-n", h.netns, "link", "set", hostside, "up"], check=True)
        h.ovs.vsctl("--may-exist", "add-port", BRIDGE, hostside)
        subprocess.run(
            ["ip", "netns", "exec", ns, "sysctl", "-qw", "net.ipv6.conf.mesh0.disable_ipv6=1"],
            check=False,
        )
        # the userspace datapath does not fill in offloaded checksums: TCP (check_nrpe) needs
        # them computed by the sender, as saltmesh does inside containers
        subprocess.run(
            ["ip", "netns", "exec", ns, "ethtool", "-K", "mesh0", "tx", "off"],
            capture_output=True, check=True,
        )  # fmt: skip
        subprocess.run(
            ["ip", "-n", ns, "addr", "add", f"{NAGIOS_OVERLAY_IP}/24", "dev", "mesh0"], check=True
        )
        subprocess.run(["ip", "-n", ns, "link", "set", "mesh0", "up"], check=True)

    def _write_pillar(self, servers: dict) -> None:
        """pillar.example/ as shipped, plus demo.sls: what one machine must change."""
        for f in (REPO / "pillar.example").glob("*.sls"):
            shutil.copy(f, self.pillar_dir / f.name)
        top = yaml.safe_load((REPO / "pillar.example" / "top.sls").read_text())
        top["base"]["*"].append("demo")
        assert self.nagios is not None and self.webhook is not None
        nrpe = self.dir / "nrpe"
        for mid in [*DOCKER_HOSTS, NEWCOMER, NAGIOS_ID]:
            (nrpe / mid / "nrpe.d").mkdir(parents=True)
            (nrpe / mid / "nrpe.cfg").write_text(f"include_dir={nrpe / mid / 'nrpe.d'}\n")
        overlay = {
            "saltmesh": {
                "heal_seconds": self.heal_seconds,
                # no OVS kernel module here: userspace datapath; the lab's underlay MTU
                "mesh": {"datapath_type": "netdev", "underlay_mtu": UNDERLAY_MTU},
                "nagios": {
                    "main_config": str(self.nagios.cfg),
                    "conf_dir": str(self.nagios.conf_dir),
                    "reload": "signal",
                    "packages": [],
                    "slack": {
                        "webhook_url": self.webhook.url,
                        "url_file": str(self.nagios.root / "slack.url"),
                        "script": str(self.nagios.root / "bin" / "slack-notify"),
                        "python": sys.executable,  # the venv's: it has requests
                    },
                    # the lab's minions: private NRPE files; a minion container (step 8):
                    # Debian's, as pillar.example has them
                    "nrpe": "@NRPE@",
                },
            },
            "servers": {name: {"container": {"image": self.image}} for name in self.containers},
        }
        ours = json.dumps([*DOCKER_HOSTS, NEWCOMER, NAGIOS_ID])
        at = f"'{nrpe}/' ~ me ~ '"
        text = (
            "{%- set me = grains.get('id') or 'none' %}\n"
            f"{{%- set nrpe = {{'allowed_hosts': ['{NAGIOS_OVERLAY_IP}']}} %}}\n"
            f"{{%- if me in {ours} %}}\n"
            f"{{%- do nrpe.update({{'main_config': {at}/nrpe.cfg', 'include_dir': {at}/nrpe.d',"
            " 'reload': 'none', 'packages': []}) %}\n"
            "{%- endif %}\n" + yaml.safe_dump(overlay).replace("'@NRPE@'", "{{ nrpe | json }}")
        )
        (self.pillar_dir / "demo.sls").write_text(text)
        (self.pillar_dir / "top.sls").write_text(yaml.safe_dump(top))

    def _remove_containers(self) -> None:
        for name in self.containers:  # only ours: by exact name and image
            info = dk.inspect(name)
            if info and info["Config"]["Image"] == self.image:
                dk.docker("rm", "-f", name, check=False)
        from demo import minion_story

        minion_story.remove([*DOCKER_HOSTS, NEWCOMER])

    def _stop_ovs(self) -> None:
        assert self.lab is not None
        threads = [threading.Thread(target=h.ovs.stop) for h in self.lab.hosts]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    def _stop_salt(self) -> None:
        assert self.master is not None
        stop_all([*self.minions.values(), self.master.daemon], timeout=3)

    # ------------------------------------------------------------------ step 1

    def plan(self) -> PlanFacts:
        """The runners compute what nobody writes by hand: every tunnel, every placement, the
        picture."""
        assert self.master is not None
        m = self.master
        self.shown("salt-run mesh.plan", m.run("mesh.plan", "--out=txt").stdout, full=True)
        data = json.loads(m.run("mesh.plan", "--out=json").stdout)
        tunnels = {h: {t["name"]: t["peer"] for t in hp["tunnels"]} for h, hp in data.items()}

        table = m.run("placement.plan", "--out=nested").stdout
        self.shown("salt-run placement.plan", table, full=True)
        rows = json.loads(m.run("placement.plan", "--out=json").stdout)
        how = {name: row["how"] for name, row in rows.items()}
        applied = json.loads(m.run("placement.apply", "--out=json").stdout)
        record = Path(applied["path"])
        self.shown(
            "salt-run placement.apply",
            f"changes: {json.dumps(applied['changes'])}\nwrote {record}:\n{record.read_text()}",
            full=True,
        )
        written = yaml.safe_load(record.read_text())
        placement = (written.get("saltmesh") or {}).get("placement") or {}

        out = m.run("mesh.graph", "format=svg", f"path={self.svg}", "--out=txt").stdout
        self.shown(f"salt-run mesh.graph format=svg path={self.svg}", out, full=True)
        size = self.svg.stat().st_size if self.svg.exists() else 0
        self.say(indent(f"the picture: {self.svg} ({size} bytes; open it in a browser)"))
        return PlanFacts(tunnels, placement, how, written, self.svg)

    # ------------------------------------------------------------------ step 2

    def _highstate(self, *, show_states: bool) -> dict[str, dict]:
        assert self.master is not None
        self.say(indent("$ salt '*' state.apply queue=True --state-output=terse"))
        proc = self.master.salt(
            "*", "state.apply", "queue=True", "--state-output=terse", "--show-jid", check=False
        )
        text = proc.stdout
        jid = re.search(r"^jid: (\d+)", text, re.M)
        if not jid:
            raise DemoError(f"salt '*' state.apply printed no jid:\n{text}{proc.stderr}")
        blocks: dict[str, list[str]] = {}  # abridged: Started and totals cut, by minion
        minion = ""
        for line in text.splitlines():
            if re.match(r"^\S+:$", line) and not line.startswith("jid"):
                minion = line[:-1]
                blocks[minion] = []
            elif line.strip().startswith("Name:") and show_states:
                blocks.setdefault(minion, []).append(re.sub(r" - Started: \S+", "", line))
            elif line.startswith(("Succeeded:", "Failed:")):
                summary = blocks.setdefault(f"{minion} summary", [])
                summary.append(" ".join(line.split()))
        shown = []
        for minion in sorted(m for m in blocks if not m.endswith(" summary")):
            summary = ", ".join(blocks.get(f"{minion} summary", []))
            if show_states:
                shown += [f"{minion}:", *blocks[minion], f"  Summary for {minion}: {summary}"]
            else:
                shown.append(f"Summary for {minion}: {summary}")
        self.say(indent("\n".join(shown), "      "))
        data = json.loads(self.master.run("jobs.lookup_jid", jid.group(1), "--out=json").stdout)
        facts = {}
        for minion, states in sorted(data.items()):
            if not isinstance(states, dict):
                facts[minion] = {"states": 0, "changed": 0, "failed": 1, "error": str(states)}
                continue
            results = [r for r in states.values() if isinstance(r, dict)]
            facts[minion] = {
                "states": len(results),
                "changed": sum(1 for r in results if r.get("changes")),
                "failed": sum(1 for r in results if r.get("result") is not True),
                "ids": sorted(r.get("__id__", "?") for r in results),
            }
        return facts

    def apply(self) -> ApplyFacts:
        """The highstate of salt/top.sls, from the master, on every minion; then again."""
        first = self._highstate(show_states=True)
        self.say(indent("second run: nothing left to do"))
        second = self._highstate(show_states=False)
        changed = sum(f["changed"] for f in second.values())
        self.say(indent(f"changes in the second run: {changed}"))
        return ApplyFacts(first, second)

    # ------------------------------------------------------------------ step 3

    def matrix(self) -> MatrixFacts:
        """Every container pings every container on another docker host (3 pings each)."""
        placed = self.placed()
        names = sorted(self.containers, key=lambda n: placed.get(n, ""))
        pings = []
        for a in names:
            for b in names:
                if a != b and placed.get(a) != placed.get(b):
                    pings.append(ping_from(a, b, self.containers[b].ip))

        def label(n: str) -> str:
            return f"{n} ({placed.get(n, '?')})"

        width = max(len(label(n)) for n in names)
        rows = ["from / to".ljust(width) + "  " + "  ".join(label(n).ljust(width) for n in names)]
        for a in names:
            cells = []
            for b in names:
                p = next((p for p in pings if p.source == a and p.target == b), None)
                cell = "-" if p is None else f"{p.received}/{p.sent} {'ok' if p.ok else 'FAIL'}"
                cells.append(cell.ljust(width))
            rows.append((label(a).ljust(width) + "  " + "  ".join(cells)).rstrip())
        self.say(indent("ping -c 3 from each container's network namespace (replies/sent):"))
        self.say(indent("\n".join(rows), "      "))
        self.say(indent("each ping crosses one VXLAN tunnel between two docker hosts' br-mesh"))
        for source in sorted({p.source for p in pings if not p.ok}):
            self.say(indent(f"{source} did not get its replies; what its side sees:"))
            self.say(indent(self.diagnose(source, placed.get(source)), "      "))
        return MatrixFacts(pings, placed)

    def diagnose(self, container: str, host: str | None) -> str:
        """A failed ping's evidence: the container's neighbours, its host's MAC table."""
        info = dk.inspect(container) or {}
        pid = info.get("State", {}).get("Pid") or 0
        out = [f"{container}: {info.get('State', {}).get('Status', 'no such container')}"]
        if pid:
            neigh = dk.netns_exec(pid, "ip", "neigh", check=False).stdout.strip()
            out.append(f"ip neigh: {neigh or '(empty)'}")
        if host:
            h = self.host(host)
            out.append(f"{host} fdb/show {BRIDGE}:\n{h.ovs.appctl('fdb/show', BRIDGE).rstrip()}")
            ports = {r["name"]: r.get("ofport") for r in h.ovs.table("Interface", "name", "ofport")}
            out.append(f"{host} ports: {ports}")
        return "\n".join(out)

    # ------------------------------------------------------------------ step 4

    def _view(self, names: list[str]) -> dict[str, HostView]:
        assert self.nagios is not None
        objects = self.nagios.hosts()
        status = self.nagios.statuses()
        out = {}
        for n in names:
            st = status.get(n, {})
            out[n] = HostView(
                name=n,
                address=objects.get(n, {}).get("address", ""),
                parents=objects.get(n, {}).get("parents", ""),
                state=STATES.get(st.get("current_state", ""), "?")
                if st.get("has_been_checked") == "1"
                else "PENDING",
                hard=st.get("state_type") == "1",
                output=st.get("plugin_output", ""),
                last_check=int(st.get("last_check", "0") or 0),
            )
        return out

    def _view_lines(self, views: dict[str, HostView], placed: dict[str, str]) -> str:
        rows = [("HOST", "ADDRESS", "PARENTS", "STATE", "RUNS ON", "CHECK OUTPUT")]
        for v in views.values():
            state = f"{v.state} ({'hard' if v.hard else 'soft'})"
            where = placed.get(v.name, "-" if v.name not in self.containers else "(not running)")
            rows.append((v.name, v.address, v.parents or "-", state, where, v.output[:48]))
        widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
        return "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows
        )

    def nagios_view(self) -> NagiosFacts:
        """What Nagios itself says, after checks it ran itself, forced now."""
        assert self.nagios is not None
        self._plug_nagios_into_mesh()
        hosts = sorted(self.nagios.hosts(), key=lambda n: (n in self.containers, n))
        self.nagios.start_checks()
        since = self.nagios.force_checks(hosts)
        self.nagios.wait_checked(hosts, since)
        time.sleep(2.5)  # one more status.dat write: the checks' own results, not their start
        views = self._view(hosts)
        placed = self.placed()
        self.say(
            indent(
                "nagios4 runs in nagios01's namespace; its host check is Debian's check-host-alive\n"
                "(check_ping -p 1): docker hosts over the underlay (10.0.0.0/24), containers over\n"
                f"the mesh (nagios01 is plugged into docker01's {BRIDGE} as {NAGIOS_OVERLAY_IP}).\n"
                "Forced checks of every host, then objects.cache + status.dat as nagios4 wrote them\n"
                "(RUNS ON: the docker host whose OVS carries the container's port, for comparison):"
            )
        )
        self.say(indent(self._view_lines(views, placed), "      "))
        if "localhost" in views:
            self.say(
                indent(
                    "localhost is Debian's localhost.cfg (nagios4's own machine); the rest is the pillar"
                )
            )
        return NagiosFacts(views, placed)

    # ------------------------------------------------------------------ step 5

    def stop_container(self, name: str = "db01") -> StopFacts:
        """``docker stop``: Nagios' next check says DOWN, the webhook gets the Slack message;
        the heal schedule brings it back and Nagios says UP."""
        assert self.nagios is not None and self.webhook is not None
        host = self.placed()[name]
        self.say(indent(f"{name} runs on {host}; its heal schedule is paused while we look:"))
        self.shown(f"salt {host} schedule.disable")
        self._heal([host], enable=False)
        self.shown(f"docker stop {name}", dk.docker("stop", "-t", "2", name))
        t0 = time.monotonic()

        def at(text: str) -> None:
            self.say(indent(f"{time.monotonic() - t0:5.1f} s  {text}"))

        since = self.nagios.force_checks([name])
        at(f"Nagios is asked for a check of {name} now (SCHEDULE_FORCED_HOST_CHECK)")
        down = self._wait_state(name, "DOWN", since)
        if down.state != "DOWN":
            raise DemoError(f"Nagios still says {name} is {down.state}: {down.output}")
        at(f"Nagios: {name} {down.state} ({'hard' if down.hard else 'soft'}): {down.output}")
        problem = self.webhook.wait_for(lambda p: self._about(p, name, "PROBLEM"))
        at("the webhook receiver got:")
        self._show_post(problem)

        self.shown(f"salt {host} schedule.enable")
        resumed = time.monotonic()
        self._heal([host], enable=True)
        wait_for(lambda: self.placed().get(name) == host, 120, f"{name} to run again", step=0.5)
        back = time.monotonic() - resumed
        at(f"the scheduled highstate started {name} again, {back:.1f} s after the resume")
        since = self.nagios.force_checks([name])
        up = self._wait_state(name, "UP", since)
        at(f"Nagios: {name} {up.state}: {up.output}")
        recovery = self.webhook.wait_for(lambda p: self._about(p, name, "RECOVERY"))
        at("the webhook receiver got:")
        self._show_post(recovery)
        return StopFacts(name, host, down, problem, back, up, recovery)

    def _wait_state(self, name: str, state: str, since: int, timeout: float = 60) -> HostView:
        """The host's view once a check at or after ``since`` gave ``state`` (or the last one)."""
        assert self.nagios is not None
        deadline = time.monotonic() + timeout
        while True:
            view = self._view([name])[name]
            if view.last_check >= since and view.state == state:
                return view
            if time.monotonic() > deadline:
                return view
            if view.last_check >= since:  # checked, other state: check again
                since = self.nagios.force_checks([name])
            time.sleep(0.5)

    @staticmethod
    def _about(post: dict, host: str, kind: str) -> bool:
        text = json.dumps(post.get("json", {}))
        return f" {host} " in f" {text} ".replace('"', " ") and kind in text

    def _show_post(self, post: dict) -> None:
        data = post.get("json", {})
        lines = [
            f"POST {post.get('path')}  channel {data.get('channel')}",
            f"text: {data.get('text')}",
        ]
        for att in data.get("attachments") or []:
            lines.append(f"attachment ({att.get('color')}): {att.get('title')}")
            if att.get("text"):
                lines.append(f"  {att['text']}")
        self.say(indent("\n".join(lines), "             "))

    # ------------------------------------------------------------------ step 6

    def drift(
        self, host: str = "docker02", peer: str = "docker03", container: str = "cache01"
    ) -> DriftFacts:
        """A tunnel port deleted, a container removed, by hand; nobody types anything after."""
        h = self.host(host)
        port, before = next((n, t) for n, t in tunnel_ports(h).items() if t["peer"] == peer)
        c_host = self.placed()[container]
        self.shown(
            f"ovs-vsctl --db={h.ovs.db} del-port {BRIDGE} {port}   # {host}'s tunnel to {peer}"
        )
        h.ovs.vsctl("del-port", BRIDGE, port)
        t0 = time.monotonic()
        self.shown(f"docker rm -f {container}   # on {c_host}", dk.docker("rm", "-f", container))
        gone = port not in tunnel_ports(h) and dk.inspect(container) is None
        self.say(
            indent(
                f"both gone: {gone}; waiting for the heal schedule (every {self.heal_seconds} s)"
            )
        )
        seen: dict[str, float] = {}
        deadline = t0 + max(120, 6 * self.heal_seconds)
        while len(seen) < 2 and time.monotonic() < deadline:
            if "port" not in seen and port in tunnel_ports(h):
                seen["port"] = time.monotonic() - t0
                self.say(indent(f"{seen['port']:5.1f} s  {host}: {port} is back on {BRIDGE}"))
            if "container" not in seen and self.placed().get(container) == c_host:
                seen["container"] = time.monotonic() - t0
                self.say(
                    indent(
                        f"{seen['container']:5.1f} s  {c_host}: {container} runs again, on {BRIDGE}"
                    )
                )
            time.sleep(0.5)
        if len(seen) == 2:
            self.say(
                indent(
                    f"both repaired {max(seen.values()):.1f} s after the drift, no command typed"
                )
            )
        after = tunnel_ports(h).get(port, {})
        attached = self.placed().get(container)
        source = next(n for n, p in self.placed().items() if p == host)
        ping = ping_from(source, container, self.containers[container].ip)
        self.say(
            indent(
                f"{source} ({host}) -> {container} ({c_host}) over the repaired tunnel: "
                f"{ping.received}/{ping.sent} {'ok' if ping.ok else 'FAIL'}"
            )
        )
        assert self.master is not None
        verify = json.loads(self.master.run("mesh.verify", "--out=json").stdout)
        self.shown("salt-run mesh.verify", json.dumps(verify), full=True)
        return DriftFacts(
            host=host, port=port, peer=peer, options_before=before["options"],
            options_after=after.get("options", {}), port_seconds=seen.get("port", -1.0),
            container=container, container_host=c_host,
            container_seconds=seen.get("container", -1.0), attached_to=attached, ping=ping,
            verify=verify,
        )  # fmt: skip

    # ------------------------------------------------------------------ step 7

    def join(self) -> JoinFacts:
        """docker04 boots and its minion starts; the reactor does the rest."""
        assert self.lab is not None and self.master is not None
        old = list(DOCKER_HOSTS)
        self.say(indent("the heal schedules are paused: what follows is the reactor's doing"))
        self.shown(f"salt -L {','.join(old)} schedule.disable")
        self._heal(old, enable=False)
        new = self.host(NEWCOMER)
        self.lab.start_host(new)
        self.say(
            indent(f"{NEWCOMER} boots: namespace {new.netns}, OVS, underlay {new.underlay_ip}")
        )
        entry = {
            NEWCOMER: {
                "node_type": "docker_host",
                "address": NEWCOMER_IP,
                "use": ["linux-server"],
                "hostgroups": ["docker-hosts"],
            }
        }
        text = yaml.safe_dump({"servers": entry}, sort_keys=False)
        (self.pillar_dir / f"{NEWCOMER}.sls").write_text(text)
        top = yaml.safe_load((self.pillar_dir / "top.sls").read_text())
        top["base"]["*"].append(NEWCOMER)
        (self.pillar_dir / "top.sls").write_text(yaml.safe_dump(top))
        self.say(indent(f"the pillar gains it ({self.pillar_dir}/{NEWCOMER}.sls, in top.sls):"))
        self.say(indent(text, "      "))

        minion = self.minions[NEWCOMER]
        self.master.seed(NEWCOMER, minion)
        minion.start()
        t0 = minion.started_at
        assert t0 is not None
        self.shown(f"salt-minion -c {minion.config_dir}   # {NEWCOMER}'s minion starts: t = 0")
        sources = sorted(self.containers)
        first: dict[str, float] = {}
        probe = False
        deadline = t0 + 240
        while len(first) < len(sources) and time.monotonic() < deadline:
            if not probe and BRIDGE in new.ovs.vsctl("list-br").split():
                new.add_endpoint(BRIDGE, f"{PROBE_IP}/24", name="probe0")
                probe = True
                self.say(
                    indent(
                        f"{time.monotonic() - t0:5.1f} s  {BRIDGE} exists on {NEWCOMER}; the demo "
                        f"puts a probe there ({PROBE_IP}, docker04 runs no container yet)"
                    )
                )
            if probe:  # every container still waiting pings at once, 1 s timeout
                todo = [c for c in sources if c not in first]
                with ThreadPoolExecutor(len(todo)) as pool:
                    got = list(pool.map(lambda c: timed_ping(c, NEWCOMER, PROBE_IP), todo))
                for c, (ping, done) in zip(todo, got, strict=True):
                    if ping.ok:
                        first[c] = done - t0
                        where = self.placed().get(c)
                        self.say(
                            indent(
                                f"{first[c]:5.1f} s  {c} ({where}) pings {PROBE_IP} on {NEWCOMER}"
                            )
                        )
            time.sleep(0.2)
        all_seconds = time.monotonic() - t0
        runs = wait_for(lambda: self._join_runs([NEWCOMER]), 120, "the reactor's mesh.join run")
        run = runs[NEWCOMER]
        self.say(indent("the reactor's run (salt-run mesh.join, from the master's event bus):"))
        self.say(indent(yaml.safe_dump(run, sort_keys=False), "      "))
        pings = [ping_from(c, NEWCOMER, PROBE_IP) for c in sources]
        peers = {h.name: {t["peer"] for t in tunnel_ports(h).values()} for h in self.lab.hosts}
        self.shown(f"salt -L {','.join(old)} schedule.enable   # resumed")
        self._heal(old, enable=True)
        firsts = sorted(first.values())
        self.say(
            indent(
                f"first container ping across a new tunnel: {firsts[0]:.1f} s after the minion "
                f"started; all {len(first)} containers: {max(firsts):.1f} s"
                if firsts
                else "no container reached docker04"
            )
        )
        return JoinFacts(
            first_ping_seconds=firsts[0] if firsts else -1.0,
            all_seconds=max(firsts) if firsts else all_seconds,
            pings=pings, join_run=run, peers=peers,
            newcomer_tunnels=len(tunnel_ports(new)),
        )  # fmt: skip

    # ------------------------------------------------------------------ step 8

    def container_minion(self):
        """mon01, a container that is its own minion: see :mod:`demo.minion_story`."""
        from demo import minion_story

        return minion_story.run(self)

    # ------------------------------------------------------------------ step 9

    def explore(self) -> list[str]:
        """Commands to type next (they work while the lab runs: ``make demo KEEP=1``)."""
        assert self.master is not None and self.nagios is not None and self.lab is not None
        h1 = self.host("docker01")
        commands = [
            f"export SALT_CONFIG_DIR={self.master.config_dir}",
            f"export PATH={Path(sys.executable).parent}:$PATH",
            "salt '*' test.ping",
            "salt-run mesh.verify",
            "salt-run mesh.graph format=svg path=/tmp/mesh.svg status=True",
            "salt 'docker*' state.apply test=True",
            "salt-run placement.plan",
            f"ovs-vsctl --db={h1.ovs.db} show",
            "docker exec web01 ping -c 3 192.168.77.21",
            "salt mon01 state.sls nagios.nrpe test=True",
            f"cat {self.nagios.conf_dir}/host_web01.cfg",
            f"grep -A14 'hoststatus' {self.nagios.status_file}",
            f"cat {self.webhook.log if self.webhook else ''}",
            "make demo-clean",
        ]
        if self.keep:
            self.say(indent("the lab keeps running (KEEP=1); type, as root, then make demo-clean:"))
        else:
            self.say(
                indent("the lab goes when the demo ends; with make demo KEEP=1 it stays, then:")
            )
        self.say(indent("\n".join(f"$ {c}" for c in commands)))
        return commands
