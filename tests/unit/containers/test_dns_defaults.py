"""The overlay DNS as containers' default resolvers, and dns/dns_search in Docker's terms."""

from __future__ import annotations

from saltmesh.containers import spec as specs
from saltmesh.inventory import parse
from saltmesh.inventory.resolvers import resolvers_for
from tests.unit.containers.fakes import IMAGE, inspect_of, spec


def pillar(discovery=True, **containers):
    hosts = {
        f"docker0{i}": {"node_type": "docker_host", "address": f"10.0.0.1{i}",
                        **({"overlay_address": f"192.168.77.{i}/24"} if discovery else {})}
        for i in range(1, 6)
    }  # fmt: skip
    return {"servers": {**hosts, **containers}}


def box(parent="docker03", bridge="br-mesh", last=50, **extra):
    return {
        "node_type": "container",
        "address": f"192.168.77.{last}",
        "parents": parent,
        "container": {
            "image": "a",
            "networks": [{"bridge": bridge, "ip": f"192.168.77.{last}/24"}],
            **extra,
        },
    }


def test_own_host_first_then_two_others_by_hash():
    spec_ = parse(pillar(db01=box())).servers["db01"].container
    assert spec_.dns[0] == "192.168.77.3" and len(spec_.dns) == 3 == len(set(spec_.dns))
    assert spec_.dns_search == ("mesh.internal",)
    hosts = {f"docker0{i}": f"192.168.77.{i}" for i in range(1, 6)}
    assert spec_.dns == resolvers_for("db01", "docker03", hosts)
    # the choice depends on the container: not every container asks the same two hosts
    seconds = {resolvers_for(f"c{i}", "docker03", hosts)[1] for i in range(40)}
    assert len(seconds) == 4


def test_a_joining_host_changes_few_containers_lists():
    hosts = {f"docker{i:02d}": f"192.168.77.{i}" for i in range(1, 11)}
    before = {f"c{i}": resolvers_for(f"c{i}", "docker01", hosts) for i in range(200)}
    after = {c: resolvers_for(c, "docker01", {**hosts, "docker00": "192.168.77.100"})
             for c in before}  # fmt: skip
    changed = sum(before[c] != after[c] for c in before)
    assert 0 < changed < 200 * 0.4  # about 2/10 of them: those ranking the new host first


def test_set_values_win_and_other_bridges_and_no_discovery_get_nothing():
    inv = parse(
        pillar(
            own=box(dns=["10.9.9.9"]),
            search=box(last=51, dns_search="example.org"),
            off=box(last=52, bridge="br-other"),
        )
        | {"saltmesh": {"mesh": {"domain": "lab.example"}}}
    )
    assert inv.servers["own"].container.dns == ("10.9.9.9",)
    assert inv.servers["own"].container.dns_search == ("lab.example",)
    assert inv.servers["search"].container.dns_search == ("example.org",)
    assert inv.servers["search"].container.dns[0] == "192.168.77.3"
    off = inv.servers["off"].container
    assert off.dns is None and off.dns_search is None
    plain = parse(pillar(discovery=False, db01=box())).servers["db01"].container
    assert plain.dns is None and plain.dns_search is None
    disabled = parse(pillar(db01=box()) | {"saltmesh": {"discovery": {"enabled": False}}})
    assert disabled.servers["db01"].container.dns is None


def test_dns_is_a_create_time_field():
    s = spec(dns=["192.168.77.3", "192.168.77.1"], dns_search=["mesh.internal"])
    kwargs = specs.create_kwargs("db01", s, None)
    assert kwargs["host_config"]["Dns"] == ["192.168.77.3", "192.168.77.1"]
    assert kwargs["host_config"]["DnsSearch"] == ["mesh.internal"]
    same = inspect_of(s)
    assert specs.diff_container(s, None, same, IMAGE).changes == {}
    other = spec(dns=["192.168.77.4"], dns_search=["mesh.internal"])
    diff = specs.diff_container(other, None, same, IMAGE)
    assert (
        diff.recreate == {"dns": {"old": ["192.168.77.3", "192.168.77.1"], "new": ["192.168.77.4"]}}
        and diff.update == {}
    )
    # unset: neither compared nor reset by a recreate
    assert "dns" not in specs.desired_values(spec(), None, None)
    kept = specs.carried_over(spec(), same, None)
    assert kept.dns == ("192.168.77.3", "192.168.77.1") and kept.dns_search == ("mesh.internal",)
