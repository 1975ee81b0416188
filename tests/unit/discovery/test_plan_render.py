"""Discovery planning and rendering: who answers what, byte-stable files, the allocation."""

from __future__ import annotations

import copy
import ipaddress

import pytest

from saltmesh import inventory
from saltmesh.discovery import plan, render
from saltmesh.discovery.mac import derived_mac
from saltmesh.errors import SaltmeshError
from saltmesh.inventory.discovery import allocate


def dhcp_container(parent: str, **net) -> dict:
    return {
        "node_type": "container",
        "parents": parent,
        "container": {"image": "busybox", "networks": [{"bridge": "br-mesh", "dhcp": True, **net}]},
    }


BASE = {
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11",
                     "overlay_address": "192.168.77.2/24"},
        "docker02": {"node_type": "docker_host", "address": "10.0.0.12",
                     "overlay_address": "192.168.77.3/24"},
        "nagios01": {"address": "10.0.0.5"},
        "ext": {"address": "ext.example.com"},
        "web01": {"node_type": "container", "address": "192.168.77.11", "parents": "docker01",
                  "container": {"image": "busybox", "networks": [
                      {"bridge": "br-mesh", "ip": "192.168.77.11/24"}]}},
        "db01": {"node_type": "container", "parents": "docker02",
                 "container": {"image": "busybox", "networks": [
                     {"bridge": "br-mesh", "ip": "192.168.77.21/24"}]}, "address": "192.168.77.21"},
        "app1": dhcp_container("docker01"),
        "app2": dhcp_container("docker02", mac="02:aa:00:00:00:02"),
    },
    "saltmesh": {
        "mesh": {"domain": "Mesh.Example"},
        "discovery": {"dhcp_range": ["192.168.77.200", "192.168.77.249"]},
    },
}  # fmt: skip


def parse(change=None):
    pillar = copy.deepcopy(BASE)
    if change:
        change(pillar)
    return inventory.parse(pillar)


def test_every_host_answers_every_name_but_dhcp_only_for_its_own():
    inv = parse()
    p1, p2 = plan.plan_host(inv, "docker01"), plan.plan_host(inv, "docker02")
    alloc = dict(inv.discovery.dhcp)
    names = [n for _, n in p1.records]
    # every server and container with an address; ext (a host name) has no A record
    assert names == ["app1", "app2", "db01", "docker01", "docker02", "nagios01", "web01"]
    assert p1.records == p2.records
    assert ("10.0.0.11", "docker01") in p1.records  # a server: its pillar address
    assert (str(alloc["app1"]), "app1") in p1.records  # a dhcp container: its allocation
    assert p1.dhcp_hosts == (plan.DhcpHost(derived_mac("app1"), "app1", alloc["app1"]),)
    assert p2.dhcp_hosts == (plan.DhcpHost("02:aa:00:00:00:02", "app2", alloc["app2"]),)
    assert p1.domain == "mesh.example"
    assert (p1.port, p2.port) == ("smdns-c0a84d02", "smdns-c0a84d03")
    assert len(p1.port) <= 15


def test_dhcp_container_gets_its_dns_name_as_nagios_address_and_an_address_in_range():
    inv = parse()
    assert inv.servers["app1"].address == "app1.mesh.example"
    assert inv.servers["web01"].address == "192.168.77.11"
    for ip in dict(inv.discovery.dhcp).values():
        assert (
            ipaddress.IPv4Address("192.168.77.200") <= ip <= ipaddress.IPv4Address("192.168.77.249")
        )


def test_allocation_is_the_same_after_a_move_and_independent_of_pillar_order():
    inv = parse()

    def move(p):
        p["servers"]["app1"]["parents"] = "docker02"
        p["servers"] = dict(reversed(list(p["servers"].items())))

    moved = parse(move)
    assert moved.discovery.dhcp == inv.discovery.dhcp
    # the moved container is now answered by docker02 only, same MAC and address
    assert plan.plan_host(moved, "docker01").dhcp_hosts == ()
    assert {h.name for h in plan.plan_host(moved, "docker02").dhcp_hosts} == {"app1", "app2"}


