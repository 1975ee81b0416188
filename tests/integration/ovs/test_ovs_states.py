"""ovs_bridge / ovs_port / ovs_db through the real master+minion against a private OVS 3.1."""

from __future__ import annotations

import json
import re
import time

import pytest


def _bridge(prefix, suffix="b", **cols):
    args = "".join(f"\n    - {k}: {v}" for k, v in cols.items())
    return f"{prefix}{suffix}:\n  ovs_bridge.present:\n    - datapath_type: netdev{args}\n"


@pytest.mark.smoke
def test_bridge_present_update_absent(states, prefix, ovs):
    br = f"{prefix}b"
    (ret,) = states.cycle(f"""
{br}:
  ovs_bridge.present:
    - datapath_type: netdev
    - fail_mode: secure
    - protocols: [OpenFlow13, OpenFlow10]
    - other_config: {{hwaddr: "02:00:00:00:00:01", mac-table-size: 4096}}
    - external_ids: {{saltmesh-mesh: "m1", note: "a b,c=\\"d\\""}}
""")
    assert ret["changes"] == {
        "bridge": {"old": None, "new": br},
        "datapath_type": {"old": None, "new": "netdev"},
        "fail_mode": {"old": None, "new": "secure"},
        "protocols": {"old": None, "new": ["OpenFlow10", "OpenFlow13"]},
        "other_config": {
            "old": None,
            "new": {"hwaddr": "02:00:00:00:00:01", "mac-table-size": "4096"},
        },
        "external_ids": {"old": None, "new": {"note": 'a b,c="d"', "saltmesh-mesh": "m1"}},
    }
    (row,) = [
        r
        for r in ovs.table("Bridge", "name", "datapath_type", "fail_mode", "external_ids")
        if r["name"] == br  # the session OVS also holds the seeded foreign bridge
    ]
    assert row["datapath_type"] == "netdev" and row["fail_mode"] == "secure"
    assert ["note", 'a b,c="d"'] in row["external_ids"][1]

    # a given map is reconciled exactly (stale key removed); maps not given are left alone
    (ret,) = states.cycle(f"""
{br}:
  ovs_bridge.present:
    - other_config: {{hwaddr: "02:00:00:00:00:01"}}
    - fail_mode: standalone
    - external_ids: {{}}
""")
    assert ret["changes"] == {
        "fail_mode": {"old": "secure", "new": "standalone"},
        "other_config": {
            "old": {"hwaddr": "02:00:00:00:00:01", "mac-table-size": "4096"},
            "new": {"hwaddr": "02:00:00:00:00:01"},
        },
        "external_ids": {"old": {"note": 'a b,c="d"', "saltmesh-mesh": "m1"}, "new": {}},
    }
    br_row = states.db.snapshot().bridges[br]
    assert br_row.protocols == ("OpenFlow10", "OpenFlow13")  # not given: left alone
    assert br_row.external_ids == {}

    (ret,) = states.cycle(f"{br}:\n  ovs_bridge.absent: []\n")
    assert ret["changes"] == {"bridge": {"old": br, "new": None}}
    assert br not in ovs.vsctl("list-br").split()


@pytest.mark.smoke
def test_tunnel_port_created_protected_in_one_step_and_drift_fixed(states, prefix, ovs):
    br, port = f"{prefix}b", f"{prefix}g"
    high = (
        _bridge(prefix)
        + f"""
{port}:
  ovs_port.present:
    - bridge: {br}
    - type: gre
    - options: {{remote_ip: 10.99.0.2, key: 5000, tos: inherit}}
    - protected: true
    - external_ids: {{saltmesh-mesh: m1}}
"""
    )
    bridge_ret, ret = states.cycle(high)
    assert ret["changes"] == {
        "port": {"old": None, "new": port},
        "bridge": {"old": None, "new": br},
        "type": {"old": None, "new": "gre"},
        "options": {
            "old": None,
            "new": {"key": "5000", "remote_ip": "10.99.0.2", "tos": "inherit"},
        },
        "external_ids": {"old": None, "new": {"saltmesh-mesh": "m1"}},
        "protected": {"old": None, "new": True},
    }
    snap = states.db.snapshot()
    assert snap.ports[port].protected is True
    assert snap.interfaces[port].type == "gre"

    # drift behind Salt's back: other remote, a stale extra option, protected off
    ovs.vsctl("set", "Interface", port, 'options:remote_ip="10.99.0.9"', "options:df_default=false",
              "--", "set", "Port", port, "protected=false")  # fmt: skip
    _, ret = states.cycle(high)
    assert ret["changes"] == {
        "protected": {"old": False, "new": True},
        "options": {
            "old": {
                "df_default": "false",
                "key": "5000",
                "remote_ip": "10.99.0.9",
                "tos": "inherit",
            },
            "new": {"key": "5000", "remote_ip": "10.99.0.2", "tos": "inherit"},
        },
    }
    assert states.db.snapshot().interfaces[port].options == {
        "key": "5000", "remote_ip": "10.99.0.2", "tos": "inherit",
    }  # fmt: skip

    (ret,) = states.cycle(f"{port}:\n  ovs_port.absent:\n    - bridge: {br}\n")
    assert ret["changes"] == {"port": {"old": port, "new": None}}
    assert port not in ovs.ports(br)


