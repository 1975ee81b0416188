"""Reports on the mesh for the runner: plan tables, plan-vs-actual verification, fleet dry runs.

Pure functions over plain data (plans as :meth:`HostPlan.to_dict`, status as returned by the
``ovs_mesh.status`` execution function), so they are unit-tested without Salt or OVS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.mesh.planner import HostPlan
from saltmesh.mesh.sync import planned_ports


def plan_table(plans: Mapping[str, HostPlan]) -> str:
    """A fixed-width table: one line per directed tunnel (per flow-based port with
    ``topology: flow``, its peers and rules counted)."""
    rows = [("HOST", "PORT", "TYPE", "PEER", "LOCAL", "REMOTE", "KEY")]
    rules = 0
    for host, hp in plans.items():
        key = "" if hp.key is None else str(hp.key)
        for t in hp.tunnels:
            rows.append((host, t.name, hp.type, t.peer, hp.local_ip, t.remote_ip, key))
        if hp.flow is not None:
            count = hp.flow.rule_count()
            rules += count
            peers = f"{len(hp.flow.peers)} peers, {count} rules"
            rows.append((host, hp.flow.port, hp.type, peers, hp.local_ip, "flow", key))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    total = sum(len(hp.tunnels) + (hp.flow is not None) for hp in plans.values())
    tail = f", {rules} OpenFlow rules" if any(hp.flow for hp in plans.values()) else ""
    lines.append(f"{len(plans)} hosts, {total} tunnel ports{tail}")
    return "\n".join(lines)


def no_answer(answer: Any) -> dict | None:
    """A row for a minion that gave no data: ``{"unreachable": "no answer"}`` when it did not
    return, ``{"error": <first line>}`` when it answered with an error message; else None."""
    if answer is None or answer is False or (isinstance(answer, Mapping) and not answer):
        return {"unreachable": "no answer"}
    if isinstance(answer, str):
        text = answer.strip()
        if not text or text.startswith("Minion did not return"):
            return {"unreachable": "no answer"}
        return {"error": text.splitlines()[0]}
    return None


# A port in OVSDB that ovs-vswitchd has not set up: most often a bridge whose datapath it could
# not open (``datapath_type: system`` without the kernel module). A status without ``ofport``
# (a minion not yet synced) is not judged on it.
NO_OFPORT = "no OpenFlow port: ovs-vswitchd has not set it up (see ovs-vswitchd.log)"


def verify_host(plan: HostPlan, status: Any) -> dict:
    """Compare one host's planned tunnels with its ``ovs_mesh.status`` answer.

    Returns ``{"missing": [...], "extra": [...], "drifted": {port: [fields]}, "down": {port:
    reason}}`` with only the non-empty keys; ``{}`` means the host matches its plan. A port is
    down for an interface error, no OpenFlow port, link down or (with BFD) BFD not up.
    """
    missing = no_answer(status)
    if missing is not None:
        return missing
    if not isinstance(status, Mapping) or "ports" not in status:
        return {"error": str(status)}
    actual: Mapping[str, Mapping] = status["ports"]
    report: dict[str, Any] = {}
    planned = {spec.name: spec for spec, _ in planned_ports(plan)}
    missing = sorted(set(planned) - set(actual))
    extra = sorted(set(actual) - set(planned))
    drifted: dict[str, list[str]] = {}
    down: dict[str, str] = {}
    for name in sorted(set(planned) & set(actual)):
        port = actual[name]
        fields = []
        spec = planned[name]
        if port.get("type") != spec.type:
            fields.append("type")
        if port.get("options") != spec.options:
            fields.append("options")
        if spec.protected and port.get("protected") is not True:
            fields.append("protected")
        if port.get("bridge") != spec.bridge:
            fields.append("bridge")
        if fields:
            drifted[name] = fields
        if port.get("error"):
            down[name] = f"error: {port['error']}"
        elif "ofport" in port and port["ofport"] in (None, -1):
            down[name] = NO_OFPORT
        elif port.get("link_state") == "down":
            down[name] = "link down"
        elif plan.bfd and port.get("bfd_status", {}).get("state") != "up":
            down[name] = f"bfd {port.get('bfd_status', {}).get('state', 'not running')}"
    for key, value in (
        ("missing", missing),
        ("extra", extra),
        ("drifted", drifted),
        ("down", down),
    ):
        if value:
            report[key] = value
    if plan.flow is not None:
        flows = _verify_rules(plan, status.get("flows"))
        if flows:
            report["flows"] = flows
    return report


def _verify_rules(plan: HostPlan, have: Any) -> dict:
    """Planned rules absent from the tunnel bridge (``missing``) and rules of our cookie that
    the plan does not have (``extra``), as ``priority=P,MATCH actions=A`` texts."""
    want = {r.text() for r in plan.flow.rules()}
    have = set(have or ())
    out = {}
    if want - have:
        out["missing"] = sorted(want - have)
    if have - want:
        out["extra"] = sorted(have - want)
    return out


def dry_run_answer(answer: Any) -> dict:
    """One host's answer to ``state.single ovs_mesh.managed test=True`` as a ``mesh.diff`` row.

    The predicted ``changes`` (``{}`` when in sync), else ``{"error": ...}`` for a failed state
    or ``{"unreachable": ...}`` when the minion did not answer with a state return.
    """
    missing = no_answer(answer)
    if missing is not None:
        return missing
    if not isinstance(answer, Mapping):
        return {"error": str(answer)}
    result = next(iter(answer.values()))
    if not isinstance(result, Mapping):
        return {"error": str(answer)}
    if result.get("result") is False:
        return {"error": result.get("comment")}
    return dict(result.get("changes") or {})
