"""Ownership on the mesh bridge: ports saltmesh does not own survive every mesh state and prune.

The mesh bridge exists before saltmesh runs, made by someone else, and holds foreign ports: an
internal port, a VXLAN port named like a mesh port (``vxlan-0afe4dfe``, an address no host
has) but without identity, and a port of ANOTHER mesh (``saltmesh-mesh=othermesh``). Through
predictions, creation, growth, pruning of a removed host, and healing, their rows stay
byte-identical on every host. (Foreign rows off the mesh bridge: ``foreign_mesh`` in
conftest.py, checked after every test of the suite.)
"""

from __future__ import annotations

import uuid

import pytest

from tests.integration.mesh.test_mesh import BRIDGE, apply, assert_all_ok, tunnel_ports

pytestmark = pytest.mark.reliability


def test_foreign_ports_on_the_mesh_bridge_survive_every_state_and_prune(mesh_lab):
    p = "smt" + uuid.uuid4().hex[:4] + "g"
    lookalike, other_mesh, internal = "vxlan-0afe4dfe", f"{p}om", f"{p}in"
    names = {BRIDGE, lookalike, other_mesh, internal}
    for h in mesh_lab.hosts:
        h.ovs.vsctl(
            "add-br", BRIDGE, "--", "set", "Bridge", BRIDGE, "datapath_type=netdev",
            "--", "add-port", BRIDGE, internal, "external_ids:owner=ops",
            "--", "set", "Interface", internal, "type=internal",
            "--", "add-port", BRIDGE, lookalike,
            "--", "set", "Interface", lookalike, "type=vxlan",
            "options:remote_ip=10.254.77.254", "options:key=5000",
            "--", "add-port", BRIDGE, other_mesh, "external_ids:saltmesh-mesh=othermesh",
            "external_ids:saltmesh-peer=elsewhere", "external_ids:saltmesh-remote=10.254.77.253",
            "--", "set", "Interface", other_mesh, "type=vxlan", "options:remote_ip=10.254.77.253",
            "options:key=5000",
        )  # fmt: skip

    def foreign(h) -> dict:
        rows = h.ovs.config_rows("Port", "Interface")
        return {t: {n: r for n, r in rows[t].items() if n in names - {BRIDGE}} for t in rows}

    seeded = {h.name: foreign(h) for h in mesh_lab.hosts}
    assert all(len(s["Port"]) == 3 for s in seeded.values())

    def untouched(step: str) -> None:
        for h in mesh_lab.hosts:
            assert foreign(h) == seeded[h.name], (step, h.name)
            assert BRIDGE in h.ovs.vsctl("list-br").split(), (step, h.name)

    three = mesh_lab.hosts[:3]
    mesh_lab.set_pillar(three, tunnel="vxlan")
    predicted = apply(mesh_lab, three, test=True)
    assert all(r["result"] is None and "removed" not in r["changes"] for r in predicted.values())
    untouched("test=True")

    assert_all_ok(apply(mesh_lab, three))
    for h in three:
        assert len(tunnel_ports(h)) == 2 + 2  # two planned tunnels, two foreign VXLAN ports
    untouched("first apply")

    four = mesh_lab.hosts[:4]
    mesh_lab.set_pillar(four, tunnel="vxlan")
    assert_all_ok(apply(mesh_lab, four))
    untouched("a host added")

    gone = four[1]
    rest = [h for h in four if h is not gone]
    mesh_lab.set_pillar(rest, tunnel="vxlan")
    results = apply(mesh_lab, rest)
    assert_all_ok(results)
    assert all(list(r["changes"]) == ["removed"] for r in results.values()), results
    untouched("a host removed: its tunnels pruned")

    h0 = rest[0]
    ours = [n for n, t in tunnel_ports(h0).items() if t["ids"].get("saltmesh-mesh") == BRIDGE]
    victim = sorted(ours)[0]
    h0.ovs.vsctl("del-port", BRIDGE, victim)
    h0.ovs.vsctl("set", "Interface", lookalike, "options:key=5000")  # a no-op write nearby
    healed = apply(mesh_lab, [h0])[h0.name]
    assert healed["changes"] == {"added": [victim]}, healed
    verify = mesh_lab.salt_run_cli.run("mesh.verify")
    assert verify.data == {h.name: {} for h in rest}, verify
    untouched("healed, verified")
