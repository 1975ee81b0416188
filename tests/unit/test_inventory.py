"""The inventory model: every pillar mistake is reported with its path, before anything runs."""

import copy

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError

BASE = {
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11", "use": ["linux-server"]},
        "docker02": {"node_type": "docker_host", "address": "10.0.0.12"},
        "nagios01": {"address": "nagios01.example.com", "use": "generic-host,linux-server"},
        "web01": {
            "node_type": "container",
            "address": "192.168.77.11",
            "use": "linux-server",
            "parents": "docker01",
            "container": {
                "image": "local/busybox:latest",
                "command": "httpd -f -p 80",
                "env": ["ROLE=web", "TIER=1"],
                "memory": "64m",
                "restart": "unless-stopped",
                "networks": [
                    {"bridge": "br-mesh", "ip": "192.168.77.11/24", "mac": "02:77:00:00:00:11",
                     "gateway": "192.168.77.1", "vlan": 10, "mtu": 1450},
                ],
            },
        },
    },
    "saltmesh": {"mesh": {"subnet": "192.168.77.0/24"}},
}  # fmt: skip


def problems(change) -> list[tuple[str, str]]:
    pillar = copy.deepcopy(BASE)
    change(pillar)
    with pytest.raises(PillarError) as err:
        inventory.parse(pillar)
    return err.value.problems


def test_a_typo_directly_under_saltmesh_is_named():
    def typo(p):
        p["saltmesh"]["mseh"] = p["saltmesh"].pop("mesh")
        p["saltmesh"]["ovsdb"] = "unix:/run/ovs.sock"  # an option: allowed in the pillar

    [(path, msg)] = problems(typo)
    assert path == "saltmesh:mseh" and msg.startswith("unknown key (allowed: allocations, ")
    assert " mesh, " in msg


def test_parse_valid_inventory():
    inv = inventory.parse(BASE)
    web = inv.servers["web01"]
    assert web.parents == ("docker01",)
    assert web.use == ("linux-server",)
    assert inv.servers["nagios01"].use == ("generic-host", "linux-server")  # order kept
    assert web.container.command == ("httpd", "-f", "-p", "80")
    assert web.container.env == (("ROLE", "web"), ("TIER", "1"))
    assert web.container.memory == 64 * 1024**2
    net = web.container.networks[0]
    assert (str(net.ip), net.mac, net.vlan, net.mtu, net.interface) == (
        "192.168.77.11/24", "02:77:00:00:00:11", 10, 1450, "eth0",
    )  # fmt: skip
    assert [s.name for s in inv.containers_on("docker01")] == ["web01"]
    assert inv.server_for_minion("docker02").name == "docker02"
    assert [s.name for s in inv.docker_hosts] == ["docker01", "docker02"]


def test_objects_are_frozen():
    inv = inventory.parse(BASE)
    with pytest.raises(AttributeError):
        inv.servers["web01"].address = "x"


def test_placement_fills_missing_parent():
    pillar = copy.deepcopy(BASE)
    del pillar["servers"]["web01"]["parents"]
    pillar["saltmesh"]["placement"] = {"web01": "docker02"}
    assert inventory.parse(pillar).servers["web01"].parents == ("docker02",)


def test_external_hosts_may_be_parents():
    pillar = copy.deepcopy(BASE)
    pillar["servers"]["docker01"]["parents"] = "core-switch"
    with pytest.raises(PillarError):
        inventory.parse(pillar)
    assert inventory.parse(pillar, external_hosts=["core-switch"]).servers["docker01"].parents


def _set(path, value):
    def change(p):
        node = p
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return change


NET = ["servers", "web01", "container", "networks", 0]


