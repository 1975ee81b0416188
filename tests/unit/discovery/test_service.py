"""service.ensure with a fake host (no OVS, no dnsmasq): what it predicts, what it does, and
that a refused configuration writes nothing."""

from __future__ import annotations

import copy
import signal
from types import SimpleNamespace

import pytest

from saltmesh import inventory
from saltmesh.discovery import plan, render, service
from tests.unit.discovery.test_plan_render import BASE


class FakeHost:
    def __init__(self, port="absent", addrs=(), up=False, pid=None, refuse=None):
        self.state = SimpleNamespace(port=port, addrs=list(addrs), up=up, pid=pid)
        self.refuse = refuse
        self.calls: list[str] = []

    def port(self, p):
        return self.state.port

    def addresses(self, p):
        return list(self.state.addrs), self.state.up

    def pid(self, p):
        return self.state.pid

    def check(self, p, texts):
        self.calls.append("check")
        if self.refuse:
            raise service.DiscoveryError(f"dnsmasq refuses the new configuration: {self.refuse}")

    def ensure_port(self, p):
        self.calls.append("port")
        self.state.port = "ours"

    def ensure_address(self, p, have):
        self.calls.append("address")
        self.state.addrs, self.state.up = [str(p.address)], True

    def start(self, p):
        self.calls.append("start")
        self.state.pid = 4242
        return 4242

    def stop(self, pid):
        self.calls.append("stop")
        self.state.pid = None

    # what remove() reads and does
    def pid_of(self, pid_path, conf_path):
        return self.state.pid

    def our_ports(self, mesh):
        return ["smdns-0a000002"] if self.state.port == "ours" else []

    def remove_ports(self, names):
        self.calls.append("del-port")
        self.state.port = "absent"


@pytest.fixture
def make_plan(tmp_path):
    def make(change=None) -> plan.HostPlan:
        pillar = copy.deepcopy(BASE)
        pillar["saltmesh"]["discovery"].update(conf_dir=str(tmp_path / "etc"),
                                               run_dir=str(tmp_path / "run"))  # fmt: skip
        if change:
            change(pillar)
        return plan.plan_host(inventory.parse(pillar), "docker01")

    return make


@pytest.fixture
def kills(monkeypatch):
    sent = []
    monkeypatch.setattr(service.os, "kill", lambda pid, sig: sent.append((pid, sig)))
    return sent


def test_first_run_predicts_then_does_exactly_that_then_nothing(make_plan, kills):
    p = make_plan()
    host = FakeHost()
    predicted = service.ensure(p, host, test=True)
    assert predicted["result"] is None
    assert host.calls == ["check"]  # test mode: checked, nothing made
    assert not any(open_or_none(p.path(k)) for k in ("conf", "hosts", "dhcp"))
    done = service.ensure(p, host, test=False)
    assert done["result"] is True and done["changes"] == predicted["changes"]
    assert set(done["changes"]) == {"port", "address", "config", "records", "dhcp_hosts", "dnsmasq"}
    assert host.calls == ["check", "check", "port", "address", "start"]
    for kind, text in render.render(p).items():
        assert open_or_none(p.path(kind)) == text
    again = service.ensure(p, host, test=False)
    assert again["result"] is True and again["changes"] == {} and kills == []


def test_a_new_name_is_a_reload_a_new_upstream_a_restart(make_plan, kills):
    host = FakeHost()
    service.ensure(make_plan(), host, test=False)

    def add(pillar):
        pillar["servers"]["cache01"] = {"node_type": "container", "address": "192.168.77.31",
                                        "parents": "docker02"}  # fmt: skip

    res = service.ensure(make_plan(add), host, test=False)
    assert res["changes"]["dnsmasq"] == {"old": "running", "new": "reloaded"}
    assert res["changes"]["records"]["added"] == ["cache01.mesh.example 192.168.77.31"]
    assert "config" not in res["changes"] and kills == [(4242, signal.SIGHUP)]

    def upstream(pillar):
        add(pillar)
        pillar["saltmesh"]["discovery"]["upstream"] = ["192.0.2.53"]

    host.calls.clear()
    res = service.ensure(make_plan(upstream), host, test=False)
    assert res["changes"]["dnsmasq"] == {"old": "running", "new": "restarted"}
    assert host.calls == ["check", "stop", "start"]


def test_a_refused_configuration_writes_nothing_and_keeps_the_daemon(make_plan, kills):
    host = FakeHost()
    p = make_plan()
    service.ensure(p, host, test=False)
    before = {k: open_or_none(p.path(k)) for k in ("conf", "hosts", "dhcp")}
    host.refuse = "bad option at line 3"
    host.calls.clear()

    def add(pillar):
        pillar["servers"]["cache01"] = {"node_type": "container", "address": "192.168.77.31",
                                        "parents": "docker02"}  # fmt: skip

    for test in (True, False):
        res = service.ensure(make_plan(add), host, test=test)
        assert res["result"] is False and res["changes"] == {}, res
        assert "refuses" in res["comment"]
    assert {k: open_or_none(p.path(k)) for k in before} == before
    assert host.calls == ["check", "check"] and kills == [] and host.state.pid == 4242


def test_a_foreign_port_of_our_name_is_never_touched(make_plan):
    host = FakeHost(port="foreign")
    res = service.ensure(make_plan(), host, test=False)
    assert res["result"] is False and "is not saltmesh's" in res["comment"]
    assert host.calls == []


def open_or_none(path):
    try:
        with open(path, encoding="utf-8") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def test_a_host_without_a_plan_removes_what_one_left_then_nothing(make_plan, kills):
    p = make_plan()
    host = FakeHost()
    service.ensure(p, host, test=False)
    left = service.Leftover(p.host, p.mesh, p.conf_dir, p.run_dir)
    files = [p.path("conf"), p.path("hosts"), p.path("dhcp")]
    assert left.files() == files
    changes = {
        "port": {"old": "smdns-0a000002", "new": None},
        "dnsmasq": {"old": "running", "new": "stopped"},
        "files": {"old": files, "new": []},
    }
    predicted = service.remove(left, host, test=True, why="discovery is off")
    assert predicted["result"] is None and predicted["changes"] == changes, predicted
    assert left.files() == files and host.state.pid == 4242 and "stop" not in host.calls
    done = service.remove(left, host, test=False, why="discovery is off")
    assert done["result"] is True and done["changes"] == changes, done
    assert host.calls[-2:] == ["stop", "del-port"] and left.files() == []
    again = service.remove(left, host, test=False, why="discovery is off")
    assert again["result"] is True and again["changes"] == {}
    assert again["comment"] == "discovery is off"
