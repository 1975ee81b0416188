"""Salt 3007 SLS (openvswitch_bridge/port/db) applied unchanged: same end state, 3007's bugs fixed.

The expected OVS end state is what Salt 3007.x's ``salt/modules/openvswitch.py`` runs:
``port_create_gre`` -> ``add-port BR P -- set interface P type=gre options:remote_ip=R
options:key=ID``; ``port_create_vxlan`` adds ``options:dst_port=D`` when given;
``port_create_vlan`` -> ``add-port BR P tag=ID`` (+ ``type=internal``); ``port_add`` with
``internal`` -> ``type=internal``; ``bridge_create`` with parent/vlan -> ``add-br B P V``.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.smoke


def sls_3007(p: str) -> str:
    # A Salt 3007 SLS as users wrote it (only datapath_type is new: the tests need netdev).
    return f"""
{p}k:
  openvswitch_bridge.present:
    - datapath_type: netdev

{p}k.10:
  openvswitch_bridge.present:
    - name: {p}f
    - parent: {p}k
    - vlan: 10

{p}g:
  openvswitch_port.present:
    - bridge: {p}k
    - tunnel_type: gre
    - id: 200
    - remote: 10.99.1.2

{p}gn:
  openvswitch_port.present:
    - bridge: {p}k
    - tunnel_type: gre
    - remote: 10.99.1.3

{p}v:
  openvswitch_port.present:
    - bridge: {p}k
    - tunnel_type: vxlan
    - id: 5000
    - remote: 10.99.1.4
    - dst_port: 4790

{p}vn:
  openvswitch_port.present:
    - bridge: {p}k
    - tunnel_type: vxlan
    - id: 5001
    - remote: 10.99.1.5

{p}l:
  openvswitch_port.present:
    - bridge: {p}k
    - tunnel_type: vlan
    - id: 30
    - internal: true

{p}i:
  openvswitch_port.present:
    - bridge: {p}k
    - internal: true

{p}k-config:
  openvswitch_db.managed:
    - table: Bridge
    - record: {p}k
    - data:
        fail_mode: secure
        other_config: {{mac-table-size: "2048"}}
"""


def test_3007_sls_same_end_state(states, prefix, minion_log):
    p = prefix
    rets = states.cycle(sls_3007(p))
    assert all(r["changes"] for r in rets), rets
    by_id = {r["__id__"]: r for r in rets}
    assert by_id[f"{p}g"]["changes"] == {
        "port": {"old": None, "new": f"{p}g"},
        "bridge": {"old": None, "new": f"{p}k"},
        "type": {"old": None, "new": "gre"},
        "options": {"old": None, "new": {"key": "200", "remote_ip": "10.99.1.2"}},
    }

    snap = states.db.snapshot()
    assert snap.bridges[f"{p}k"].datapath_type == "netdev"
    assert snap.bridges[f"{p}k"].fail_mode == "secure"
    assert snap.bridges[f"{p}k"].other_config == {"mac-table-size": "2048"}
    iface = {n: (i.type, i.options) for n, i in snap.interfaces.items() if n.startswith(p)}
    assert iface[f"{p}g"] == ("gre", {"remote_ip": "10.99.1.2", "key": "200"})
    assert iface[f"{p}gn"] == ("gre", {"remote_ip": "10.99.1.3"})  # 3007: TypeError without id
    assert iface[f"{p}v"] == (
        "vxlan",
        {"remote_ip": "10.99.1.4", "key": "5000", "dst_port": "4790"},
    )
    assert iface[f"{p}vn"] == ("vxlan", {"remote_ip": "10.99.1.5", "key": "5001"})  # 3007: crash
    assert iface[f"{p}l"] == ("internal", {})
    assert iface[f"{p}i"] == ("internal", {})
    assert snap.ports[f"{p}l"].tag == 30
    assert snap.ports[f"{p}f"].fake_bridge and snap.ports[f"{p}f"].tag == 10

    # creating the ports logged no ERROR line (3007 did, for every port it created)
    errors = [line for line in minion_log() if "[ERROR" in line]
    assert errors == []

    # extra options added by someone else are left alone and cause no change (3007 reported
    # a change on every run: it compared the options as a string)
    states.ovs.vsctl("set", "Interface", f"{p}g", "options:df_default=false", "options:tos=inherit")
    again = states.run(sls_3007(p))
    assert [r["changes"] for r in again] == [{}] * len(again)
    assert states.db.snapshot().interfaces[f"{p}g"].options["df_default"] == "false"

    # a changed remote is corrected in place
    states.ovs.vsctl("set", "Interface", f"{p}v", 'options:remote_ip="10.99.9.9"')
    again = {r["__id__"]: r for r in states.run(sls_3007(p))}
    assert again[f"{p}v"]["changes"] == {
        "options": {"old": {"remote_ip": "10.99.9.9"}, "new": {"remote_ip": "10.99.1.4"}}
    }

    # the log check above is not vacuous: a failing state does log an ERROR line
    states.run(
        f"{p}bad:\n  openvswitch_port.present:\n    - bridge: {p}k\n    - tunnel_type: foo\n"
    )
    assert any("[ERROR" in line for line in minion_log())


def test_3007_absent_and_bad_args(states, prefix):
    p = prefix
    states.bridge(f"{p}k")
    states.port(f"{p}g", f"{p}k", type="gre", options={"remote_ip": "10.99.1.2"})
    (ret,) = states.cycle(f"""
{p}g:
  openvswitch_port.absent:
    - bridge: {p}k
""")
    assert ret["changes"] == {"port": {"old": f"{p}g", "new": None}}
    # 3007 reported "Deleted port" for a port that never existed when bridge was not given
    ret = states.single("openvswitch_port.absent", f"{p}never")
    assert ret["result"] is True and ret["changes"] == {}

    bad = {
        "tunnel_type: foo": "tunnel_type must be one of vlan, vxlan, gre",
        "tunnel_type: gre\n    - remote: not-an-ip": "remote must be an IP address",
        "tunnel_type: gre\n    - id: -1\n    - remote: 10.0.0.1": "id must be an integer between 0 and 4294967295",
        "tunnel_type: vlan": "id (the VLAN) is required",
        "tunnel_type: vxlan\n    - remote: 10.0.0.1\n    - dst_port: 70000": "dst_port must be an integer",
    }
    text = "".join(
        f"{p}x{i}:\n  openvswitch_port.present:\n    - bridge: {p}k\n    - {args}\n"
        for i, args in enumerate(bad)
    )
    for ret, msg in zip(states.run(text), bad.values(), strict=True):
        assert ret["result"] is False and msg in ret["comment"], ret

    (ret,) = states.cycle(f"{p}k:\n  openvswitch_bridge.absent: []\n")
    assert ret["changes"] == {"bridge": {"old": f"{p}k", "new": None}}
