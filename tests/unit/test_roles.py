"""The highstate's SLS per minion, from the servers pillar."""

import pytest

from saltmesh import inventory, roles

PILLAR = {
    "servers": {
        "docker01": {"node_type": "docker_host", "address": "10.0.0.11", "minion_id": "d1.example"},
        "nagios01": {"address": "10.0.0.5"},
        "web01": {"node_type": "container", "address": "10.1.0.2", "parents": "docker01"},
    }
}


@pytest.mark.parametrize(
    ("minion", "servers", "sls"),
    [
        ("d1.example", ("nagios01",), ["mesh", "containers", "mesh.heal", "nagios.nrpe"]),
        ("nagios01", ("nagios01",), ["nagios.running", "nagios.nrpe"]),
        ("web01", ("nagios01",), ["nagios.nrpe"]),  # a container that is a minion
        ("d1.example", (), ["mesh", "containers", "mesh.heal"]),  # no Nagios: no agents
        ("docker01", ("nagios01",), []),  # docker01's minion is d1.example
        ("stranger", ("nagios01",), []),
        ("stranger", ("stranger",), ["nagios.running"]),  # a Nagios server outside servers
    ],
)
def test_highstate_sls(minion, servers, sls):
    assert roles.highstate_sls(inventory.parse(PILLAR), servers, minion) == sls
