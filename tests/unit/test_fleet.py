"""The fleet file sliced per minion (saltmesh.fleet): each slice parses, and gives its minion
the same mesh plan, the same declared containers, the same highstate and the same NRPE file
as the whole fleet; it holds nothing of other hosts' containers; a bad file is an error that
names it; the master's cache reads a file again only when it changed."""

from __future__ import annotations

import copy
import os

import pytest
import yaml

from saltmesh import fleet, inventory, roles
from saltmesh.containers import placed
from saltmesh.errors import PillarError
from saltmesh.mesh import planner
from saltmesh.nagios import nrpe
from saltmesh.nagios import settings as nagios_settings
from tests.support import fleetgen


@pytest.fixture(scope="module")
def raw():
    return fleetgen.pillar(12, 80, apps=6, instances=3)


@pytest.fixture(scope="module")
def whole(raw):
    return fleet.index(raw)


def _minions(whole):
    return sorted(s.minion_id for s in whole.inv.servers.values())


def test_the_generated_fleet_has_what_slicing_must_get_right(whole):
    inv = whole.inv
    placed_by_record = [s for s in inv.by_type("container") if s.app]
    assert placed_by_record, "app instances placed through saltmesh:placement"
    assert any(not s.app and "parents" not in whole.raw["servers"][s.name]
               for s in inv.by_type("container")), "a container placed by saltmesh:placement"  # fmt: skip
    assert whole.whole_for_hosts == ""


@pytest.fixture(scope="module")
def flow(raw):
    data = copy.deepcopy(raw)
    data["saltmesh"]["mesh"]["topology"] = "flow"
    return fleet.index(data)


@pytest.mark.parametrize("topology", ["full", "flow"])
def test_each_docker_host_gets_the_same_plan_and_containers_from_its_slice(topology, whole, flow):
    found = flow if topology == "flow" else whole
    assert found.whole_for_hosts == ""
    full_plans = planner.plan_fleet(found.inv)
    for host in found.inv.docker_hosts:
        part = fleet.slice_for(found, host.minion_id)
        inv = inventory.parse(part)  # the slice is a valid pillar on its own
        assert planner.host_for_minion(inv, host.minion_id) == host.name
        assert planner.plan_host(inv, host.name) == full_plans[host.name]
        assert placed.declared(inv, host.minion_id, None) == placed.declared(
            found.inv, host.minion_id, None
        )
        # nothing of the containers that run elsewhere (with flow: their MACs)
        elsewhere = {s.name for s in found.inv.by_type("container")} - set(
            found.members.get(host.name, ())
        )
        assert not elsewhere & set(inv.servers), host.name
        assert set(part["saltmesh"]["placement"]) <= set(found.members.get(host.name, ()))
        assert not set(fleet.RUNNER_ONLY) & set(part["saltmesh"])
        assert ("macs" in part["saltmesh"]["mesh"]) == (topology == "flow")
    if topology == "flow":
        assert len(full_plans[host.name].flow.macs) > 50, "the fleet has MACs to send"


def test_a_docker_host_with_app_instances_gets_their_records(whole):
    hosts = {s.parents[0] for s in whole.inv.by_type("container") if s.app}
    host = whole.inv.servers[sorted(hosts)[0]]
    part = fleet.slice_for(whole, host.minion_id)
    mine = [s for s in whole.inv.containers_on(host.name) if s.app]
    for server in mine:
        assert part["saltmesh"]["placement"][server.name] == host.name
        assert server.name in part["saltmesh"]["allocations"]
        assert inventory.parse(part).servers[server.name] == server  # same address and MAC


def test_every_minion_gets_the_same_highstate_and_nrpe_file(raw, whole):
    settings = nagios_settings.parse_settings(raw)
    for minion_id in _minions(whole):
        part = fleet.slice_for(whole, minion_id)
        assert roles.highstate_sls(inventory.parse(part), settings.servers, minion_id) == (
            roles.highstate_sls(whole.inv, settings.servers, minion_id)
        ), minion_id
        part_settings = nagios_settings.parse_settings(part)
        assert nrpe.render_pillar(part_settings, part) == nrpe.render_pillar(settings, raw)


def test_a_container_minion_gets_itself_and_its_host(whole):
    part = fleet.slice_for(whole, "minionbox.example.net")
    assert set(part["servers"]) == {"minionbox", "docker0000", "nagios01"}
    assert part["servers"]["docker0000"] == {
        "node_type": "docker_host",
        "address": "10.0.0.1",
        "minion_id": "docker0000.example.net",
    }
    inventory.parse(part)


def test_nagios_servers_and_the_runners_get_the_whole_fleet(raw, whole):
    assert fleet.slice_for(whole, "nagios01") == raw
    assert fleet.slice_for(whole, "*") == raw
    assert fleet.slice_for(whole, "ops", whole=["ops"]) == raw
    assert fleet.slice_for(whole, "ops") != raw


def test_a_slice_is_a_copy(raw, whole):
    part = fleet.slice_for(whole, "docker0001.example.net")
    part["servers"]["docker0001"]["address"] = "changed"
    part["saltmesh"]["mesh"]["key"] = 1
    assert fleet.slice_for(whole, "docker0001.example.net") != part
    assert raw["servers"]["docker0001"]["address"] == "10.0.1.1"
    assert whole.raw["saltmesh"]["mesh"]["key"] == 5000


def test_an_unknown_minion_gets_no_server(whole):
    part = fleet.slice_for(whole, "stranger")
    assert set(part["servers"]) == {"nagios01"}
    assert roles.highstate_sls(inventory.parse(part), ("nagios01",), "stranger") == []


