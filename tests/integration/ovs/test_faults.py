"""Reliability of the OVS states with real daemons: the state contract, ``__context__`` on a
threaded minion, the loader boundary, restarted and stopped daemons, failed transactions, the
host lock.

Everything here runs through the master against one minion started with
``multiprocessing: False`` (jobs are threads of the minion process), pointed at a private OVS in
its own network namespace that the tests stop and restart.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from saltmesh import fileio, hostlock, inventory
from saltmesh.mesh import planner, report
from tests.conftest import state_ret
from tests.integration.ovs.conftest import sls
from tests.support.ovs import OvsInstance, have_ovs

pytestmark = pytest.mark.reliability

UNREACHABLE = "database connection failed"


class Rig:
    """A threaded minion and its private OVS; jobs go through the master (the minion daemon)."""

    def __init__(self, ovs: OvsInstance, minion, salt_master, pillar_tree: Path):
        self.ovs = ovs
        self.minion = minion
        self.master = salt_master
        self.pillar_tree = pillar_tree
        self.cachedir = Path(minion.config["cachedir"])
        self.lock = hostlock.path(str(self.cachedir))
        self.log = Path(minion.config["log_file"])

    def run(self, *args, **kwargs):
        """``salt <minion> args``; a CLI object per call (they keep per-run state: one may not
        serve two threads)."""
        return self.master.salt_cli(timeout=300).run(*args, minion_tgt=self.minion.id, **kwargs)

    def high(self, high: dict | str, test: bool = False, concurrent: bool = False) -> list[dict]:
        """``state.high`` through the master; ``concurrent``: alongside other state runs (Salt
        refuses a second state run on a minion otherwise)."""
        data = json.dumps(sls(high) if isinstance(high, str) else high)
        kwargs = {"concurrent": True} if concurrent else {}
        ret = self.run("state.high", data, test=test, **kwargs)
        assert "Traceback" not in ret.stdout + ret.stderr, ret
        return state_ret(ret)

    def mesh(self, test: bool = False) -> dict:
        (res,) = self.high({"saltmesh-mesh": {"ovs_mesh": ["managed"]}}, test=test)
        return res

    def set_mesh(self, prefix: str, peers: int = 1, datapath_type: str = "netdev") -> str:
        """Pillar: this minion is docker host h1 of a mesh with ``peers`` more hosts."""
        servers = {
            f"h{i}": {"node_type": "docker_host", "address": f"10.254.91.{i}"}
            for i in range(1, peers + 2)
        }
        servers["h1"]["minion_id"] = self.minion.id
        bridge = f"{prefix}m"
        mesh = {"bridge": bridge, "datapath_type": datapath_type, "key": 7, "underlay_mtu": 1600}
        self.set_pillar({"servers": servers, "saltmesh": {"mesh": mesh}})
        return bridge

    def set_pillar(self, data: dict) -> None:
        self.pillar = data
        (self.pillar_tree / "saltmesh_test.sls").write_text(yaml.safe_dump(data))
        ret = self.run("saltutil.refresh_pillar", "wait=True")
        assert ret.returncode == 0, ret

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log.exists() else 0

    def log_since(self, start: int) -> str:
        with self.log.open(errors="replace") as fh:
            fh.seek(start)
            return fh.read()


@pytest.fixture(scope="module")
def rig(salt_master, pillar_tree, tmp_path_factory):
    if not have_ovs():
        pytest.skip("Open vSwitch binaries not installed")
    netns = f"smt{uuid.uuid4().hex[:6]}-thr"
    subprocess.run(["ip", "netns", "add", netns], check=True)
    inst = OvsInstance(tmp_path_factory.mktemp("ovs-threaded"), netns=netns)
    with contextlib.ExitStack() as stack:
        stack.callback(subprocess.run, ["ip", "netns", "del", netns], check=False)
        stack.callback(inst.stop)
        inst.start()
        # The log file at info: at debug, Salt's minion attaches the traceback of every
        # CommandExecutionError to its one-line ERROR record (salt/minion.py,
        # exc_info_on_loglevel=DEBUG), whichever module raised it.
        minion = salt_master.salt_minion_daemon(
            "smt-thr-" + uuid.uuid4().hex[:6],
            overrides={
                "multiprocessing": False,
                "saltmesh": {"ovsdb": inst.db},
                "log_level_logfile": "info",
            },
        )
        stack.enter_context(minion.started())
        r = Rig(inst, minion, salt_master, pillar_tree)
        assert r.run("saltutil.sync_all").returncode == 0
        assert r.run("config.get", "multiprocessing").data is False
        yield r
        (pillar_tree / "saltmesh_test.sls").write_text("{}\n")


@pytest.fixture
def fresh(rig, prefix):
    """The rig's OVS running, and after the test: the prefix's bridges gone, the pillar empty."""
    yield prefix
    if not rig.ovs.running():  # a test failed while the daemons were stopped
        rig.ovs.stop()
        (rig.ovs.dir / "db.sock").unlink(missing_ok=True)
        rig.ovs.start(fresh=False)
    rig.ovs.reset(prefix)
    rig.set_pillar({})


def changed_columns(before: dict, after: dict) -> set[tuple[str, str, str]]:
    """(table, row, column) of every configuration value that differs between two reads."""
    out = set()
    for table in before.keys() | after.keys():
        rows_b, rows_a = before.get(table, {}), after.get(table, {})
        for name in rows_b.keys() | rows_a.keys():
            rb, ra = rows_b.get(name), rows_a.get(name)
            if rb is None or ra is None:
                out.add((table, name, "*row*"))
                continue
            out |= {(table, name, c) for c in rb.keys() | ra.keys() if rb.get(c) != ra.get(c)}
    return out


def assert_one_line_failure(res: dict, *needles: str) -> None:
    assert res["result"] is False, res
    assert res["changes"] == {}, res
    comment = res["comment"]
    assert "\n" not in comment.strip() and "Traceback" not in comment, comment
    for needle in needles:
        assert needle in comment, res


# --- the state contract ---------------------------------------------------------------------


def test_test_mode_touches_nothing(rig, fresh):
    """Every ovs_*/openvswitch_*/ovs_mesh state with test=True predicts its change and writes
    nothing: not one byte of OVSDB's file, no lock file."""
    p = fresh
    b1, b2, b3, mesh_br = f"{p}b1", f"{p}b2", f"{p}b3", f"{p}m"
    rig.ovs.vsctl(
        "add-br", b1, "--", "set", "Bridge", b1, "datapath_type=netdev", "fail_mode=secure",
        "--", "add-port", b1, f"{p}p1", "tag=5", "--", "set", "Interface", f"{p}p1", "type=internal",
        "--", "add-port", b1, f"{p}p2", "--", "set", "Interface", f"{p}p2", "type=internal",
        "--", "add-port", b1, f"{p}t1", "--", "set", "Interface", f"{p}t1", "type=gre",
        "options:remote_ip=10.99.0.1",
        "--", "add-br", b2, "--", "set", "Bridge", b2, "datapath_type=netdev",
        "--", "add-br", b3, "--", "set", "Bridge", b3, "datapath_type=netdev",
        "--", "add-br", mesh_br, "--", "set", "Bridge", mesh_br, "datapath_type=netdev",
        "--", "add-port", mesh_br, "vxlan-0afe5b09", f"external_ids:saltmesh-mesh={mesh_br}",
        "external_ids:saltmesh-peer=gone",
        "--", "set", "Interface", "vxlan-0afe5b09", "type=vxlan", "options:remote_ip=10.254.91.9",
    )  # fmt: skip
    assert rig.set_mesh(p) == mesh_br
    high = f"""
{b1}:
  ovs_bridge.present:
    - fail_mode: standalone
{p}nb:
  ovs_bridge.present:
    - datapath_type: netdev
{b2}:
  ovs_bridge.absent: []
{p}p1:
  ovs_port.present:
    - bridge: {b1}
    - tag: 6
{p}np:
  ovs_port.present:
    - bridge: {p}nb
    - type: internal
{p}t1:
  ovs_port.absent:
    - bridge: {b1}
{p}db:
  ovs_db.managed:
    - table: Bridge
    - record: {b1}
    - data: {{other_config: {{x: "y"}}}}
{p}nc:
  openvswitch_bridge.present: []
{p}nf:
  openvswitch_bridge.present:
    - parent: {b1}
    - vlan: 20
{b3}:
  openvswitch_bridge.absent: []
{p}ng:
  openvswitch_port.present:
    - bridge: {b1}
    - tunnel_type: gre
    - id: 5
    - remote: 10.99.0.2
{p}p2:
  openvswitch_port.absent:
    - bridge: {b1}
{p}od:
  openvswitch_db.managed:
    - table: Bridge
    - record: {b1}
    - data: {{mcast_snooping_enable: true}}
saltmesh-mesh:
  ovs_mesh.managed: []
"""
    shutil.rmtree(rig.cachedir / "saltmesh", ignore_errors=True)
    digest, rows = rig.ovs.db_digest(settle=1), rig.ovs.config_rows()
    results = rig.high(high, test=True)
    assert len(results) == 14
    for res in results:
        assert res["result"] is None and res["changes"], res
    mesh = results[-1]["changes"]
    assert mesh["added"] == ["vxlan-0afe5b02"] and mesh["removed"] == ["vxlan-0afe5b09"], mesh
    assert rig.ovs.db_digest() == digest, "test=True wrote to OVSDB"
    assert rig.ovs.config_rows() == rows
    assert not (rig.cachedir / "saltmesh").exists(), "test=True created the lock file"