@pytest.mark.parametrize(
    "change,path,message",
    [
        (_set(["servers", "web01", "parents"], "docker09"), "servers:web01:parents:0", "unknown parent 'docker09'"),
        (_set(["servers", "web01", "parents"], "nagios01"), "servers:web01:parents:0", "not a docker_host"),
        (_set(["servers", "web01", "parents"], ["docker01", "docker02"]), "servers:web01:parents", "exactly one docker host"),
        (_set(["servers", "docker01", "parents"], "docker01"), "servers:docker01:parents:0", "its own parent"),
        (lambda p: (p["servers"]["docker01"].update(parents="docker02"),
                    p["servers"]["docker02"].update(parents="docker01")),
         "servers:docker02:parents", "parent cycle: docker01 -> docker02 -> docker01"),
        (_set(["servers", "docker02", "address"], "10.0.0.11"), "servers:docker02:address", "already used"),
        (_set(["servers", "Docker01"], {"address": "10.0.0.99"}), "servers:docker01", "case-insensitive"),
        (_set(["servers", "docker02", "minion_id"], "docker01"), "servers:docker02:minion_id", "already used"),
        (_set(["servers", "bad name"], {"address": "10.0.0.9"}), "servers:bad name", "not a valid name"),
        (_set(["servers", "docker01", "adress"], "x"), "servers:docker01:adress", "unknown key"),
        (_set(["servers", "docker01", "node_type"], "vm"), "servers:docker01:node_type", "not one of"),
        (_set(["servers", "docker01", "address"], "10.0.0.300"), "servers:docker01:address", "neither an IP"),
        (_set(["servers", "docker01", "address"], None), "servers:docker01:address", "is required"),
        (_set(["servers", "docker01", "use"], {"a": 1}), "servers:docker01:use", "list of strings"),
        (_set(["servers", "docker01", "container"], {"image": "x"}), "servers:docker01:container", "only servers with node_type: container"),
        (_set(["servers", "docker01"], ["not", "a", "mapping"]), "servers:docker01", "must be a mapping"),
        (_set(["servers", "web01", "container", "image"], None), "servers:web01:container:image", "is required"),
        (_set(["servers", "web01", "container", "memory"], "lots"), "servers:web01:container:memory", "not a size"),
        (_set(["servers", "web01", "container", "restart"], "sometimes"), "servers:web01:container:restart", "not one of"),
        (_set(["servers", "web01", "container", "env"], {"A": "x\ny"}), "servers:web01:container:env:A", "line breaks"),
        (_set(NET + ["ip"], "192.168.77.300/24"), "servers:web01:container:networks:0:ip", "not an IP address with prefix"),
        (_set(NET + ["ip"], "192.168.77.11"), "servers:web01:container:networks:0:ip", "needs a prefix length"),
        (_set(NET + ["ip"], "192.168.78.11/24"), "servers:web01:container:networks:0:ip", "outside the mesh subnet"),
        (_set(NET + ["mac"], "01:00:5e:00:00:01"), "servers:web01:container:networks:0:mac", "multicast"),
        (_set(NET + ["mac"], "02:77:00:00:00"), "servers:web01:container:networks:0:mac", "not a MAC"),
        (_set(NET + ["gateway"], "10.9.9.9"), "servers:web01:container:networks:0:gateway", "outside 192.168.77.0/24"),
        (_set(NET + ["vlan"], 4095), "servers:web01:container:networks:0:vlan", "out of range"),
        (_set(NET + ["mtu"], "big"), "servers:web01:container:networks:0:mtu", "must be an integer"),
        (_set(NET + ["bridge"], "br-much-too-long-x"), "servers:web01:container:networks:0:bridge", "fit in 15"),
        (_set(NET + ["interface"], "eth0;reboot"), "servers:web01:container:networks:0:interface", "not allowed"),
        (_set(NET + ["colour"], "red"), "servers:web01:container:networks:0:colour", "unknown key"),
        (_set(NET + ["rate"], 0), "servers:web01:container:networks:0:rate", "out of range 1..10000000"),
        (_set(NET + ["rate"], -5), "servers:web01:container:networks:0:rate", "out of range"),
        (_set(NET + ["rate"], 10_000_001), "servers:web01:container:networks:0:rate", "out of range"),
        (_set(NET + ["rate"], 8.5), "servers:web01:container:networks:0:rate", "must be an integer"),
        (_set(NET + ["rate"], True), "servers:web01:container:networks:0:rate", "must be an integer"),
        (_set(NET + ["rate"], "8 mbit"), "servers:web01:container:networks:0:rate", "must be an integer"),
        (_set(NET + ["burst"], 0), "servers:web01:container:networks:0:burst", "out of range"),
        (_set(NET + ["burst"], 100), "servers:web01:container:networks:0:burst", "needs a rate"),
        (_set(["saltmesh", "mesh", "subnet"], "192.168.77.1/24"), "saltmesh:mesh:subnet", "not a network"),
        (_set(["saltmesh", "placement"], ["web01"]), "saltmesh:placement", "must be a mapping"),
    ],
)  # fmt: skip
def test_bad_pillar_names_the_path(change, path, message):
    found = problems(change)
    assert any(p == path and message in m for p, m in found), found


def test_duplicate_container_ip_and_mac_on_one_segment():
    def dup(p):
        p["servers"]["db01"] = copy.deepcopy(p["servers"]["web01"])
        p["servers"]["db01"]["address"] = "192.168.77.21"

    found = dict(problems(dup))
    assert (
        "already used at servers:db01:container:networks:0:ip"
        in found["servers:web01:container:networks:0:ip"]
    )
    assert "MAC 02:77:00:00:00:11" in found["servers:web01:container:networks:0:mac"]


def test_same_ip_on_another_vlan_is_another_segment():
    pillar = copy.deepcopy(BASE)
    pillar["servers"]["db01"] = copy.deepcopy(pillar["servers"]["web01"])
    pillar["servers"]["db01"]["container"]["networks"][0]["vlan"] = 20
    assert "db01" in inventory.parse(pillar).servers


def test_every_problem_is_reported_at_once():
    def many(p):
        p["servers"]["web01"]["parents"] = "nowhere"
        p["servers"]["docker02"]["address"] = "bad address!"
        p["saltmesh"]["mesh"]["tunnel"] = "stt"

    assert len(problems(many)) == 3
    err = PillarError([("b", "second"), ("a", "first")])
    assert str(err) == "Invalid pillar:\n  a: first\n  b: second"


def test_rate_and_burst_are_read():
    pillar = copy.deepcopy(BASE)
    pillar["servers"]["web01"]["container"]["networks"][0].update(rate=8000, burst=800)
    (net,) = inventory.parse(pillar).servers["web01"].container.networks
    assert (net.rate, net.burst) == (8000, 800)
    del pillar["servers"]["web01"]["container"]["networks"][0]["burst"]
    (net,) = inventory.parse(pillar).servers["web01"].container.networks
    assert (net.rate, net.burst) == (8000, None)
    (net,) = inventory.parse(BASE).servers["web01"].container.networks
    assert (net.rate, net.burst) == (None, None)
