"""One container on one engine: make it run a spec, stop it, remove it; change only diffs.

Reads are bounded: one ``/containers/<name>/json`` (unless the caller already has it) and one
``/images/<name>/json``. Nothing is written, and no temporary container is ever created,
unless a compared field differs; ``test`` mode never writes. Only containers labelled
``saltmesh.managed=true`` are touched.

The OVS side is an ``attacher`` (:class:`saltmesh.containers.attach.Attacher` or anything with
its ``validate``/``ensure``/``ports_of``/``detach`` methods).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from saltmesh.constants import ASIDE_SUFFIX
from saltmesh.containers.engine import Engine, EngineError
from saltmesh.containers.images import pull_image
from saltmesh.containers.labels import is_managed
from saltmesh.containers.outcome import Outcome, would
from saltmesh.containers.spec import (
    ContainerDiff,
    carried_over,
    create_kwargs,
    diff_container,
    update_kwargs,
)
from saltmesh.errors import SaltmeshError
from saltmesh.inventory import ContainerSpec
from saltmesh.inventory.containers import dhcp_macs

ACTIVE = ("running", "paused", "restarting")


def state_of(inspect: Mapping[str, Any] | None) -> str | None:
    """The container's status (``running``, ``exited``...), None when it does not exist."""
    return None if inspect is None else (inspect.get("State") or {}).get("Status")


def pid_of(inspect: Mapping[str, Any]) -> int:
    """The container's PID 1 as the host sees it; 0 when it is not running."""
    return int((inspect.get("State") or {}).get("Pid") or 0)


def _foreign(out: Outcome, inspect: Mapping[str, Any] | None, comment: str) -> bool:
    """Fail ``out`` with ``comment`` when ``inspect`` is a container saltmesh does not own."""
    if inspect is None or is_managed(inspect):
        return False
    out.result = False
    out.comment = comment
    return True


def _ours(out: Outcome, inspect: Mapping[str, Any] | None, missing: str, action: str) -> bool:
    """Whether ``inspect`` is a container saltmesh may change; else ``out`` says why not."""
    if inspect is None:
        out.comment = missing
        return False
    refusal = f"Container {out.name} is not managed by saltmesh; not {action}"
    return not _foreign(out, inspect, refusal)


def resolve_image(engine: Engine, spec: ContainerSpec, test: bool) -> tuple[dict | None, str]:
    """Image inspect data for spec.image; pulls it when missing (not in test mode)."""
    image = engine.inspect_image(spec.image)
    if image is not None or test:
        return image, ""
    pull_image(engine, spec.image)
    image = engine.inspect_image(spec.image, cached=False)
    if image is None:
        raise EngineError(f"image {spec.image} is still missing after a pull")
    return image, f"pulled image {spec.image}"


def aside_name(name: str) -> str:
    """Where a recreate keeps the old container until the new one runs."""
    return name + ASIDE_SUFFIX


def _recover_aside(
    engine: Engine, name: str, test: bool, out: Outcome, notes: list[str]
) -> dict | None:
    """The old container of an interrupted recreate, renamed back to ``name`` (or None)."""
    aside = engine.inspect_container(aside_name(name))
    if aside is None or not is_managed(aside):
        return None
    if not test:
        engine.call("rename", aside["Id"], name)
        aside = engine.inspect_container(aside["Id"]) or aside
    out.changes["restored"] = {"old": aside_name(name), "new": name}
    notes.append(f"{would(test)}restored from {aside_name(name)} (an interrupted recreate)")
    return aside


def _carried(engine: Engine, spec: ContainerSpec, old: Mapping[str, Any]) -> ContainerSpec:
    """``spec`` for the container replacing ``old``: :func:`carried_over`, with old's image."""
    image = engine.inspect_image(old["Image"]) if old.get("Image") else None
    return carried_over(spec, old, image)


