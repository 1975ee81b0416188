"""The mesh planner: pure, deterministic, validating."""

import json
import random

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.mesh import planner


def pillar(n=3, tunnel="vxlan", **mesh_opts):
    servers = {
        f"docker{i:02d}": {"node_type": "docker_host", "address": f"10.0.0.{i}"}
        for i in range(1, n + 1)
    }
    servers["web01"] = {"node_type": "container", "address": "192.168.77.11", "parents": "docker01"}
    return {"servers": servers, "saltmesh": {"mesh": {"tunnel": tunnel, "key": 5000, **mesh_opts}}}


def plan(p):
    return planner.plan_fleet(inventory.parse(p))


def shuffled(d):
    if not isinstance(d, dict):
        return d
    items = list(d.items())
    random.shuffle(items)
    return {k: shuffled(v) for k, v in items}


def test_full_mesh_has_n_minus_one_tunnels_per_host():
    fleet = plan(pillar(4))
    assert sorted(fleet) == ["docker01", "docker02", "docker03", "docker04"]
    for host, hp in fleet.items():
        assert len(hp.tunnels) == 3
        assert host not in {t.peer for t in hp.tunnels}
    assert sum(len(hp.tunnels) for hp in fleet.values()) == 4 * 3


def test_tunnel_fields():
    hp = plan(pillar(3, dst_port=4790, options={"df_default": "false"}))["docker01"]
    t = hp.tunnels[0]
    assert t == planner.Tunnel("vxlan-0a000002", "docker02", "10.0.0.2")
    assert hp.local_ip == "10.0.0.1"
    assert hp.options(t) == {
        "remote_ip": "10.0.0.2",
        "local_ip": "10.0.0.1",
        "key": "5000",
        "dst_port": "4790",
        "df_default": "false",
    }
    assert hp.external_ids(t) == {
        "saltmesh-mesh": "br-mesh",
        "saltmesh-peer": "docker02",
        "saltmesh-remote": "10.0.0.2",
    }


@pytest.mark.parametrize(
    "tunnel,ip,name",
    [
        ("gre", "10.0.0.1", "gre-0a000001"),
        ("vxlan", "10.0.0.1", "vxlan-0a000001"),
        ("geneve", "255.255.255.254", "geneve-fffffffe"),
    ],
)
def test_port_names_ipv4(tunnel, ip, name):
    assert planner.port_name(tunnel, ip) == name


@pytest.mark.parametrize("tunnel", ["gre", "vxlan", "geneve"])
def test_port_names_ipv6_fit_and_differ(tunnel):
    a = planner.port_name(tunnel, "fd00::1")
    b = planner.port_name(tunnel, "fd00::2")
    assert a != b and len(a.encode()) <= 15 and len(b.encode()) <= 15
    assert a.startswith(tunnel + "-")


def test_deterministic_whatever_the_key_order():
    p = pillar(6, options={"csum": "true", "tos": "inherit"})
    reference = json.dumps({h: hp.to_dict() for h, hp in plan(p).items()})
    for seed in range(5):
        random.seed(seed)
        again = json.dumps({h: hp.to_dict() for h, hp in plan(shuffled(p)).items()})
        assert again == reference


def test_underlay_override_and_default_mtu():
    p = pillar(2, underlay={"docker02": "10.200.0.2"})
    fleet = plan(p)
    assert fleet["docker01"].tunnels[0].remote_ip == "10.200.0.2"
    assert fleet["docker02"].local_ip == "10.200.0.2"
    assert fleet["docker02"].options(fleet["docker02"].tunnels[0])["local_ip"] == "10.200.0.2"
    assert fleet["docker01"].mtu == 1500 - 50


def test_gre_mtu_and_no_dst_port():
    hp = plan(pillar(2, tunnel="gre", underlay_mtu=1600))["docker01"]
    assert hp.mtu == 1600 - 42
    assert "dst_port" not in hp.options(hp.tunnels[0])


def test_adding_a_host_adds_one_tunnel_per_existing_host():
    before = plan(pillar(3))
    after = plan(pillar(4))
    for host in before:
        old = set(before[host].tunnels)
        new = set(after[host].tunnels)
        assert old < new and len(new - old) == 1


def test_plan_host_matches_fleet():
    inv = inventory.parse(pillar(5))
    assert planner.plan_host(inv, "docker03") == planner.plan_fleet(inv)["docker03"]


def test_host_for_minion():
    p = pillar(2)
    p["servers"]["docker02"]["minion_id"] = "minion-b"
    inv = inventory.parse(p)
    assert planner.host_for_minion(inv, "minion-b") == "docker02"
    with pytest.raises(PillarError, match="no docker_host has minion_id 'nope'"):
        planner.host_for_minion(inv, "nope")


@pytest.mark.parametrize(
    "change,path,message",
    [
        (lambda p: p["servers"]["docker02"].update(address="10.0.0.1"),
         "servers:docker02:address", "already used"),
        (lambda p: p["saltmesh"]["mesh"].update(underlay={"docker02": "10.0.0.1"}),
         "saltmesh:mesh:underlay:docker02", "underlay 10.0.0.1 is also docker01's"),
        (lambda p: p["servers"]["docker02"].update(address="docker02.example.com"),
         "servers:docker02:address", "is not an IP address; set saltmesh:mesh:underlay:docker02"),
        (lambda p: p["saltmesh"]["mesh"].update(underlay={"docker02": "fd00::2"}),
         "saltmesh:mesh:underlay", "mixes IPv4 and IPv6"),
        (lambda p: p["saltmesh"]["mesh"].update(key=2**24),
         "saltmesh:mesh:key", "out of range"),
        (lambda p: p["saltmesh"]["mesh"].update(mtu=1500),
         "saltmesh:mesh:mtu", "exceeds underlay_mtu 1500; lower mtu to 1450"),
        (lambda p: p["saltmesh"]["mesh"].update(bridge="br-much-too-long-name"),
         "saltmesh:mesh:bridge", "interface names fit in 15"),
        (lambda p: p["saltmesh"]["mesh"].update(tunnel="stt"),
         "saltmesh:mesh:tunnel", "is not one of gre, vxlan, geneve"),
        (lambda p: p["saltmesh"]["mesh"].update(options={"remote_ip": "1.2.3.4"}),
         "saltmesh:mesh:options:remote_ip", "set by the mesh itself"),
        (lambda p: p["saltmesh"]["mesh"].update(underlay={"web01": "10.9.9.9"}),
         "saltmesh:mesh:underlay:web01", "not a docker_host"),
        (lambda p: p["saltmesh"]["mesh"].update(bfd="yes"),
         "saltmesh:mesh:bfd", "must be true or false"),
        (lambda p: p["saltmesh"]["mesh"].update(vni=5),
         "saltmesh:mesh:vni", "unknown key"),
    ],
)  # fmt: skip
def test_bad_pillar_names_the_path(change, path, message):
    p = pillar(3)
    change(p)
    with pytest.raises(PillarError) as err:
        plan(p)
    assert any(pp == path and message in msg for pp, msg in err.value.problems), err.value


def test_gre_key_range_is_32_bits():
    assert plan(pillar(2, tunnel="gre", key=2**32 - 1))["docker01"].key == 2**32 - 1
