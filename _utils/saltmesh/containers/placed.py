"""A whole docker host: run exactly the containers the inventory places on it.

Reads: one container listing, one inspect per declared container that exists, one image inspect
per distinct image, one OVS snapshot. Every read and check happens before the first write.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from saltmesh.containers import minion
from saltmesh.containers.engine import Engine
from saltmesh.containers.labels import is_managed, strays, summary_name
from saltmesh.containers.outcome import Outcome
from saltmesh.containers.prune import describe, plan_prune, recovering
from saltmesh.containers.reconcile import ACTIVE, ensure_absent, ensure_running, ensure_stopped
from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.inventory import ContainerSpec, Inventory
from saltmesh.inventory.model import ContainerSettings


def docker_host_of(inv: Inventory, minion_id: str) -> str | None:
    """The name of the docker_host whose ``minion_id`` is ``minion_id``, or None."""
    server = inv.server_for_minion(minion_id)
    if server is None or server.node_type != "docker_host":
        return None
    return server.name


def declared(
    inv: Inventory, minion_id: str, host: str | None = None
) -> tuple[str | None, dict[str, ContainerSpec]]:
    """This minion's docker host (or ``host``) and the containers whose parent it is.

    ``(None, {})`` when the minion is no docker_host in the inventory.
    """
    if host is None:
        host = docker_host_of(inv, minion_id)
        if host is None:
            return None, {}
    elif host not in inv.servers or inv.servers[host].node_type != "docker_host":
        raise SaltmeshError(f"{host} is not a docker_host in the servers pillar")
    return host, {s.name: s.container for s in inv.containers_on(host) if s.container}


def not_a_host(minion_id: str) -> Outcome:
    """The (successful, empty) outcome of placing containers on a minion that hosts none."""
    return Outcome(
        minion_id,
        comment=f"Minion {minion_id} is not a docker_host in the servers pillar; "
        "no containers to place",
    )


def _problems(
    listing: Mapping[str, Mapping[str, Any]], containers: Mapping[str, ContainerSpec], attacher
) -> list[str]:
    """Why nothing may be touched: foreign containers under declared names, missing bridges."""
    problems = [
        f"container {name} exists but is not managed by saltmesh"
        for name in sorted(containers)
        if name in listing and not is_managed(listing[name])
    ]
    if attacher is not None:
        for name, spec in sorted(containers.items()):
            try:
                attacher.validate(name, spec.networks)
            except SaltmeshError as err:
                problems.append(str(err))
    return problems


def elsewhere(inv: Inventory, host: str) -> dict[str, str]:
    """Containers declared on another docker host: name -> that host."""
    return {
        s.name: s.parents[0] for s in inv.by_type("container") if s.parents and s.parents[0] != host
    }


def _prune_ports(attacher, keep: set[str], needs_ovs: bool, test: bool) -> list[str]:
    """OVS ports of containers not in ``keep``, removed; none when OVS is not needed."""
    try:
        return attacher.prune(keep, test)
    except CommandError:
        if needs_ovs:
            raise
        return []  # no container needs OVS and none is reachable: nothing to prune


def _comment(
    host: str,
    declared_count: int,
    changed: list[str],
    failures: list[str],
    test: bool,
    pruned: str = "",
) -> str:
    """The comment of a placement run."""
    parts = [f"{declared_count} containers declared for {host}"]
    if changed:
        parts.append(f"{'would change' if test else 'changed'}: {', '.join(sorted(changed))}")
    else:
        parts.append("all as requested")
    if pruned:
        parts.append(pruned)
    if failures:
        parts.append("FAILED: " + "; ".join(failures))
    return "; ".join(parts)


def ensure_placed(
    engine: Engine,
    containers: Mapping[str, ContainerSpec],
    host: str,
    test: bool,
    attacher: Any = None,
    settings: ContainerSettings | None = None,
    moved: Mapping[str, str] | None = None,
    prune_only: bool = False,
    minion_dir: str = minion.MINION_DIR,
    announce: Callable[[dict[str, str]], None] | None = None,
) -> Outcome:
    """Run exactly ``containers`` (name -> spec) on docker host ``host``.

    Managed containers labelled with ``host`` that are not declared are pruned as ``settings``
    say (:mod:`~saltmesh.containers.prune`; ``moved``: those declared on another host, by
    name), and so are OVS ports of containers neither declared nor left running here.
    ``prune_only``: only prune; declared containers are neither created nor changed (the first
    phase of a move, see ``salt/orch/placement.sls``). Minion containers (``container:minion``)
    get their config and key pair under ``minion_dir`` first (:mod:`~saltmesh.containers.minion`);
    then ``announce`` gets their public keys (``{minion id: key}``) before any container starts
    (not in test mode).
    """
    settings = settings or ContainerSettings()
    moved = dict(moved or {})
    out = Outcome(host)
    listing = {summary_name(s): s for s in engine.call("containers", all=True)}
    problems = _problems(listing, {} if prune_only else containers, attacher)
    if problems:
        out.result = False
        out.comment = "Nothing changed: " + "; ".join(problems)
        return out

    failures: list[str] = []
    if not prune_only:
        ready = minion.prepare(containers, minion_dir, host, test)
        failures.extend(ready.failures)
        out.changes.update(ready.changes)
        if ready.keys and announce is not None and not test:
            announce(ready.keys)
        found = engine.inspect_containers([n for n in sorted(ready.specs) if n in listing])
        for image in sorted({spec.image for spec in ready.specs.values()}):
            engine.inspect_image(image)  # cached for ensure_running
        for name, spec in sorted(ready.specs.items()):
            try:
                one = ensure_running(engine, name, spec, host, test, found.get(name), attacher)
            except SaltmeshError as err:
                failures.append(f"{name}: {err}")
                continue
            if not one.result:
                failures.append(one.comment)
            if one.changes:
                out.changes[name] = {**out.changes.get(name, {}), **one.changes}
    spared = recovering(listing, containers)
    plan = plan_prune(
        [n for n in strays(listing, containers, host) if n not in spared], moved, settings
    )
    if plan.refused:
        failures.append(plan.refused)
    stopped = []
    for name in plan.remove + plan.stop:
        stray = listing[name]
        inspect = {
            "Id": stray["Id"],
            "Config": {"Labels": stray.get("Labels") or {}},
            "State": {"Status": stray.get("State")},
        }
        try:
            if name in plan.remove:
                one = ensure_absent(engine, name, test, inspect=inspect)
            elif stray.get("State") in ACTIVE:
                one = ensure_stopped(engine, name, test, inspect=inspect)
                stopped.append(name)
            else:
                continue
        except SaltmeshError as err:
            failures.append(f"{name}: {err}")
            continue
        out.changes[name] = one.changes
    if attacher is not None:
        keep = set(containers) | set(plan.keep)
        needs_ovs = any(spec.networks for spec in containers.values())
        try:
            removed = _prune_ports(attacher, keep, needs_ovs, test)
        except SaltmeshError as err:
            failures.append(f"orphan ports: {err}")
            removed = []
        if removed:
            out.changes["orphan_ports"] = {"removed": removed}
    out.result = not failures
    pruned = describe(plan, moved, stopped, test)
    out.comment = _comment(host, len(containers), list(out.changes), failures, test, pruned)
    return out