def test_allocate_probes_past_collisions_and_reports_exhaustion():
    first = ipaddress.IPv4Address("10.1.0.1")
    got, left = allocate([f"c{i}" for i in range(4)], first, first + 3)
    assert sorted(got.values()) == [first + i for i in range(4)] and left == []
    got, left = allocate(["a", "b", "c"], first, first + 1)
    assert len(got) == 2 and left == ["c"]  # name order decides who waits
    # a newcomer does not move anybody unless it collides: most addresses stay put
    names = [f"app{i}" for i in range(40)]
    before, _ = allocate(names, first, first + 199)
    after, _ = allocate([*names, "zz-new"], first, first + 199)
    assert all(after[n] == before[n] for n in names)


def test_render_is_canonical_and_byte_stable():
    inv = parse()
    p = plan.plan_host(inv, "docker01")
    again = plan.plan_host(
        parse(lambda pl: pl.update(servers=dict(reversed(list(pl["servers"].items()))))), "docker01"
    )
    assert render.render(p) == render.render(again)
    files = render.render(p)
    conf = files["conf"].splitlines()
    assert "listen-address=192.168.77.2" in conf and "bind-interfaces" in conf
    assert "dhcp-range=set:mesh,192.168.77.0,static,255.255.255.0,1h" in conf
    assert "dhcp-ignore=tag:!known" in conf
    assert "local=/mesh.example/" in conf and "domain=mesh.example" in conf
    assert f"addn-hosts={p.path('hosts')}" in conf
    assert "no-resolv" not in conf  # no upstream given: the host's resolv.conf
    assert "10.0.0.11 docker01.mesh.example docker01" in files["hosts"].splitlines()
    assert files["dhcp"].splitlines()[1:] == [
        f"{derived_mac('app1')},app1,{dict(inv.discovery.dhcp)['app1']}"
    ]
    assert p.path("conf") == "/etc/saltmesh/dnsmasq/docker01.conf"
    assert p.path("pid") == "/run/saltmesh/dnsmasq/docker01.pid"


def test_a_pillar_change_of_names_touches_only_the_hosts_files():
    before = render.render(plan.plan_host(parse(), "docker01"))

    def add(p):
        p["servers"]["cache01"] = {"node_type": "container", "address": "192.168.77.31",
                                   "parents": "docker02"}  # fmt: skip
        p["servers"]["app3"] = dhcp_container("docker01")

    after = render.render(plan.plan_host(parse(add), "docker01"))
    assert after["conf"] == before["conf"]  # SIGHUP is enough
    assert after["hosts"] != before["hosts"] and after["dhcp"] != before["dhcp"]


def test_upstream_resolvers_replace_resolv_conf():
    inv = parse(
        lambda p: p["saltmesh"]["discovery"].update(upstream=["192.0.2.53", "2001:db8::53"])
    )
    conf = render.render_conf(plan.plan_host(inv, "docker01")).splitlines()
    assert conf[-10:-7] == ["no-resolv", "server=192.0.2.53", "server=2001:db8::53"]


def test_no_dhcp_section_without_a_range():
    def no_dhcp(p):
        for n in ("app1", "app2"):
            del p["servers"][n]
        del p["saltmesh"]["discovery"]

    p = plan.plan_host(parse(no_dhcp), "docker01")
    files = render.render(p)
    assert "dhcp" not in files and "dhcp-range" not in files["conf"]


def test_discovery_off_without_overlay_address_or_when_disabled():
    def strip(p):
        for n in ("app1", "app2"):
            del p["servers"][n]
        for h in ("docker01", "docker02"):
            del p["servers"][h]["overlay_address"]
        del p["saltmesh"]["discovery"]

    inv = parse(strip)
    assert not inv.discovery.enabled and plan.plan_host(inv, "docker01") is None

    def off(p):
        strip(p)
        p["servers"]["docker01"]["overlay_address"] = "192.168.77.2/24"
        p["saltmesh"]["discovery"] = {"enabled": False}

    assert plan.plan_host(parse(off), "docker01") is None
    with pytest.raises(SaltmeshError, match="not a docker_host"):
        plan.plan_host(inv, "nagios01")


def test_names_that_are_not_dns_labels_are_fine_while_discovery_is_off():
    def strip(p):
        for n in ("app1", "app2"):
            del p["servers"][n]
        for h in ("docker01", "docker02"):
            del p["servers"][h]["overlay_address"]
        del p["saltmesh"]["discovery"]
        p["servers"]["web_01"] = p["servers"].pop("web01")

    assert "web_01" in parse(strip).servers
