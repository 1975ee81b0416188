"""A docker host's minion started: every docker host applies its mesh share (``mesh.join``).

The reactor shipped in ``salt/reactor/mesh_join.sls`` calls the runner ``mesh.join`` on every
``salt/minion/<id>/start`` event; these pure functions say whether that minion is a docker host
of the pillar (only then does anything happen) and sum up what the apply did on each host.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.mesh.planner import HostPlan
from saltmesh.mesh.report import no_answer


def host_minions(plans: Mapping[str, HostPlan]) -> list[str]:
    """The minion ids of the docker hosts, sorted: who applies the mesh when one joins."""
    return sorted(hp.minion_id for hp in plans.values())


def joining(plans: Mapping[str, HostPlan], started: list[str]) -> list[str]:
    """Of the minions that ``started``, the docker hosts' (sorted, once each); [] when none
    is: a minion that is not a docker host of the pillar triggers nothing."""
    minions = set(host_minions(plans))
    return sorted({m for m in started if m in minions})


def _first_line(text: Any) -> str:
    lines = str(text).strip().splitlines()
    return lines[0] if lines else ""


def apply_summary(answer: Any) -> str:
    """One host's answer to ``state.sls`` in a few words: ``in sync``, ``changed: <state id>
    (<what changed>, lists counted: added 1, mtu)``, ``failed: <comment>`` or ``no answer``."""
    missing = no_answer(answer)
    if missing is not None:
        return "no answer" if "unreachable" in missing else f"failed: {missing['error']}"
    if isinstance(answer, list):  # render errors
        return "failed: " + "; ".join(_first_line(a) for a in answer)
    if not isinstance(answer, Mapping):
        return f"failed: {_first_line(answer)}"
    results = sorted(
        (r for r in answer.values() if isinstance(r, Mapping)),
        key=lambda r: r.get("__run_num__", 0),
    )
    failed = [r for r in results if r.get("result") is False]
    if failed:
        return "failed: " + "; ".join(
            f"{r.get('__id__', '?')}: {_first_line(r.get('comment'))}" for r in failed
        )
    changed = []
    for r in results:
        changes = r.get("changes") or {}
        if changes:
            what = ", ".join(
                f"{key} {len(value)}" if isinstance(value, list) else key
                for key, value in changes.items()
            )
            changed.append(f"{r.get('__id__', '?')} ({what})")
    return "changed: " + "; ".join(changed) if changed else "in sync"


def failed(summary: Mapping[str, str]) -> bool:
    """Whether any host of a run's summary failed or did not answer."""
    return any(s == "no answer" or s.startswith("failed") for s in summary.values())
