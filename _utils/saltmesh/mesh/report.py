"""Reports on the mesh for the runner: plan tables, plan-vs-actual verification, fleet dry runs.

Pure functions over plain data (plans as :meth:`HostPlan.to_dict`, status as returned by the
``ovs_mesh.status`` execution function), so they are unit-tested without Salt or OVS.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.mesh.planner import HostPlan


def plan_table(plans: Mapping[str, HostPlan]) -> str:
    """A fixed-width table: one line per directed tunnel."""
    rows = [("HOST", "PORT", "TYPE", "PEER", "LOCAL", "REMOTE", "KEY")]
    for host, hp in plans.items():
        for t in hp.tunnels:
            key = "" if hp.key is None else str(hp.key)
            rows.append((host, t.name, hp.type, t.peer, hp.local_ip, t.remote_ip, key))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    total = sum(len(hp.tunnels) for hp in plans.values())
    lines.append(f"{len(plans)} hosts, {total} tunnel ports")
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


def verify_host(plan: HostPlan, status: Any) -> dict:
    """Compare one host's planned tunnels with its ``ovs_mesh.status`` answer.

    Returns ``{"missing": [...], "extra": [...], "drifted": {port: [fields]}, "down": {port:
    reason}}`` with only the non-empty keys; ``{}`` means the host matches its plan.
    """
    missing = no_answer(status)
    if missing is not None:
        return missing
    if not isinstance(status, Mapping) or "ports" not in status:
        return {"error": str(status)}
    actual: Mapping[str, Mapping] = status["ports"]
    report: dict[str, Any] = {}
    planned = {t.name: t for t in plan.tunnels}
    missing = sorted(set(planned) - set(actual))
    extra = sorted(set(actual) - set(planned))
    drifted: dict[str, list[str]] = {}
    down: dict[str, str] = {}
    for name in sorted(set(planned) & set(actual)):
        port = actual[name]
        fields = []
        if port.get("type") != plan.type:
            fields.append("type")
        if port.get("options") != plan.options(planned[name]):
            fields.append("options")
        if port.get("protected") is not True:
            fields.append("protected")
        if port.get("bridge") != plan.bridge:
            fields.append("bridge")
        if fields:
            drifted[name] = fields
        if port.get("error"):
            down[name] = f"error: {port['error']}"
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
    return report


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
