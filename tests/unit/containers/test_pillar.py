"""Container pillar: every mistake that Docker would only refuse mid-run is caught up front."""

from __future__ import annotations

import copy

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.inventory.model import ContainerSettings

pytestmark = pytest.mark.reliability

BASE = {
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11"},
        "web01": {
            "node_type": "container",
            "address": "10.1.0.1",
            "parents": "docker01",
            "container": {
                "image": "registry.example.com:5000/team/web-app:1.2@sha256:" + "a" * 64,
                "ports": {"80": "8080", "53/udp": "127.0.0.1:5353", "443": "10.0.0.1:"},
                "volumes": ["/srv:/srv:ro,z", "data:/var/lib/data"],
                "hostname": "web01.example.com",
                "user": "1000:1000",
                "workdir": "/srv",
                "cpus": 0.5,
                "memory": "6m",
            },
        },
    },
}
C = ["servers", "web01", "container"]


def _set(path, value):
    def change(pillar):
        node = pillar
        for key in path[:-1]:
            node = node.setdefault(key, {})
        node[path[-1]] = value

    return change


def test_valid_container_pillar_and_default_settings():
    inv = inventory.parse(BASE)
    assert inv.servers["web01"].container.cpus == 0.5
    assert inv.containers == ContainerSettings(prune=True, prune_max=None)
    for prune in (True, False, "stop"):
        pillar = {**BASE, "saltmesh": {"containers": {"prune": prune, "prune_max": 3}}}
        assert inventory.parse(pillar).containers == ContainerSettings(prune, 3)


@pytest.mark.parametrize(
    ("change", "path", "message"),
    [
        (_set(C + ["image"], "Local/BusyBox"), "servers:web01:container:image", "not an image reference"),
        (_set(C + ["image"], "busybox latest"), "servers:web01:container:image", "not an image reference"),
        (_set(C + ["ports"], {"http": "80"}), "servers:web01:container:ports:http", "container port"),
        (_set(C + ["ports"], {"70000": "80"}), "servers:web01:container:ports:70000", "container port"),
        (_set(C + ["ports"], {"80": "eighty"}), "servers:web01:container:ports:80", "not [host_ip:]host_port"),
        (_set(C + ["ports"], {"80": "999.1.1.1:80"}), "servers:web01:container:ports:80", "not [host_ip:]host_port"),
        (_set(C + ["volumes"], ["relative/dir:/x"]), "servers:web01:container:volumes:0", "not 'source:/target[:mode]'"),
        (_set(C + ["volumes"], ["/srv:relative"]), "servers:web01:container:volumes:0", "not 'source:/target[:mode]'"),
        (_set(C + ["volumes"], ["/srv:/srv:rx"]), "servers:web01:container:volumes:0", "not 'source:/target[:mode]'"),
        (_set(C + ["volumes"], ["/srv"]), "servers:web01:container:volumes:0", "not 'source:/target[:mode]'"),
        (_set(C + ["env"], {"A=B": "1"}), "servers:web01:container:env:A=B", "without '='"),
        (_set(C + ["labels"], {"saltmesh.managed": "false"}), "servers:web01:container:labels:saltmesh.managed", "saltmesh's own"),
        (_set(C + ["memory"], "1k"), "servers:web01:container:memory", "below Docker's minimum"),
        (_set(C + ["memory"], -5), "servers:web01:container:memory", "below Docker's minimum"),
        (_set(C + ["memory"], 0), "servers:web01:container:memory", "below Docker's minimum"),
        (_set(C + ["cpus"], 0), "servers:web01:container:cpus", "out of range"),
        (_set(C + ["cpus"], -1), "servers:web01:container:cpus", "out of range"),
        (_set(C + ["cpus"], 5000), "servers:web01:container:cpus", "out of range"),
        (_set(C + ["hostname"], "web_01"), "servers:web01:container:hostname", "not a host name"),
        (_set(C + ["hostname"], "a" * 64), "servers:web01:container:hostname", "not a host name"),
        (_set(C + ["user"], "bob smith"), "servers:web01:container:user", "not a user"),
        (_set(C + ["workdir"], "srv"), "servers:web01:container:workdir", "absolute path"),
        (_set(C + ["command"], ["sh", "a\0b"]), "servers:web01:container:command", "NUL"),
        (_set(C + ["networks"], [{"bridge": "br0", "interface": "lo"}]), "servers:web01:container:networks:0:interface", "loopback"),
        (_set(["servers", "web01.saltmesh-old"], {"node_type": "container", "address": "10.1.0.9", "parents": "docker01"}), "servers:web01.saltmesh-old", "reserved"),
        (_set(["servers", "w"], {"node_type": "container", "address": "10.1.0.8", "parents": "docker01"}), "servers:w", "not a valid container name"),
        (_set(["saltmesh", "containers", "prune"], "yes please"), "saltmesh:containers:prune", "true, false or stop"),
        (_set(["saltmesh", "containers", "prune"], 1), "saltmesh:containers:prune", "true, false or stop"),
        (_set(["saltmesh", "containers", "prune_max"], -1), "saltmesh:containers:prune_max", "out of range"),
        (_set(["saltmesh", "containers", "prune_max"], "all"), "saltmesh:containers:prune_max", "must be an integer"),
        (_set(["saltmesh", "containers", "purge"], True), "saltmesh:containers:purge", "unknown key"),
        (_set(["saltmesh", "containers"], ["prune"]), "saltmesh:containers", "must be a mapping"),
    ],
)  # fmt: skip
def test_bad_container_pillar_names_the_path(change, path, message):
    pillar = copy.deepcopy(BASE)
    change(pillar)
    with pytest.raises(PillarError) as err:
        inventory.parse(pillar)
    assert any(p == path and message in m for p, m in err.value.problems), err.value.problems