def test_omitted_arguments_are_never_touched(rig, fresh):
    """Columns set by someone else survive every state that does not name them; a state that
    names one column changes that column only."""
    p = fresh
    br, port, tun = f"{p}b", f"{p}p", f"{p}t"
    rig.ovs.vsctl(
        "add-br", br, "--", "set", "Bridge", br, "datapath_type=netdev", "fail_mode=secure",
        "protocols=OpenFlow10,OpenFlow13", "other_config:mac-table-size=2048",
        "external_ids:owner=ops", "mcast_snooping_enable=true",
        "--", "add-port", br, port, "tag=7", "trunks=1,2", "vlan_mode=native-untagged",
        "protected=true", "other_config:priority-tags=true", "external_ids:owner=ops",
        "--", "set", "Interface", port, "type=internal", "mtu_request=1400",
        "external_ids:container=c1", "bfd:enable=false",
        "--", "add-port", br, tun, "--", "set", "Interface", tun, "type=vxlan",
        "options:remote_ip=10.99.0.3", "options:key=9", "options:df_default=false",
        "bfd:min_tx=500", "external_ids:owner=ops",
    )  # fmt: skip
    digest, before = rig.ovs.db_digest(settle=1), rig.ovs.config_rows()
    bare = f"""
{br}:
  ovs_bridge.present: []
{br}-compat:
  openvswitch_bridge.present:
    - name: {br}
{port}:
  ovs_port.present:
    - bridge: {br}
{tun}:
  ovs_port.present:
    - bridge: {br}
{port}-compat:
  openvswitch_port.present:
    - name: {port}
    - bridge: {br}
{tun}-compat:
  openvswitch_port.present:
    - name: {tun}
    - bridge: {br}
"""
    for res in rig.high(bare):
        assert res["result"] is True and res["changes"] == {}, res
    assert rig.ovs.db_digest() == digest, "a state without arguments wrote to OVSDB"

    one_each = f"""
{br}:
  ovs_bridge.present:
    - external_ids: {{owner: salt}}
{port}:
  ovs_port.present:
    - bridge: {br}
    - tag: 8
{tun}:
  ovs_port.present:
    - bridge: {br}
    - mtu_request: 1450
"""
    results = rig.high(one_each)
    assert [r["changes"] for r in results] == [
        {"external_ids": {"old": {"owner": "ops"}, "new": {"owner": "salt"}}},
        {"tag": {"old": 7, "new": 8}},
        {"mtu_request": {"old": None, "new": 1450}},
    ]
    assert changed_columns(before, rig.ovs.config_rows()) == {
        ("Bridge", br, "external_ids"),
        ("Port", port, "tag"),
        ("Interface", tun, "mtu_request"),
        ("Open_vSwitch", ".", "next_cfg"),
    }