def _recreate(
    engine: Engine,
    name: str,
    spec: ContainerSpec,
    host: str | None,
    old: Mapping[str, Any],
    diff: ContainerDiff,
    out: Outcome,
    notes: list[str],
) -> dict | None:
    """Replace ``old`` by a container made from ``spec``; the old one is never lost for nothing.

    The old container is renamed aside (``<name>.saltmesh-old``, still running) while the new
    one is created; it is stopped just before the new one starts (so host ports, the IP and
    the MAC are never held twice) and removed once the new one runs. If creating or starting
    the new one fails, the new one is removed, the old one gets its name back and runs again as
    before, ``out`` fails and the old container's inspect is returned. Fields the spec omits
    keep the old container's values (:func:`carried_over`).
    """
    fields = ", ".join(sorted(diff.recreate))
    old_id = old["Id"]
    full = _carried(engine, spec, old)
    was_running = state_of(old) in ACTIVE
    leftover = engine.inspect_container(aside_name(name))  # of a recreate interrupted earlier
    if leftover is not None and is_managed(leftover) and leftover.get("Id") != old_id:
        engine.call("remove_container", leftover["Id"], force=True, v=False)
        out.changes["leftover"] = {"old": aside_name(name), "new": None}
        notes.append(f"removed the leftover {aside_name(name)}")
    engine.call("rename", old_id, aside_name(name))
    new_id, stopped = None, False
    try:
        new_id = engine.call("create_container", **create_kwargs(name, full, host))["Id"]
        if was_running:
            engine.call("stop", old_id, timeout=0)
            stopped = True
        engine.call("start", new_id)
    except SaltmeshError as err:
        try:
            if new_id is not None:
                engine.call("remove_container", new_id, force=True, v=False)
            engine.call("rename", old_id, name)
            if stopped:
                engine.call("start", old_id)
        except SaltmeshError as again:
            out.changes["renamed"] = {"old": name, "new": aside_name(name)}
            raise SaltmeshError(
                f"not recreated ({fields} differ): {err}; restoring the old container failed "
                f"too ({again}); it is kept as {aside_name(name)}"
            ) from None
        out.result = False
        notes.append(f"not recreated ({fields} differ): {err}; kept the old container")
        return engine.inspect_container(old_id)
    out.changes.update(diff.changes)
    notes.append(f"recreated ({fields} differ)")
    engine.call("remove_container", old_id, force=True, v=False)
    return engine.inspect_container(new_id)


def _stale_task(err: EngineError, inspect: Mapping[str, Any]) -> bool:
    """Whether Docker refused to start a never-run container for a task its engine still holds.

    A dockerd stopped while it starts a container can leave containerd with the task, and the
    container ``created``: every later start fails with "task <id>: already exists".
    """
    return state_of(inspect) == "created" and f"task {inspect['Id']}: already exists" in str(err)


def _start(
    engine: Engine,
    name: str,
    spec: ContainerSpec,
    host: str | None,
    inspect: Mapping[str, Any],
    out: Outcome,
) -> tuple[dict, str]:
    """Start the stopped container ``inspect``: its inspect once started, and what was done.

    One that cannot start because of a stale engine task (:func:`_stale_task`) never ran: it
    is removed and made anew from ``spec`` (with what it had that the spec omits).
    """
    try:
        engine.call("start", inspect["Id"])
    except EngineError as err:
        if not _stale_task(err, inspect):
            raise
        why = "Docker kept a task of an interrupted start"
        full = _carried(engine, spec, inspect)
        engine.call("remove_container", inspect["Id"], force=True, v=False)
        try:
            created = engine.call("create_container", **create_kwargs(name, full, host))
            engine.call("start", created["Id"])
        except SaltmeshError as again:
            out.changes["removed"] = name  # the failure is reported with what was done
            raise SaltmeshError(f"removed ({why}), not made anew: {again}") from None
        done = f"started (made anew: {why})"
        return engine.inspect_container(created["Id"]) or created, done
    return engine.inspect_container(inspect["Id"]) or dict(inspect), "started"


def ensure_running(
    engine: Engine,
    name: str,
    spec: ContainerSpec,
    host: str | None = None,
    test: bool = False,
    inspect: Mapping[str, Any] | None | bool = False,
    attacher: Any = None,
) -> Outcome:
    """Make container ``name`` run ``spec``. ``inspect=False`` means: not read yet.

    With an ``attacher`` and networks in the spec, the bridges are checked before anything is
    written, and the OVS attachment is restored once the container runs (or would); its
    changes are merged under ``networks``.

    An error before anything was written is raised. Once something was written, an error
    fails the outcome instead, which keeps the changes made so far (a recreate, then a failed
    attachment, still reports the recreate) and says in its comment what failed.
    """
    out = Outcome(name)
    spec = dhcp_macs(name, spec)  # dhcp: true without a mac: derived from the name
    attach = attacher is not None and bool(spec.networks)
    if attach:
        attacher.validate(name, spec.networks)
    if inspect is False:
        inspect = engine.inspect_container(name)
    refusal = f"A container named {name} exists but is not managed by saltmesh; not touched"
    if _foreign(out, inspect, refusal):
        return out
    notes: list[str] = []
    try:
        _converge(engine, name, spec, host, test, inspect, attacher if attach else None, out, notes)
    except SaltmeshError as err:
        if test or not out.changes:
            raise
        out.result = False
        notes.append(f"then failed: {err}")
    if out.changes or not out.result:
        out.comment = f"Container {name} {would(test)}" + "; ".join(notes)
    else:
        out.comment = f"Container {name} is running as requested"
    return out


