"""What vswitchd (OVS 3.1, userspace datapath) really does with the clauses the core writes.

Runs against a private OVS in its own network namespace (two netdev-datapath vswitchd in one
namespace fight over the ``ovs-netdev`` tap device), through the core (``saltmesh.ovs``).
"""

from __future__ import annotations

import re
import subprocess
import time

import pytest

from saltmesh.ovs.bridge import diff_bridge
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.port import diff_port
from saltmesh.ovs.spec import PortSpec
from tests.support.ovs import OvsInstance


@pytest.fixture
def nsovs(tmp_path, prefix):
    ns = f"{prefix}ns"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    inst = OvsInstance(tmp_path / "ovs", netns=ns)
    try:
        inst.start()
        yield inst
    finally:
        inst.stop()
        subprocess.run(["ip", "netns", "del", ns], check=False)


def apply(db: Ovsdb, clauses_changes) -> dict:
    clauses, changes = clauses_changes
    db.transact(clauses)
    return changes


def wait_for(fn, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.2)


def test_vswitchd_realises_what_the_core_writes(nsovs):
    db = Ovsdb(nsovs.db)
    for br in ("br0", "br1"):
        apply(db, diff_bridge(br, db.snapshot(), datapath_type="netdev"))
    specs = [
        PortSpec(name="gre1", bridge="br0", type="gre", options={"remote_ip": "10.9.0.2"}, protected=True,
                 bfd={"enable": "true", "min_tx": "500"}),
        PortSpec(name="gre2", bridge="br0", type="gre", options={"remote_ip": "10.9.0.3"}, protected=True),
        PortSpec(name="loc0", bridge="br0", type="internal"),
        PortSpec(name="pa", bridge="br0", type="patch", options={"peer": "pb"}),
        PortSpec(name="pb", bridge="br1", type="patch", options={"peer": "pa"}),
    ]  # fmt: skip
    clauses = []
    snap = db.snapshot()
    for spec in specs:
        clauses += diff_port(spec, snap)[0]
    db.transact(clauses)  # all five ports in one transaction
    snap = db.snapshot()
    for spec in specs:
        iface = snap.interfaces[spec.name]
        assert iface.error is None and iface.ofport and iface.ofport > 0, iface

    # BFD: the Interface.bfd keys start a session that reports its status
    status = wait_for(lambda: db.snapshot().interfaces["gre1"].bfd_status)
    assert status.get("state") == "down" and status.get("forwarding") == "false", status

    # protected: a broadcast entering one tunnel is not flooded to the other tunnel
    ofport = snap.interfaces["gre1"].ofport
    trace = nsovs.appctl("ofproto/trace", "br0", f"in_port={ofport},dl_dst=ff:ff:ff:ff:ff:ff")
    assert "Flow is between protected ports, skipping output" in trace, trace
    assert "tnl_push" not in trace, trace
    local = nsovs.appctl(
        "ofproto/trace", "br0", f"in_port={snap.interfaces['loc0'].ofport},dl_dst=ff:ff:ff:ff:ff:ff"
    )
    assert "between protected ports" not in local, local  # a local port still floods to tunnels

    # type change in place (no del+add): vswitchd really switches the netdev to vxlan
    apply(db, diff_port(PortSpec(name="gre2", bridge="br0", type="vxlan", options={"remote_ip": "10.9.0.3"},
                                 protected=True), db.snapshot()))  # fmt: skip
    dpif = wait_for(lambda: re.search(r"gre2 \d+/\d+: \(vxlan", nsovs.appctl("dpif/show")))
    assert dpif, nsovs.appctl("dpif/show")

    # moving a port between bridges keeps it working
    apply(db, diff_port(PortSpec(name="loc0", bridge="br1", type="internal"), db.snapshot()))
    out = nsovs.appctl("dpif/show")
    section = out.split("br1:")[1]
    assert "loc0" in section, out
    assert db.snapshot().interfaces["loc0"].ofport > 0


def test_bond_runs_lacp(nsovs, prefix):
    ns = nsovs.netns
    for name in ("eth1", "eth2"):
        subprocess.run(
            ["ip", "-n", ns, "link", "add", name, "type", "veth", "peer", "name", f"{name}p"],
            check=True,
        )
        subprocess.run(["ip", "-n", ns, "link", "set", name, "up"], check=True)
    db = Ovsdb(nsovs.db)
    apply(db, diff_bridge("br0", db.snapshot(), datapath_type="netdev"))
    spec = PortSpec(
        name="bond0",
        bridge="br0",
        interfaces=("eth1", "eth2"),
        bond_mode="balance-tcp",
        lacp="active",
    )
    apply(db, diff_port(spec, db.snapshot()))
    out = wait_for(lambda: "eth1" in (o := nsovs.appctl("lacp/show", "bond0")) and o)
    assert "status: active" in out and "eth2" in out, out
    assert "balance-tcp" in nsovs.appctl("bond/show", "bond0")
    assert diff_port(spec, db.snapshot()) == ([], {})
