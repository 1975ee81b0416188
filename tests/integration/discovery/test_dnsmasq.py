"""mesh.discovery through a real minion: a real dnsmasq on an OVS internal port in the private
OVS's network namespace, answering DNS (forward and reverse) and DHCP (its own clients only).

One story, in order: ``test=True`` predicts exactly and touches nothing; the real run does what
was predicted; dig gets the pillar's answers; a second run changes nothing; a new name reloads
the daemon with SIGHUP (same pid) and resolves; a configuration dnsmasq refuses is never
written and the old daemon keeps answering; discovery turned off removes the daemon, its port
and its files (predicted first), and the next run is quiet.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest

from saltmesh import inventory
from saltmesh.discovery import plan
from saltmesh.discovery.mac import derived_mac
from saltmesh.ovs.ovsdb import Ovsdb
from tests.conftest import state_ret
from tests.support.waiting import wait_until

pytestmark = pytest.mark.skipif(
    not all(os.path.exists(p) for p in ("/usr/sbin/dnsmasq", "/usr/bin/dig", "/bin/busybox")),
    reason="dnsmasq-base, dnsutils or busybox-static not installed",
)

NET = "10.201.0"
DOMAIN = "lab.test"


def pillar_data(minion_id: str, bridge: str, tmp, **discovery) -> dict:
    return {
        "servers": {
            "dnshost": {"node_type": "docker_host", "address": "10.0.0.11",
                        "minion_id": minion_id, "overlay_address": f"{NET}.2/24"},
            "peer": {"node_type": "docker_host", "address": "10.0.0.12",
                     "overlay_address": f"{NET}.3/24"},
            "db01": {"node_type": "container", "address": f"{NET}.21", "parents": "peer"},
            "app1": {"node_type": "container", "parents": "dnshost", "container": {
                "image": "busybox", "networks": [{"bridge": bridge, "dhcp": True}]}},
            "app2": {"node_type": "container", "parents": "peer", "container": {
                "image": "busybox", "networks": [{"bridge": bridge, "dhcp": True}]}},
        },
        "saltmesh": {
            "mesh": {"bridge": bridge, "domain": DOMAIN},
            "discovery": {"dhcp_range": [f"{NET}.200", f"{NET}.249"],
                          "conf_dir": str(tmp / "etc"), "run_dir": str(tmp / "run"),
                          **discovery},
        },
    }  # fmt: skip


class Lab:
    def __init__(self, ovs, cli, pillar, data):
        self.ovs, self.cli, self.pillar, self.data = ovs, cli, pillar, data
        self.pid_path = self.plan.path("pid")  # also once discovery is off

    def set(self, data: dict) -> None:
        self.data = data
        self.pillar.set(data)

    @property
    def plan(self) -> plan.HostPlan:
        return plan.plan_host(inventory.parse(self.data), "dnshost")

    def apply(self, test: bool = False) -> dict:
        """``state.sls mesh.discovery``: the mesh_discovery result (the pkg state is a no-op
        here: dnsmasq-base is installed)."""
        results = state_ret(self.cli.run("state.sls", "mesh.discovery", test=test))
        ours = [r for r in results if r["__id__"] == "saltmesh-discovery"]
        others = [r for r in results if r["__id__"] != "saltmesh-discovery"]
        assert all(r["result"] is True and not r["changes"] for r in others), others
        (res,) = ours
        return res

    def ns(self, *argv: str) -> str:
        return subprocess.run(
            ["ip", "netns", "exec", self.ovs.netns, *argv],
            capture_output=True, text=True, timeout=30, check=False,
        ).stdout  # fmt: skip

    def dig(self, *query: str) -> str:
        return self.ns("dig", "+short", "+time=1", "+tries=2", f"@{NET}.2", *query).strip()

    def dhcp(self, mac: str) -> str | None:
        """The address a DHCP client with ``mac`` on the bridge is offered, or None."""
        client, veth = f"{self.ovs.netns}c", f"smdc{uuid.uuid4().hex[:6]}"
        subprocess.run(["ip", "netns", "add", client], check=True)
        try:
            subprocess.run(["ip", "-n", self.ovs.netns, "link", "add", veth, "type", "veth",
                            "peer", "name", "eth0", "netns", client], check=True)  # fmt: skip
            subprocess.run(["ip", "-n", client, "link", "set", "eth0", "address", mac], check=True)
            subprocess.run(["ip", "-n", client, "link", "set", "eth0", "up"], check=True)
            subprocess.run(["ip", "-n", self.ovs.netns, "link", "set", veth, "up"], check=True)
            self.ovs.vsctl("add-port", self.plan.bridge, veth)
            out = subprocess.run(
                ["ip", "netns", "exec", client, "busybox", "udhcpc", "-i", "eth0", "-n", "-q",
                 "-t", "3", "-T", "1", "-s", "/bin/true"],
                capture_output=True, text=True, timeout=30, check=False,
            )  # fmt: skip
            m = re.search(r"lease of (\S+) obtained", out.stdout + out.stderr)
            return m.group(1) if m else None
        finally:
            self.ovs.vsctl("--if-exists", "del-port", veth)
            subprocess.run(["ip", "-n", self.ovs.netns, "link", "del", veth], check=False)
            subprocess.run(["ip", "netns", "del", client], check=False)

    def pid(self) -> int | None:
        path = self.pid_path
        return int(Path(path).read_text()) if os.path.exists(path) else None


@pytest.fixture
def lab(ovs, salt_call_cli, salt_minion, pillar, prefix):
    # dnsmasq reads its hosts files as its own unprivileged user: not under pytest's 0700 tmp
    tmp_path = Path(f"/tmp/{prefix}-dns")
    tmp_path.mkdir(mode=0o755)
    bridge = f"{prefix}m"
    db = Ovsdb(ovs.db)
    db.transact([("add-br", bridge), ("set", "Bridge", bridge, "datapath_type=netdev")])
    subprocess.run(["ip", "-n", ovs.netns, "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "-n", ovs.netns, "link", "set", bridge, "up"], check=True)
    data = pillar_data(salt_minion.id, bridge, tmp_path)
    lab = Lab(ovs, salt_call_cli, pillar, data)
    lab.set(data)
    try:
        yield lab
    finally:
        pid = lab.pid()
        if pid:
            subprocess.run(["kill", str(pid)], check=False)
        db.transact([("--if-exists", "del-br", bridge)])
        shutil.rmtree(tmp_path, ignore_errors=True)


def test_dns_and_dhcp_on_the_overlay(lab):
    p = lab.plan
    conf = p.path("conf")
    alloc = dict(inventory.parse(lab.data).discovery.dhcp)

    # test=True predicts everything and touches nothing
    predicted = lab.apply(test=True)
    assert predicted["result"] is None, predicted
    assert predicted["changes"]["port"] == {"old": None, "new": p.port}
    assert predicted["changes"]["dnsmasq"] == {"old": "stopped", "new": "running"}
    assert predicted["changes"]["records"]["new"] == 5
    assert not os.path.exists(conf) and p.port not in lab.ovs.ports(p.bridge)

    first = lab.apply()
    assert first["result"] is True, first
    assert first["changes"] == predicted["changes"]
    # the port carries its identity and the overlay address; dnsmasq listens there only
    assert (
        lab.ovs.vsctl("get", "Port", p.port, "external_ids:saltmesh-role").strip().strip('"')
        == "dns"
    )
    assert f"{NET}.2/24" in lab.ns("ip", "-o", "-4", "addr", "show", "dev", p.port)
    listening = lab.ns("ss", "-lnu")
    assert f"{NET}.2:53" in listening and "0.0.0.0:53" not in listening, listening

    # every name of the pillar, forward and reverse; the dhcp container by its allocation
    assert lab.dig(f"db01.{DOMAIN}") == f"{NET}.21"
    assert lab.dig("-x", f"{NET}.21") == f"db01.{DOMAIN}."
    assert lab.dig(f"app2.{DOMAIN}") == str(alloc["app2"])  # placed on the peer: DNS here too
    assert lab.dig(f"peer.{DOMAIN}") == "10.0.0.12"
    assert lab.dig(f"nosuch.{DOMAIN}") == ""  # ours, unknown: not forwarded

    # DHCP: only this host's own dhcp: true container (app1) gets an answer: a real client
    # (busybox udhcpc) with app1's derived MAC gets app1's address; app2's MAC (placed on the
    # peer) and an unknown MAC get no answer from this host
    dhcp = Path(p.path("dhcp")).read_text().splitlines()[1:]
    assert dhcp == [f"{derived_mac('app1')},app1,{alloc['app1']}"]
    assert lab.dhcp(derived_mac("app1")) == str(alloc["app1"])
    assert lab.dhcp(derived_mac("app2")) is None
    assert lab.dhcp("02:00:00:00:00:99") is None

    again = lab.apply()
    assert again["result"] is True and again["changes"] == {}, again
    pid = lab.pid()
    conf_text = Path(conf).read_text()

    # a new name: only the hosts file changes, SIGHUP, same process, the name resolves
    data = pillar_data_with(lab.data, "cache01", f"{NET}.31")
    lab.set(data)
    predicted = lab.apply(test=True)
    assert predicted["changes"] == {
        "records": {"old": 5, "new": 6, "added": [f"cache01.{DOMAIN} {NET}.31"]},
        "dnsmasq": {"old": "running", "new": "reloaded"},
    }, predicted
    reloaded = lab.apply()
    assert reloaded["result"] is True and reloaded["changes"] == predicted["changes"], reloaded
    assert lab.pid() == pid and Path(conf).read_text() == conf_text
    assert wait_until(
        lambda: lab.dig(f"cache01.{DOMAIN}") == f"{NET}.31",
        timeout=5,
        what="cache01 resolving after SIGHUP",
    )
    assert lab.apply()["changes"] == {}

    # a configuration dnsmasq refuses (an upstream on an interface this host lacks): refused,
    # nothing written, the old daemon still answers
    broken = {**lab.data, "saltmesh": {**lab.data["saltmesh"], "discovery": {
        **lab.data["saltmesh"]["discovery"], "upstream": ["fe80::1%nosuchif0"]}}}  # fmt: skip
    lab.set(broken)
    refused = lab.apply()
    assert refused["result"] is False, refused
    assert "dnsmasq refuses the new configuration" in refused["comment"], refused
    assert refused["changes"] == {}
    assert Path(conf).read_text() == conf_text and lab.pid() == pid
    assert lab.dig(f"cache01.{DOMAIN}") == f"{NET}.31"
    lab.set(data)
    assert lab.apply()["changes"] == {}  # nothing was half-applied

    # discovery turned off (and the dhcp containers gone, which need it): the daemon stopped,
    # its port and its files removed, then quiet
    files = [p.path(k) for k in ("conf", "hosts", "dhcp")]
    servers = {k: v for k, v in data["servers"].items() if k not in ("app1", "app2")}
    off = {"servers": servers, "saltmesh": {**data["saltmesh"], "discovery": {
        **data["saltmesh"]["discovery"], "enabled": False}}}  # fmt: skip
    lab.set(off)
    removal = {
        "port": {"old": p.port, "new": None},
        "dnsmasq": {"old": "running", "new": "stopped"},
        "files": {"old": files, "new": []},
    }
    predicted = lab.apply(test=True)
    assert predicted["result"] is None and predicted["changes"] == removal, predicted
    assert os.path.exists(f"/proc/{pid}") and p.port in lab.ovs.ports(p.bridge)
    removed = lab.apply()
    assert removed["result"] is True and removed["changes"] == removal, removed
    assert wait_until(lambda: not os.path.exists(f"/proc/{pid}"), timeout=5, what="dnsmasq gone")
    assert p.port not in lab.ovs.ports(p.bridge)
    assert not any(os.path.exists(f) for f in files) and lab.pid() is None
    assert f"{NET}.21" not in lab.dig(f"db01.{DOMAIN}")  # nobody answers there any more
    quiet = lab.apply()
    assert quiet["result"] is True and quiet["changes"] == {}, quiet
    assert "discovery is off" in quiet["comment"]


def pillar_data_with(data: dict, name: str, ip: str) -> dict:
    servers = {**data["servers"], name: {"node_type": "container", "address": ip,
                                         "parents": "peer"}}  # fmt: skip
    return {**data, "servers": servers}


def test_discovery_off_is_quiet(salt_call_cli, pillar, salt_minion):
    pillar.set({"servers": {"h": {"node_type": "docker_host", "address": "10.0.0.11",
                                  "minion_id": salt_minion.id}}})  # fmt: skip
    for test in (True, False):
        (res,) = state_ret(salt_call_cli.run("state.sls", "mesh.discovery", test=test))
        assert res["result"] is True and res["changes"] == {}, res
        assert "discovery is off" in res["comment"], res