def _converge(
    engine: Engine,
    name: str,
    spec: ContainerSpec,
    host: str | None,
    test: bool,
    inspect: Mapping[str, Any] | None,
    attacher: Any,
    out: Outcome,
    notes: list[str],
) -> None:
    """The steps of :func:`ensure_running`; every change is recorded once it is made."""
    if inspect is None:
        inspect = _recover_aside(engine, name, test, out, notes)
    image, pulled = resolve_image(engine, spec, test)
    if pulled:
        notes.append(pulled)
    if inspect is not None:
        diff = diff_container(spec, host, inspect, image)
        if image is None:  # test mode, image not pulled yet: assume it will differ
            diff.recreate["image"] = {"old": inspect.get("Image"), "new": spec.image}
        if diff.recreate and test:
            out.changes.update(diff.changes)
            notes.append(f"recreated ({', '.join(sorted(diff.recreate))} differ)")
            inspect = None
        elif diff.recreate:
            inspect = _recreate(engine, name, spec, host, inspect, diff, out, notes)
        elif diff.update:
            if not test:
                engine.call("update_container", inspect["Id"], **update_kwargs(spec, diff.update))
            out.changes.update(diff.update)
            notes.append(f"updated in place ({', '.join(sorted(diff.update))})")
    if inspect is None:
        if test:
            inspect = {"Id": None, "Name": f"/{name}", "State": {"Status": "created", "Pid": 0}}
        else:
            created = engine.call("create_container", **create_kwargs(name, spec, host))
        if not out.changes:
            out.changes["created"] = name
            notes.append("created")
        if not test:
            engine.call("start", created["Id"])
            inspect = engine.inspect_container(created["Id"])
    if inspect is None:
        raise EngineError(f"Docker engine: container {name} vanished")
    status = state_of(inspect)
    if status != "running" and inspect.get("Id"):
        started = "started"
        if not test:
            inspect, started = _start(engine, name, spec, host, inspect, out)
        out.changes.setdefault("state", {"old": status, "new": "running"})
        notes.append(started)
    if attacher is not None:
        net_changes = attacher.ensure(name, spec.networks, pid_of(inspect), test)
        if net_changes:
            out.changes["networks"] = net_changes
            notes.append(f"network attachment {would(test)}restored")


def ensure_stopped(
    engine: Engine, name: str, test: bool, stop_timeout: int = 10, inspect: Any = False
) -> Outcome:
    """Stop container ``name`` if saltmesh manages it. ``inspect=False`` means: not read yet."""
    out = Outcome(name)
    if inspect is False:
        inspect = engine.inspect_container(name)
    if not _ours(out, inspect, f"Container {name} does not exist", "touched"):
        return out
    status = state_of(inspect)
    if status in ACTIVE:
        out.changes["state"] = {"old": status, "new": "exited"}
        if not test:
            engine.call("stop", inspect["Id"], timeout=stop_timeout)
        out.comment = f"Container {name} {would(test)}stopped"
    else:
        out.comment = f"Container {name} is already {status}"
    return out


def ensure_absent(engine: Engine, name: str, test: bool, inspect: Any = False) -> Outcome:
    """Remove container ``name`` if saltmesh manages it. ``inspect=False`` means: not read yet."""
    out = Outcome(name)
    if inspect is False:
        inspect = engine.inspect_container(name)
    if not _ours(out, inspect, f"Container {name} is absent", "removed"):
        return out
    out.changes["removed"] = name
    if not test:
        engine.call("remove_container", inspect["Id"], force=True, v=False)
    out.comment = f"Container {name} {would(test)}removed"
    return out


def ensure_removed(
    engine: Engine, name: str, test: bool, attacher: Any = None, ovs_required: bool = False
) -> Outcome:
    """``ensure_absent``, then remove the container's OVS ports (reported under ``ports``).

    Unless ``ovs_required`` (an OVSDB was configured), an OVS that cannot be reached means
    nothing is attached here.
    """
    out = ensure_absent(engine, name, test)
    if not out.result or attacher is None:
        return out
    try:
        removed = attacher.detach(attacher.ports_of(name), test)
    except SaltmeshError as err:
        if ovs_required and (test or not out.changes):
            raise
        if ovs_required:  # the container is gone already: say so, and what failed
            out.result = False
            out.comment = f"{out.comment}; then failed to remove its OVS ports: {err}"
        removed = []
    if removed:
        out.changes["ports"] = {"removed": removed}
    return out