# --- __context__ on a threaded minion -------------------------------------------------------


def _port_high(p: str) -> str:
    return f"""
{p}b:
  ovs_bridge.present:
    - datapath_type: netdev
{p}v:
  ovs_port.present:
    - bridge: {p}b
    - type: vxlan
    - options: {{remote_ip: 10.99.0.7, key: "9"}}
    - protected: true
"""


DRIFTED = {
    "options": {
        "old": {"key": "42", "remote_ip": "10.99.0.7"},
        "new": {"key": "9", "remote_ip": "10.99.0.7"},
    },
    "protected": {"old": False, "new": True},
}


def test_threaded_minion_never_reports_in_sync_over_drift(rig, fresh):
    """Apply, drift by hand, apply again: the drift is reported and corrected, for separate jobs
    and within ONE job whose __context__ already holds an OVSDB read (a multi-function job:
    ovs.bridges, then the drift, then state.high)."""
    p = fresh
    port = f"{p}v"
    drift = ["set", "Interface", port, "options:key=42", "--", "set", "Port", port,
             "protected=false"]  # fmt: skip
    assert all(r["changes"] for r in rig.high(_port_high(p)))
    rig.ovs.vsctl(*drift)
    _, res = rig.high(_port_high(p))
    assert res["result"] is True and res["changes"] == DRIFTED, res

    # the drift happens inside the job, after ovs.bridges has read OVSDB
    vsctl = " ".join(["ovs-vsctl", f"--db={rig.ovs.db}", *drift])
    ret = rig.run("ovs.bridges,cmd.run,state.high", ",", vsctl, ",", json.dumps(sls(_port_high(p))))
    assert ret.returncode == 0, ret
    assert ret.data["ovs.bridges"][f"{p}b"]  # the read the state run inherits
    assert ret.data["cmd.run"] == ""  # the drift
    _, res = state_ret(type("R", (), {"data": ret.data["state.high"]})())
    assert res["result"] is True and res["changes"] == DRIFTED, res
    snap = rig.ovs.config_rows("Port", "Interface")
    assert snap["Port"][port]["protected"] is True
    assert snap["Interface"][port]["options"] == ["map", [["key", "9"], ["remote_ip", "10.99.0.7"]]]

    # the mesh state, the same way
    bridge = rig.set_mesh(p, peers=2)
    assert rig.mesh()["changes"]["added"] == ["vxlan-0afe5b02", "vxlan-0afe5b03"]
    mesh_drift = ["set", "Interface", "vxlan-0afe5b02", "options:key=1"]
    rig.ovs.vsctl(*mesh_drift)
    assert list(rig.mesh()["changes"]["updated"]) == ["vxlan-0afe5b02"]
    vsctl = " ".join(["ovs-vsctl", f"--db={rig.ovs.db}", *mesh_drift])
    high = json.dumps({"saltmesh-mesh": {"ovs_mesh": ["managed"]}})
    ret = rig.run("ovs_mesh.status,cmd.run,state.high", ",", vsctl, ",", high)
    assert ret.returncode == 0, ret
    assert ret.data["ovs_mesh.status"]["bridge"] == bridge
    (res,) = state_ret(type("R", (), {"data": ret.data["state.high"]})())
    assert list(res["changes"]["updated"]) == ["vxlan-0afe5b02"], res
    assert rig.mesh()["changes"] == {}