@pytest.mark.smoke
def test_port_types_and_port_columns(states, prefix, ovs):
    br, br2 = f"{prefix}b", f"{prefix}c"
    high = (
        _bridge(prefix)
        + _bridge(prefix, "c")
        + f"""
{prefix}i:
  ovs_port.present:
    - bridge: {br}
    - type: internal
    - tag: 10
    - mtu_request: 1450
    - iface_external_ids: {{container: c1}}
{prefix}t:
  ovs_port.present:
    - bridge: {br}
    - type: internal
    - trunks: [20, 10]
    - vlan_mode: trunk
    - other_config: {{priority-tags: "true"}}
{prefix}x:
  ovs_port.present:
    - bridge: {br}
    - type: vxlan
    - options: {{remote_ip: 10.99.0.3, local_ip: 10.99.0.1, key: 77, dst_port: 4790, csum: true, ttl: 64, df_default: false}}
    - protected: true
{prefix}n:
  ovs_port.present:
    - bridge: {br}
    - type: geneve
    - options: {{remote_ip: 10.99.0.4, key: flow}}
{prefix}pa:
  ovs_port.present:
    - bridge: {br}
    - type: patch
    - options: {{peer: {prefix}pb}}
{prefix}pb:
  ovs_port.present:
    - bridge: {br2}
    - type: patch
    - options: {{peer: {prefix}pa}}
"""
    )
    rets = states.cycle(high)
    assert all(r["changes"] for r in rets)
    snap = states.db.snapshot()
    assert snap.ports[f"{prefix}i"].tag == 10
    assert snap.interfaces[f"{prefix}i"].mtu_request == 1450
    assert snap.interfaces[f"{prefix}i"].external_ids == {"container": "c1"}
    assert (
        snap.ports[f"{prefix}t"].trunks == (10, 20)
        and snap.ports[f"{prefix}t"].vlan_mode == "trunk"
    )
    assert snap.interfaces[f"{prefix}x"].options["dst_port"] == "4790"
    assert snap.interfaces[f"{prefix}n"].type == "geneve"
    for p, peer in (("pa", "pb"), ("pb", "pa")):
        iface = snap.interfaces[f"{prefix}{p}"]
        assert iface.type == "patch" and iface.options == {"peer": f"{prefix}{peer}"}

    # change a tunnel's type in place (no del+add): vxlan -> gre keeps the same rows
    uuid = snap.interfaces[f"{prefix}x"].uuid
    (ret,) = states.cycle(f"""
{prefix}x:
  ovs_port.present:
    - bridge: {br}
    - type: gre
    - options: {{remote_ip: 10.99.0.3}}
    - protected: true
""")
    assert ret["changes"]["type"] == {"old": "vxlan", "new": "gre"}
    iface = states.db.snapshot().interfaces[f"{prefix}x"]
    assert (iface.uuid, iface.type, iface.options) == (uuid, "gre", {"remote_ip": "10.99.0.3"})


@pytest.mark.smoke
def test_port_on_other_bridge_is_moved(states, prefix, ovs):
    br, br2, port = f"{prefix}b", f"{prefix}c", f"{prefix}v"
    states.bridge(br, br2)
    states.port(port, br, type="vxlan", options={"remote_ip": "10.99.0.5"}, protected=True)
    uuid = states.db.snapshot().interfaces[port].uuid
    (ret,) = states.cycle(f"""
{port}:
  ovs_port.present:
    - bridge: {br2}
    - type: vxlan
    - options: {{remote_ip: 10.99.0.5}}
    - protected: true
""")
    assert ret["changes"] == {"bridge": {"old": br, "new": br2}}
    assert port in ovs.ports(br2) and port not in ovs.ports(br)
    snap = states.db.snapshot()
    assert snap.ports[port].protected and snap.interfaces[port].uuid == uuid  # rows kept


def _members(bond_show: str) -> dict[str, str]:
    """``member <name>: <enabled|disabled>`` lines of ``ovs-appctl bond/show``."""
    return dict(re.findall(r"^member (\S+): (\w+)$", bond_show, re.M))


