"""
State for the OVS tunnel mesh: one state applies this host's whole share of the mesh.

.. code-block:: yaml

    # salt/mesh/init.sls; run with: salt 'docker*' state.sls mesh
    saltmesh-mesh:
      ovs_mesh.managed: []

The state creates the mesh bridge if needed, then reconciles every tunnel port the planner
gives this minion in ONE OVSDB transaction (``saltmesh:mesh:topology: flow``: the tunnel
bridge, its patch pair and flow-based port, then the OpenFlow rules of the mesh's cookie in
ONE bundle; see docs/mesh.md): missing ports are created (with
``protected=true``, split horizon), drifted ones corrected in place, ports that carry this
mesh's identity in ``external_ids`` but are no longer planned are deleted. Ports without that
identity are never touched.
"""

import functools

from salt.exceptions import CommandExecutionError

from saltmesh import memo, stateret
from saltmesh.errors import SaltmeshError
from saltmesh.mesh import planner, sync
from saltmesh.ovs import flowmark

__virtualname__ = "ovs_mesh"


def __virtual__():
    if "ovs.apply" not in __salt__:
        return False, "ovs_mesh needs the ovs execution module (ovs-vsctl not found?)"
    return __virtualname__


def managed(name, host=None):
    """
    Make this host's bridge carry exactly the tunnels the mesh plan gives it.

    name
        The state ID; free-form (by convention the mesh name).
    host
        The docker host's name in the ``servers`` pillar. Default: the docker host whose
        ``minion_id`` is this minion's id.

    ``changes`` has ``added`` and ``removed`` (sorted port names), ``updated`` (per port,
    ``{field: {old, new}}``), ``bridge`` when the bridge is created or corrected and ``mtu``;
    with ``topology: flow`` also ``tunnel_bridge`` (created, corrected or, back to ``full``,
    removed) and ``flows``: ``{old: [rules removed], new: [rules added]}`` (a rule whose
    actions change is in both), written as one OpenFlow bundle after the OVSDB transaction.
    OVSDB is read afresh and written in one transaction, under the host lock (none in test
    mode); any failure is ``result: False`` with the reason, nothing half-written.
    """
    test = bool(__opts__["test"])
    return stateret.from_call(
        name, lambda: _managed(name, host, test), test=test, expected=(SaltmeshError,)
    )


def _plan(host):
    # imported on a memo miss only: a no-op run reads its plan back without it
    from saltmesh import inventory  # noqa: PLC0415

    inv = inventory.parse(__pillar__)
    plan = planner.plan_host(inv, host or planner.host_for_minion(inv, __opts__["id"]))
    return plan, (plan.flow.rules() if plan.flow is not None else None)


def _managed(name, host, test):
    cachedir = __opts__.get("cachedir")
    # with topology flow, most of a no-op is reading the rules back: that read starts first,
    # at the tunnel bridge this state read last time, and runs beside the rest
    who = f"ovs_mesh.managed\0{__opts__['id']}\0{name}\0{host}"
    early = flowmark.EarlyDump(__salt__["ovs.start_flows_dump"])
    early.want(flowmark.last_read(cachedir, who))
    try:
        # the plan is a pure function of the pillar: an unchanged one is read back (saltmesh.memo)
        key = memo.digest(__pillar__, "ovs_mesh.managed", __opts__["id"], host)
        plan, rules = memo.cached(cachedir, key, functools.partial(_plan, host), write=not test)
        if plan.flow is None:
            early.want(None)
            summary = f"mesh {plan.mesh} on {plan.bridge}: {len(plan.tunnels)} tunnels to peers"
        else:
            early.want((plan.flow.bridge, plan.flow.cookie))
            if not test:
                flowmark.note_read(cachedir, who, plan.flow.bridge, plan.flow.cookie)
            summary = (
                f"mesh {plan.mesh} on {plan.bridge} (flow): {plan.flow.port} on "
                f"{plan.flow.bridge}, {len(rules)} rules for {len(plan.flow.peers)} peers"
            )
        return _apply(name, summary, plan, rules, test, early.pending)
    finally:
        early.close()


def _apply(name, summary, plan, rules, test, early):
    """OVSDB in one transaction, then (flow) the rules in one bundle; ``early`` (the rules
    read at the start) is used only when OVSDB needed no change."""
    try:
        out = __salt__["ovs.apply"](functools.partial(sync.reconcile, plan), test=test)
    except CommandExecutionError as err:
        return stateret.failed(name, f"{summary}: {err}")
    if plan.flow is not None:
        try:
            fl = __salt__["ovs.sync_flows"](
                plan.flow.bridge,
                plan.flow.cookie,
                rules,
                test=test,
                early=None if out["clauses"] else early,
            )
        except CommandExecutionError as err:
            return stateret.failed(name, f"{summary}: {err}", changes=out["changes"])
        out = {
            "changes": {**out["changes"], **fl["changes"]},
            "clauses": out["clauses"] + fl["lines"],
        }
    if not out["clauses"]:
        comment = f"{summary}, all in sync"
    else:
        comment = f"{summary} would change" if test else f"{summary} updated"
    return stateret.state_ret(name, changes=out["changes"], comment=comment)