def test_a_bridge_vswitchd_cannot_create_is_down_in_verify(rig, fresh):
    """``datapath_type: system`` without the openvswitch kernel module (this machine): OVSDB
    takes the bridge and ovs-vswitchd cannot create it. The state cannot tell (ovs-vsctl exits
    0); ``mesh.verify`` reports every tunnel down, and nothing once the datapath is one
    ovs-vswitchd can open."""
    if Path("/sys/module/openvswitch").exists():
        pytest.skip("the openvswitch kernel module is loaded: the system datapath works here")
    p = fresh
    bridge = rig.set_mesh(p, peers=2, datapath_type="system")
    plan = planner.plan_host(inventory.parse(rig.pillar), "h1")
    tunnels = [t.name for t in plan.tunnels]
    res = rig.mesh()
    assert res["result"] is True and sorted(res["changes"]["added"]) == sorted(tunnels), res
    status = rig.run("ovs_mesh.status").data
    assert {n: port["ofport"] for n, port in status["ports"].items()} == dict.fromkeys(tunnels)
    assert report.verify_host(plan, status) == {"down": dict.fromkeys(tunnels, report.NO_OFPORT)}
    assert rig.ovs.vsctl("get", "Interface", bridge, "ofport").strip() == "[]"

    rig.set_mesh(p, peers=2, datapath_type="netdev")
    plan = planner.plan_host(inventory.parse(rig.pillar), "h1")
    res = rig.mesh()
    assert res["result"] is True and res["changes"], res
    status = rig.run("ovs_mesh.status").data
    assert all(port["ofport"] > 0 for port in status["ports"].values()), status
    assert report.verify_host(plan, status) == {}
    assert rig.mesh()["changes"] == {}