def _wait_for(fn, timeout=20.0):
    deadline = time.monotonic() + timeout
    while True:
        value = fn()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_bond_with_lacp(states, prefix, ovs, veth_pairs):
    """A bond of real links (veth pairs in vswitchd's namespace) whose other ends form an LACP
    bond on a second bridge: vswitchd negotiates LACP with it, over the members the state sets."""
    a, b, c = veth_pairs("m1", "m2", "m3")
    br, bond = f"{prefix}b", f"{prefix}bd"
    partner_br, partner = f"{prefix}q", f"{prefix}bq"
    ovs.vsctl(
        "add-br", partner_br, "--", "set", "Bridge", partner_br, "datapath_type=netdev",
        "--", "add-bond", partner_br, partner, f"{a}p", f"{b}p", f"{c}p", "bond_mode=balance-tcp",
        "lacp=active", "other_config:lacp-time=fast",
    )  # fmt: skip

    def high(members):
        return (
            _bridge(prefix)
            + f"""
{bond}:
  ovs_port.present:
    - bridge: {br}
    - interfaces: {members}
    - bond_mode: balance-tcp
    - lacp: active
    - other_config: {{lacp-time: fast}}
    - mtu_request: 1500
"""
        )

    def negotiated(want: dict[str, str], partner_want: dict[str, str]):
        def check():
            ours, theirs = ovs.appctl("bond/show", bond), ovs.appctl("bond/show", partner)
            ok = (
                "lacp_status: negotiated" in ours
                and _members(ours) == want
                and _members(theirs) == partner_want
            )
            return ok and (ours, theirs, ovs.appctl("lacp/show", bond))

        got = _wait_for(check)
        assert got, (ovs.appctl("bond/show", bond), ovs.appctl("bond/show", partner))
        return got

    _, ret = states.cycle(high([b, a]))
    assert ret["changes"]["interfaces"] == {"old": None, "new": sorted([a, b])}
    assert ret["changes"]["lacp"] == {"old": None, "new": "active"}
    port = states.db.snapshot().ports[bond]
    assert (port.interfaces, port.bond_mode, port.lacp) == (
        tuple(sorted([a, b])),
        "balance-tcp",
        "active",
    )
    ours, _, lacp = negotiated(
        {a: "enabled", b: "enabled"},
        {f"{a}p": "enabled", f"{b}p": "enabled", f"{c}p": "disabled"},
    )
    assert "bond_mode: balance-tcp" in ours
    assert "status: active negotiated" in lacp and "lacp_time: fast" in lacp, lacp
    assert lacp.count("current attached") == 2, lacp

    _, ret = states.cycle(high([a, c]))
    assert ret["changes"] == {"interfaces": {"old": sorted([a, b]), "new": sorted([a, c])}}
    snap = states.db.snapshot()
    assert snap.ports[bond].interfaces == tuple(sorted([a, c]))
    assert snap.interfaces[c].mtu_request == 1500 and b not in snap.interfaces
    negotiated(
        {a: "enabled", c: "enabled"},
        {f"{a}p": "enabled", f"{b}p": "disabled", f"{c}p": "enabled"},
    )


@pytest.mark.smoke
def test_ovs_db_managed_open_vswitch_row(states, prefix, ovs):
    key, other = f"{prefix}-k", f"{prefix}-o"
    ovs.vsctl("set", "Open_vSwitch", ".", f'other_config:{other}="keep"')
    try:
        (ret,) = states.cycle(f"""
ovs-config:
  ovs_db.managed:
    - table: Open_vSwitch
    - record: "."
    - data:
        other_config: {{{key}: "a b"}}
""")
        assert ret["changes"] == {"other_config": {"old": {key: None}, "new": {key: "a b"}}}
        assert ret["comment"] == "Record Open_vSwitch . updated"
        (ret,) = states.cycle(f"""
ovs-config:
  ovs_db.managed:
    - table: Open_vSwitch
    - record: "."
    - data:
        other_config: {{{key}: null}}
""")
        assert ret["changes"] == {"other_config": {"old": {key: "a b"}, "new": {key: None}}}
        row = states.db.snapshot().open_vswitch["other_config"]
        assert key not in row and row[other] == "keep"  # keys not given are left alone
    finally:
        ovs.vsctl("remove", "Open_vSwitch", ".", "other_config", key, other)


def test_ovs_db_managed_bridge_scalars(states, prefix):
    br = f"{prefix}b"
    states.bridge(br)
    (ret,) = states.cycle(f"""
{br}:
  ovs_db.managed:
    - table: Bridge
    - data:
        mcast_snooping_enable: true
        fail_mode: secure
        flood_vlans: [10, 20]
""")
    assert ret["changes"] == {
        "mcast_snooping_enable": {"old": False, "new": True},
        "fail_mode": {"old": None, "new": "secure"},
        "flood_vlans": {"old": [], "new": [10, 20]},
    }


