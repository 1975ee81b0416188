"""Reconcile one host's planned tunnels with what its OVSDB holds (pure: no I/O).

The desired set comes from :func:`saltmesh.mesh.planner.plan_host`, the actual set from an
:class:`saltmesh.ovs.schema.Snapshot`. Like OVN's ``encaps.c``: a planned port that is in sync is
left alone (its uuid survives), a drifted one is corrected in place, a missing one is created
with all its columns in the same transaction, and every port that carries this mesh's identity
but is no longer planned is deleted. Ports without the identity are never touched; one that
squats a planned name is an error, reported before anything is written.
"""

from __future__ import annotations

from dataclasses import replace

from saltmesh.errors import SaltmeshError
from saltmesh.mesh.flowplan import PATCH_OFPORT, TUNNEL_OFPORT
from saltmesh.mesh.planner import MESH_ID, PEER_ID, HostPlan, Tunnel
from saltmesh.ovs.bridge import diff_bridge
from saltmesh.ovs.clauses import Clause
from saltmesh.ovs.port import diff_port, remove_port
from saltmesh.ovs.schema import Bridge, Snapshot
from saltmesh.ovs.spec import PortSpec


class PortConflict(SaltmeshError):
    """A planned port name is taken by a port that is not ours."""


def port_spec(plan: HostPlan, tunnel: Tunnel) -> PortSpec:
    """The full desired state of one tunnel port.

    ``protected=true`` is OVS split horizon: a frame that came in on one tunnel is never
    flooded out of another, which is what keeps a full mesh of three or more hosts loop-free.
    """
    return PortSpec(
        name=tunnel.name,
        bridge=plan.bridge,
        type=plan.type,
        options=plan.options(tunnel),
        external_ids=plan.external_ids(tunnel),
        protected=True,
        bfd={"enable": "true"} if plan.bfd else {},
    )


def owned_ports(snap: Snapshot, mesh: str) -> dict[str, str]:
    """Ports of ``mesh`` found in the snapshot: name -> peer."""
    return {
        name: port.external_ids.get(PEER_ID, "")
        for name, port in snap.ports.items()
        if port.external_ids.get(MESH_ID) == mesh
    }


def planned_ports(plan: HostPlan) -> list[tuple[PortSpec, int | None]]:
    """Every port the plan puts on this host, each with its pinned ofport (or None).

    Topology ``full``: one tunnel per peer on the mesh bridge. ``flow``: the patch pair
    between the mesh and the tunnel bridge, and the flow-based tunnel port.
    """
    if plan.flow is None:
        return [(port_spec(plan, t), None) for t in plan.tunnels]
    fp = plan.flow

    def ids(role: str) -> dict[str, str]:
        return {MESH_ID: plan.mesh, PEER_ID: role}

    return [
        (
            PortSpec(
                name=fp.patch_mesh,
                bridge=plan.bridge,
                type="patch",
                options={"peer": fp.patch_tunnel},
                external_ids=ids("patch"),
            ),
            None,
        ),
        (
            PortSpec(
                name=fp.patch_tunnel,
                bridge=fp.bridge,
                type="patch",
                options={"peer": fp.patch_mesh},
                external_ids=ids("patch"),
            ),
            PATCH_OFPORT,
        ),
        (
            PortSpec(
                name=fp.port,
                bridge=fp.bridge,
                type=plan.type,
                options=plan.flow_options(),
                external_ids=ids("flow"),
            ),
            TUNNEL_OFPORT,
        ),
    ]