# --- the loader boundary, stopped and restarted daemons -------------------------------------


def _dead_socket(path: Path) -> None:
    """What a crashed ovsdb-server leaves: a socket file nobody listens on."""
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(path))
    sock.close()


def test_unreachable_ovsdb_is_a_clean_failure_and_restarts_converge(rig, fresh):
    p = fresh
    rig.set_mesh(p)
    assert all(r["changes"] for r in rig.high(_port_high(p)))
    assert rig.mesh()["result"] is True
    rows = rig.ovs.config_rows()

    # ovsdb-server and ovs-vswitchd restarted between runs: the next run is in sync
    rig.ovs.restart()
    for res in rig.high(_port_high(p)) + [rig.mesh()]:
        assert res["result"] is True and res["changes"] == {}, res
    assert changed_columns(rows, rig.ovs.config_rows()) <= {("Open_vSwitch", ".", "next_cfg")}

    # OVSDB unreachable (the daemons gone, a dead socket left): every state and every ovs.*
    # function answers with one line, and the minion log holds no traceback
    rig.ovs.stop()
    _dead_socket(rig.ovs.dir / "db.sock")
    start = rig.log_size()
    states = f"""
{p}b:
  ovs_bridge.present: []
{p}v:
  ovs_port.present:
    - bridge: {p}b
    - tag: 3
{p}gone:
  ovs_port.absent: []
{p}db:
  ovs_db.managed:
    - table: Bridge
    - record: {p}b
    - data: {{fail_mode: secure}}
{p}c:
  openvswitch_bridge.present: []
{p}cg:
  openvswitch_port.present:
    - bridge: {p}b
    - tunnel_type: gre
    - remote: 10.99.0.9
saltmesh-mesh:
  ovs_mesh.managed: []
"""
    for test in (True, False):
        results = rig.high(states, test=test)
        assert len(results) == 7
        for res in results:
            assert_one_line_failure(res, UNREACHABLE)
        assert results[-1]["comment"].startswith(f"mesh {p}m on {p}m: 1 tunnels to peers: ")
    for args in (
        ["ovs.bridges"],
        ["ovs.ports", f"{p}b"],
        ["ovs.interfaces"],
        ["ovs.record", "Bridge", f"{p}b"],
        ["ovs.transact", '[["set", "Bridge", "x", "fail_mode=secure"]]'],
        ["ovs.ensure_port", f"{p}x", f"{p}b"],
        ["ovs.ensure_bridge", f"{p}x"],
        ["ovs_mesh.status"],
    ):
        ret = rig.run(*args)
        out = ret.stdout + ret.stderr
        assert ret.returncode != 0 and UNREACHABLE in out, (args, ret)
        assert "Traceback" not in out, (args, out)
        assert len([line for line in out.splitlines() if UNREACHABLE in line]) == 1, out
    log = rig.log_since(start)
    assert UNREACHABLE in log  # the failures were logged (the check below is not vacuous)
    assert "Traceback" not in log, log

    # started again on the same database: nothing was lost, the next run converges
    (rig.ovs.dir / "db.sock").unlink()
    rig.ovs.start(fresh=False)
    for res in rig.high(_port_high(p)) + [rig.mesh()]:
        assert res["result"] is True and res["changes"] == {}, res
    rig.ovs.vsctl("set", "Interface", f"{p}v", "options:key=42", "--", "set", "Port", f"{p}v",
                  "protected=false")  # fmt: skip
    _, res = rig.high(_port_high(p))
    assert res["changes"] == DRIFTED
    realised = rig.run("ovs.interfaces", f"{p}b").data
    assert realised[f"{p}v"]["ofport"] > 0 and not realised[f"{p}v"]["error"], realised