@pytest.mark.smoke
def test_bad_input_fails_cleanly(states, prefix, ovs):
    states.bridge(f"{prefix}b")
    br = f"{prefix}b"
    cases = {
        f"{prefix}p1": (
            "ovs_port.present",
            {"bridge": br, "type": "bogus"},
            "unknown interface type 'bogus'",
        ),
        f"{prefix}p2": (
            "ovs_port.present",
            {"bridge": br, "type": "gre", "options": {"key": "1"}},
            "needs options.remote_ip",
        ),
        f"{prefix}p3": ("ovs_port.present", {"bridge": br, "tag": 99999}, "not a VLAN id"),
        f"{prefix}p4": (
            "ovs_port.present",
            {"bridge": br, "options": "remote_ip=1"},
            "options must be a mapping",
        ),
        f"{prefix}p5": (
            "ovs_port.present",
            {"bridge": br, "interfaces": ["a"]},
            "at least two distinct",
        ),
        f"{prefix}p6": (
            "ovs_port.present",
            {"bridge": br, "lacp": "active"},
            "only valid for a bond",
        ),
        f"{prefix}p7": ("ovs_port.present", {"bridge": br, "name": br}, "that name is a bridge"),
        f"{prefix}x1": ("ovs_bridge.present", {"datapath_type": "dpdk"}, "datapath_type: 'dpdk'"),
        f"{prefix}x2": ("ovs_bridge.present", {"fail_mode": "open"}, "fail_mode: 'open'"),
        f"{prefix}x3": ("ovs_bridge.present", {"name": f"{prefix}toolongname"}, "longer than 15"),
        f"{prefix}x4": ("ovs_bridge.present", {"vlan": 5}, "a fake bridge needs parent"),
        f"{prefix}d2": (
            "ovs_db.managed",
            {"table": "Bridge", "record": br, "data": {"nocol": 1}},
            "no column nocol",
        ),
        f"{prefix}d3": (
            "ovs_db.managed",
            {"table": "Bridge", "record": br, "data": {"name": {"a": 1}}},
            "not a map",
        ),
    }
    high = {}
    for sid, (fun, kwargs, _) in cases.items():
        mod, f = fun.split(".")
        high[sid] = {mod: [f, *({k: v} for k, v in kwargs.items())]}
    before = states.ovs_state()
    for test in (True, False):
        ret = states.cli.run("state.high", json.dumps(high), test=test)
        assert "Traceback" not in ret.stdout + ret.stderr
        for res in ret.data.values():
            sid = res["__id__"]
            assert res["result"] is False, res
            assert cases[sid][2] in res["comment"], res
            assert res["changes"] == {}
    assert states.ovs_state() == before

    # a missing bridge/record fails the real run (test=True predicts the change, as an
    # earlier state of the same run may create the bridge)
    ret = states.single("ovs_port.present", f"{prefix}p", bridge=f"{prefix}zz")
    assert ret["result"] is False and f"bridge {prefix}zz does not exist" in ret["comment"]
    ret = states.single(
        "ovs_db.managed", f"{prefix}zz", table="Bridge", data={"fail_mode": "secure"}
    )
    assert ret["result"] is False and f'no row "{prefix}zz" in table Bridge' in ret["comment"]
    assert states.ovs_state() == before


def test_execution_module_views(salt_call_cli, states, prefix):
    states.bridge(f"{prefix}b")
    states.port(f"{prefix}i", f"{prefix}b", type="internal")
    ret = salt_call_cli.run("ovs.bridges")
    assert ret.data[f"{prefix}b"]["datapath_type"] == "netdev"
    ret = salt_call_cli.run("ovs.ports", f"{prefix}b")
    assert set(ret.data) == {f"{prefix}b", f"{prefix}i"}
    ret = salt_call_cli.run("ovs.interfaces", f"{prefix}b")
    assert ret.data[f"{prefix}i"]["type"] == "internal"
    assert salt_call_cli.run("ovs.version").data.startswith("3.")
    clauses = [
        ["set", "Port", f"{prefix}i", "tag=5"],
        ["set", "Interface", f"{prefix}i", 'external_ids:a="b c"'],
    ]
    ret = salt_call_cli.run("ovs.transact", json.dumps(clauses))
    assert ret.returncode == 0, ret
    snap = states.db.snapshot()
    assert snap.ports[f"{prefix}i"].tag == 5 and snap.interfaces[f"{prefix}i"].external_ids == {
        "a": "b c"
    }
    ret = salt_call_cli.run("ovs.transact", json.dumps([["set", "Port", "no-such-port", "tag=5"]]))
    assert ret.returncode != 0 and "no row" in ret.stdout + ret.stderr
