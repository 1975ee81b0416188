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


def reconcile(plan: HostPlan, snap: Snapshot) -> tuple[list[Clause], dict]:
    """Clauses for one OVSDB transaction and the structured ``changes`` they make."""
    mesh_ports = owned_ports(snap, plan.mesh)
    for tunnel in plan.tunnels:
        port = snap.ports.get(tunnel.name)
        if port is not None and tunnel.name not in mesh_ports:
            where = f" on bridge {port.bridge}" if port.bridge else ""
            raise PortConflict(
                f"port {tunnel.name}{where} exists but is not managed by mesh {plan.mesh} "
                f"(no external_ids:{MESH_ID}={plan.mesh}); rename or remove it"
            )

    clauses, bridge_changes = diff_bridge(plan.bridge, snap, datapath_type=plan.datapath_type)
    clauses = list(clauses)
    changes: dict = {}
    if bridge_changes:
        changes["bridge"] = bridge_changes
    if plan.bridge not in snap.bridges:  # created by this transaction: let ports refer to it
        snap = replace(snap, bridges={**snap.bridges, plan.bridge: Bridge(plan.bridge, uuid="")})

    planned = {t.name for t in plan.tunnels}
    removed = sorted(set(mesh_ports) - planned)
    for name in removed:  # deletions first: a freed name may be reused below
        clauses += remove_port(name, snap)[0]

    added: list[str] = []
    updated: dict[str, dict] = {}
    for tunnel in plan.tunnels:
        port_clauses, port_changes = diff_port(port_spec(plan, tunnel), snap)
        if not port_clauses:
            continue
        clauses += port_clauses
        if tunnel.name in snap.ports:
            updated[tunnel.name] = port_changes
        else:
            added.append(tunnel.name)

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