def test_unexpected_errors_are_one_line_answers(rig, fresh):
    """Arguments of the wrong shape that no validator names (a list where a name belongs) make
    the core raise something it did not plan for: every state still answers with one line,
    and neither the output nor the minion log holds a traceback."""
    p = fresh
    rig.set_mesh(p)
    rig.ovs.vsctl("add-br", f"{p}b", "--", "set", "Bridge", f"{p}b", "datapath_type=netdev")
    odd = {
        f"{p}f": {"ovs_bridge": ["present", {"parent": [f"{p}b"]}, {"vlan": 5}]},
        f"{p}x": {"ovs_port": ["absent", {"bridge": [f"{p}b"]}]},
        f"{p}g": {"openvswitch_bridge": ["present", {"parent": [f"{p}b"]}, {"vlan": 6}]},
        "saltmesh-mesh": {"ovs_mesh": ["managed", {"host": ["h1"]}]},
    }
    start = rig.log_size()
    digest = rig.ovs.db_digest(settle=1)
    for test in (True, False):
        results = rig.high(odd, test=test)
        assert len(results) == len(odd)
        for res in results:
            assert_one_line_failure(res, "unexpected TypeError: unhashable type: 'list'")
    assert rig.ovs.db_digest() == digest
    assert "Traceback" not in rig.log_since(start)


# --- failed transactions --------------------------------------------------------------------


def test_failed_transaction_leaves_everything_as_it_was(rig, fresh):
    """A mesh transaction that adds a port, corrects another and sets the MTU fails on its
    last clause (the bridge's own interface was removed behind Salt's back): nothing of it is
    applied, byte for byte. The same for ovs.transact."""
    p = fresh
    bridge = rig.set_mesh(p, peers=1)
    assert rig.mesh()["result"] is True
    rig.ovs.vsctl("set", "Interface", "vxlan-0afe5b02", "options:key=1")
    local = rig.ovs.vsctl("get", "Port", bridge, "_uuid").strip()
    rig.ovs.vsctl("remove", "Bridge", bridge, "ports", local)
    rig.set_mesh(p, peers=2)
    digest, rows = rig.ovs.db_digest(settle=1), rig.ovs.config_rows()
    predicted = rig.mesh(test=True)["changes"]
    assert predicted["added"] == ["vxlan-0afe5b03"] and "vxlan-0afe5b02" in predicted["updated"]
    res = rig.mesh()
    assert_one_line_failure(res, f'no row "{bridge}" in table Interface')
    assert rig.ovs.db_digest() == digest
    assert rig.ovs.config_rows() == rows

    clauses = [["set", "Bridge", bridge, "fail_mode=secure"],
               ["add-port", bridge, f"{p}new"], ["set", "Port", f"{p}none", "tag=1"]]  # fmt: skip
    ret = rig.run("ovs.transact", json.dumps(clauses))
    assert ret.returncode != 0 and f'no row "{p}none" in table Port' in ret.data, ret
    assert rig.ovs.db_digest() == digest