def _tunnel_bridge(plan: HostPlan, snap: Snapshot) -> tuple[list[Clause], dict, str | None]:
    """The tunnel bridge's clauses and changes, and the name of one to delete (ours, no
    longer planned). A bridge of that name without our identity is an error."""
    name = plan.flow.bridge if plan.flow is not None else None
    for bname, br in sorted(snap.bridges.items()):
        if br.external_ids.get(MESH_ID) == plan.mesh and bname != plan.bridge and bname != name:
            return [("del-br", bname)], {"old": bname, "new": None}, bname
    if name is None:
        return [], {}, None
    have = snap.bridges.get(name)
    if have is not None and have.external_ids.get(MESH_ID) != plan.mesh:
        raise PortConflict(
            f"bridge {name} exists but is not managed by mesh {plan.mesh} "
            f"(no external_ids:{MESH_ID}={plan.mesh}); rename or remove it"
        )
    clauses, changes = diff_bridge(
        name,
        snap,
        datapath_type=plan.datapath_type,
        fail_mode="secure",
        external_ids={MESH_ID: plan.mesh},
    )
    return list(clauses), changes, None


def reconcile(plan: HostPlan, snap: Snapshot) -> tuple[list[Clause], dict]:
    """Clauses for one OVSDB transaction and the structured ``changes`` they make."""
    mesh_ports = owned_ports(snap, plan.mesh)
    specs = planned_ports(plan)
    for spec, _ in specs:
        port = snap.ports.get(spec.name)
        if port is not None and spec.name not in mesh_ports:
            where = f" on bridge {port.bridge}" if port.bridge else ""
            raise PortConflict(
                f"port {spec.name}{where} exists but is not managed by mesh {plan.mesh} "
                f"(no external_ids:{MESH_ID}={plan.mesh}); rename or remove it"
            )

    clauses, bridge_changes = diff_bridge(plan.bridge, snap, datapath_type=plan.datapath_type)
    clauses = list(clauses)
    changes: dict = {}
    if bridge_changes:
        changes["bridge"] = bridge_changes
    tclauses, tchanges, dropped = _tunnel_bridge(plan, snap)
    if tchanges:
        changes["tunnel_bridge"] = tchanges
    new = {plan.bridge} | ({plan.flow.bridge} if plan.flow is not None else set())
    missing = {b: Bridge(b, uuid="") for b in new if b not in snap.bridges}
    if missing:  # created by this transaction: let ports refer to them
        snap = replace(snap, bridges={**snap.bridges, **missing})

    planned = {spec.name for spec, _ in specs}
    removed = sorted(set(mesh_ports) - planned)
    for name in removed:  # deletions first: a freed name may be reused below
        if snap.ports[name].bridge != dropped:  # del-br takes the ports of a dropped bridge
            clauses += remove_port(name, snap)[0]
    clauses += tclauses

    added: list[str] = []
    updated: dict[str, dict] = {}
    for spec, ofport in specs:
        port_clauses, port_changes = diff_port(spec, snap)
        iface = snap.interfaces.get(spec.name)
        if ofport is not None and (iface is None or iface.ofport not in (None, ofport)):
            # pinned OpenFlow port number: the rules name it
            port_clauses = [
                *port_clauses,
                ("set", "Interface", spec.name, f"ofport_request={ofport}"),
            ]
            if iface is not None:
                port_changes = {**port_changes, "ofport": {"old": iface.ofport, "new": ofport}}
        if not port_clauses:
            continue
        clauses += port_clauses
        if spec.name in snap.ports:
            updated[spec.name] = port_changes
        else:
            added.append(spec.name)

    mtu_clauses, mtu_change = _bridge_mtu(plan, snap)
    clauses += mtu_clauses
    if added:
        changes["added"] = sorted(added)
    if removed:
        changes["removed"] = removed
    if updated:
        changes["updated"] = dict(sorted(updated.items()))
    if mtu_change:
        changes["mtu"] = mtu_change
    return clauses, changes


def _bridge_mtu(plan: HostPlan, snap: Snapshot) -> tuple[list[Clause], dict]:
    """The overlay MTU goes on the bridge's own internal interface (named like the bridge)."""
    iface = snap.interfaces.get(plan.bridge)
    old = iface.mtu_request if iface is not None else None
    if old == plan.mtu:
        return [], {}
    return [("set", "Interface", plan.bridge, f"mtu_request={plan.mtu}")], {
        "old": old,
        "new": plan.mtu,
    }