@pytest.mark.parametrize(
    "change, why",
    [
        ({"containers": {"prune": "stop"}}, "prune"),
        ({"containers": {"prune_max": 5}}, "prune_max"),
    ],
)
def test_docker_hosts_get_everything_when_their_states_need_every_container(raw, change, why):
    data = copy.deepcopy(raw)
    data["saltmesh"].update(change)
    found = fleet.index(data)
    assert why in found.whole_for_hosts
    assert fleet.slice_for(found, "docker0003.example.net") == data
    assert set(fleet.slice_for(found, "minionbox.example.net")["servers"]) == {
        "minionbox", "docker0000", "nagios01",
    }  # fmt: skip


def test_with_flow_topology_a_docker_host_gets_the_macs_of_the_fleet_by_host(flow):
    part = fleet.slice_for(flow, "docker0005.example.net")
    table = part["saltmesh"]["mesh"]["macs"]
    assert "docker0005" not in table  # its own containers' MACs are in its own entries
    others = {
        (net.mac, s.parents[0])
        for s in flow.inv.by_type("container")
        if s.parents and s.parents[0] != "docker0005"
        for net in s.container.networks
        if net.mac
    }
    assert {(mac, host) for host, macs in table.items() for mac in macs} == others
    # a container minion and Nagios get no table: theirs is a slice without, or the whole
    assert "macs" not in fleet.slice_for(flow, "minionbox.example.net")["saltmesh"]["mesh"]
    assert "macs" not in fleet.slice_for(flow, "nagios01")["saltmesh"]["mesh"]


def test_macs_listed_by_hand_reach_every_flow_host():
    data = fleetgen.pillar(3, 6)
    data["saltmesh"]["mesh"].update(topology="flow", macs={"docker0001": ["02:aa:00:00:00:01"]})
    found = fleet.index(data)
    for host in ("docker0000", "docker0001"):
        part = fleet.slice_for(found, f"{host}.example.net")
        assert "02:aa:00:00:00:01" in part["saltmesh"]["mesh"]["macs"]["docker0001"]
        plan = planner.plan_host(inventory.parse(part), host)
        assert plan == planner.plan_host(found.inv, host)
    assert ("02:aa:00:00:00:01", "docker0001") in plan.flow.macs


def test_with_discovery_docker_hosts_get_everything(raw):
    data = copy.deepcopy(raw)
    data["servers"]["docker0000"]["overlay_address"] = "10.127.0.2/10"
    found = fleet.index(data)
    assert "discovery" in found.whole_for_hosts
    assert fleet.slice_for(found, "docker0005.example.net") == data


def test_a_parent_without_an_address_is_dropped_from_the_own_entry():
    data = {
        "servers": {
            "web1": {"node_type": "server", "address": "10.9.0.1", "parents": ["box"]},
            "box": {
                "node_type": "container",
                "parents": ["d1"],
                "container": {"image": "x", "networks": [{"bridge": "br-mesh", "pool": "p"}]},
            },
            "d1": {"node_type": "docker_host", "address": "10.9.0.2"},
        },
        "saltmesh": {"pools": {"p": {"subnet": "10.96.0.0/24"}}},
    }
    found = fleet.index(data)
    part = fleet.slice_for(found, "web1")
    assert part["servers"] == {
        "web1": {"node_type": "server", "address": "10.9.0.1", "parents": []}
    }


def _write(path, data):
    path.write_text(yaml.safe_dump(data))


def test_files_are_merged_in_order(tmp_path, raw):
    main, records = tmp_path / "fleet.yaml", tmp_path / "placement.yaml"
    base = copy.deepcopy(raw)
    recorded = {k: base["saltmesh"].pop(k) for k in ("placement", "allocations", "placement_hosts")}
    _write(main, base)
    _write(records, {"saltmesh": recorded})
    assert fleet.load([str(main), str(records)]) == raw


@pytest.mark.parametrize(
    "text, message",
    [
        (None, "cannot read"),
        ("servers: [\n", "not valid YAML"),
        ("- a\n", "must be a mapping"),
        ("servers:\n  web01: {node_type: container}\n", "servers:web01:address: is required"),
    ],
)
def test_a_bad_fleet_file_is_an_error_naming_the_file(tmp_path, text, message):
    path = tmp_path / "fleet.yaml"
    if text is not None:
        path.write_text(text)
    out = fleet.ext_pillar_data("docker01", [str(path)])
    assert list(out) == ["_errors"]
    (error,) = out["_errors"]
    assert error.startswith("saltmesh_fleet: ") and str(path) in error and message in error


def test_no_file_configured_is_an_error():
    assert "no fleet file" in fleet.ext_pillar_data("docker01", [])["_errors"][0]


def test_the_cache_reads_a_file_again_only_when_it_changed(tmp_path, monkeypatch, raw):
    path = tmp_path / "fleet.yaml"
    _write(path, raw)
    loads = []
    real = fleet.load
    monkeypatch.setattr(fleet, "load", lambda paths: loads.append(paths) or real(paths))
    first = fleet.cached([str(path)])
    assert fleet.cached([str(path)]) is first and len(loads) == 1
    data = copy.deepcopy(raw)
    data["servers"]["docker0001"]["address"] = "10.200.0.1"
    _write(path, data)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    again = fleet.cached([str(path)])
    assert len(loads) == 2 and again.inv.servers["docker0001"].address == "10.200.0.1"
    path.write_text("servers: {web01: {node_type: bogus}}\n")
    with pytest.raises(fleet.FleetError, match="servers:web01:node_type"):
        fleet.cached([str(path)])


def test_index_refuses_an_invalid_fleet(raw):
    data = copy.deepcopy(raw)
    data["servers"]["docker0001"]["address"] = data["servers"]["docker0002"]["address"]
    with pytest.raises(PillarError, match="servers:docker000[12]:address"):
        fleet.index(data)
