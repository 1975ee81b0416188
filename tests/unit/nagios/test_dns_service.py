"""The DNS service of each docker host running the mesh's DNS server, and Nagios addresses of
``dhcp: true`` containers."""

from __future__ import annotations

from saltmesh.nagios.dns import DNS_COMMAND
from tests.unit.nagios import sample


def with_discovery() -> dict:
    data = sample.pillar()
    data["servers"]["docker01"]["overlay_address"] = "192.168.77.2/24"
    data["servers"]["app1"] = {
        "node_type": "container",
        "parents": "docker01",
        "container": {"image": "busybox", "networks": [{"bridge": "br-mesh", "dhcp": True}]},
    }
    data["saltmesh"]["mesh"] = {"domain": "mesh.example"}
    data["saltmesh"]["discovery"] = {"dhcp_range": ["192.168.77.200", "192.168.77.249"]}
    return data


def test_each_dns_host_gets_a_dns_check_of_its_own_name_against_its_server():
    files = sample.render(with_discovery())
    host = files["host_docker01.cfg"].decode()
    words = [line.split() for line in host.splitlines()]
    assert ["service_description", "DNS"] in words
    assert f"{DNS_COMMAND}!docker01.mesh.example!192.168.77.2!10.0.0.11" in host
    cmd = files["discovery.cfg"].decode()
    assert "'$USER1$/check_dns' -H '$ARG1$' -s '$ARG2$' -a '$ARG3$'" in cmd
    # the container is checked by its DNS name; the other hosts get no DNS service
    assert "app1.mesh.example" in files["host_app1.cfg"].decode()
    assert "DNS" not in files["host_nagios01.cfg"].decode()


def test_no_dns_check_without_discovery_and_own_null_leaves_it_out():
    files = sample.render(sample.pillar())
    assert "discovery.cfg" not in files
    assert DNS_COMMAND not in files["host_docker01.cfg"].decode()
    data = with_discovery()
    data["servers"]["docker01"]["services"] = {"DNS": None}
    files = sample.render(data)
    assert DNS_COMMAND not in files["host_docker01.cfg"].decode()