# --- the host lock --------------------------------------------------------------------------


def test_every_write_waits_for_the_host_lock(rig, fresh):
    """With the host lock held by someone else, predictions answer; every kind of OVS write
    (each state module, the mesh, ovs.transact), run at the same time on one threaded minion,
    waits and writes nothing; once the lock is released, all of them complete."""
    p = fresh
    rig.ovs.vsctl("add-br", f"{p}b", "--", "set", "Bridge", f"{p}b", "datapath_type=netdev")
    rig.set_mesh(p)
    writes = {
        "ovs_bridge": {f"{p}n1": {"ovs_bridge": ["present", {"datapath_type": "netdev"}]}},
        "ovs_port": {f"{p}n2": {"ovs_port": ["present", {"bridge": f"{p}b"}, {"type": "internal"}]}},
        "ovs_db": {f"{p}b": {"ovs_db": ["managed", {"table": "Bridge"},
                                        {"data": {"fail_mode": "secure"}}]}},
        "openvswitch_bridge": {f"{p}n3": {"openvswitch_bridge": ["present"]}},
        "openvswitch_port": {f"{p}n4": {"openvswitch_port": ["present", {"bridge": f"{p}b"},
                                                             {"internal": True}]}},
        "openvswitch_db": {f"{p}b": {"openvswitch_db": ["managed", {"table": "Bridge"},
                                                        {"data": {"stp_enable": True}}]}},
        "ovs_mesh": {"saltmesh-mesh": {"ovs_mesh": ["managed"]}},
    }  # fmt: skip
    # a prediction takes no lock: it answers while someone holds it
    with fileio.locked(rig.lock):
        for name, high in writes.items():
            (res,) = rig.high(high, test=True)
            assert res["result"] is None and res["changes"], (name, res)

    digest = rig.ovs.db_digest(settle=1)
    with ThreadPoolExecutor(len(writes) + 1) as pool:
        with fileio.locked(rig.lock):
            jobs = {k: pool.submit(rig.high, high, concurrent=True) for k, high in writes.items()}
            jobs["ovs.transact"] = pool.submit(
                rig.run, "ovs.transact", json.dumps([["add-br", f"{p}n5"]])
            )
            time.sleep(8)
            assert [k for k, job in jobs.items() if job.done()] == []
            assert rig.ovs.db_digest() == digest, "a write went through while the lock was held"
        for name, job in jobs.items():
            if name == "ovs.transact":
                assert job.result(timeout=120).returncode == 0
            else:
                (res,) = job.result(timeout=120)
                assert res["result"] is True and res["changes"], (name, res)
    assert {f"{p}n1", f"{p}n3", f"{p}n5", f"{p}m"} <= set(rig.ovs.vsctl("list-br").split())
    assert os.stat(rig.lock).st_mode & 0o777 == 0o600

    # ovsdb-server stopped while a run waits for the lock: the run fails cleanly, nothing of
    # it is applied, and it converges once the daemons are back
    digest = rig.ovs.db_digest(settle=1)
    late = {f"{p}n6": {"ovs_bridge": ["present", {"datapath_type": "netdev"}]}}
    with ThreadPoolExecutor(1) as pool:
        with fileio.locked(rig.lock):
            job = pool.submit(rig.high, late)
            time.sleep(3)
            assert not job.done()
            rig.ovs.stop()
        (res,) = job.result(timeout=120)
    assert_one_line_failure(res, UNREACHABLE)
    rig.ovs.start(fresh=False)
    assert rig.ovs.db_digest() == digest
    (res,) = rig.high(late)
    assert res["result"] is True and res["changes"]["bridge"] == {"old": None, "new": f"{p}n6"}
