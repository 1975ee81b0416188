"""What a docker host does with managed containers it no longer runs (pure).

A *stray* is a container labelled ``saltmesh.managed=true`` and ``saltmesh.host=<this host>``
that the inventory does not declare here any more. It was either *moved* (declared on another
docker host now) or dropped from the pillar. ``saltmesh:containers:prune`` decides:

========  ==========================  ===========================
prune     moved to another host       dropped from the pillar
========  ==========================  ===========================
true      removed                     removed
stop      stopped                     stopped
false     stopped                     left alone (reported)
========  ==========================  ===========================

A moved container is always at least stopped: its IP and MAC must not live on two hosts. With
``prune_max``, more removals than that in one run remove none (the state fails and says so);
moved ones are still stopped.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from saltmesh.constants import ASIDE_SUFFIX
from saltmesh.inventory.model import ContainerSettings


@dataclass
class PrunePlan:
    remove: list[str] = field(default_factory=list)
    stop: list[str] = field(default_factory=list)
    keep: list[str] = field(default_factory=list)  # left running as they are
    refused: str | None = None  # why nothing was removed (prune_max)


def plan_prune(
    strays: Iterable[str], moved: Mapping[str, str], settings: ContainerSettings
) -> PrunePlan:
    """Sort ``strays`` into remove/stop/keep; ``moved`` maps a stray to its new docker host."""
    out = PrunePlan()
    for name in sorted(strays):
        if settings.prune is True:
            out.remove.append(name)
        elif settings.prune == "stop" or name in moved:
            out.stop.append(name)
        else:
            out.keep.append(name)
    limit = settings.prune_max
    if limit is not None and len(out.remove) > limit:
        out.refused = (
            f"not removing {len(out.remove)} containers ({', '.join(out.remove)}): more than "
            f"saltmesh:containers:prune_max ({limit})"
        )
        out.stop += [name for name in out.remove if name in moved]
        out.keep += [name for name in out.remove if name not in moved]
        out.stop.sort()
        out.keep.sort()
        out.remove = []
    return out


def recovering(listing: Iterable[str], declared: Iterable[str]) -> set[str]:
    """Old containers of interrupted recreates that this run gives their name back.

    ``<name>.saltmesh-old`` whose ``<name>`` is declared here and missing: the run restores it
    (:func:`saltmesh.containers.reconcile.ensure_running`), so it is no stray.
    """
    names, declared = set(listing), set(declared)
    return {
        aside
        for aside in names
        if aside.endswith(ASIDE_SUFFIX)
        and (base := aside[: -len(ASIDE_SUFFIX)]) in declared
        and base not in names
    }


def describe(
    plan: PrunePlan, moved: Mapping[str, str], done_stop: Iterable[str], test: bool = False
) -> str:
    """The pruning part of a comment: what was (would be) removed, stopped, kept, refused."""
    parts = []
    if plan.remove:
        parts.append(f"{'would remove' if test else 'removed'} {', '.join(plan.remove)}")
    stopped = sorted(done_stop)
    if stopped:
        why = [f"{n} (moved to {moved[n]})" if n in moved else n for n in stopped]
        parts.append(f"{'would stop' if test else 'stopped'} {', '.join(why)}")
    if plan.keep:
        parts.append(f"left running {', '.join(plan.keep)} (not declared here)")
    if plan.refused:
        parts.append(plan.refused)
    return "pruned: " + "; ".join(parts) if parts else ""
