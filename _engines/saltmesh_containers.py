"""
saltmesh_containers engine: re-attach containers the moment Docker (re)starts them.

A ``docker restart`` (or a dockerd restart) destroys a container's veth and so its place on the
OVS bridge. ``state.sls containers`` restores it on the next run; this minion engine does it at
once: it follows the Docker event stream for ``start`` events of containers labelled
``saltmesh.managed=true`` and then reconciles this minion's docker host with the same code as
``container.placed`` (fresh pillar, same minion options ``saltmesh:docker_url``, ``ovsdb``,
``netns``). It also reconciles at start and every ``interval`` seconds. Each run that changed
something fires the event ``saltmesh/containers/healed`` with the changes.

.. code-block:: yaml

    # minion config
    engines:
      - saltmesh_containers:
          interval: 300   # seconds between periodic reconciles (default 300)
"""

# ruff: noqa: F821  (Salt injects __salt__ and __opts__ into loader modules)
import logging
import os
import time

import salt.minion
import salt.pillar

try:
    from saltmesh import attach, docker_core, inventory

    HAS_CORE = docker_core.HAS_DOCKER
except ImportError:  # core not synced yet, or no docker SDK
    HAS_CORE = False

log = logging.getLogger(__name__)

__virtualname__ = "saltmesh_containers"
EVENT_TAG = "saltmesh/containers/healed"


def __virtual__():
    if not HAS_CORE:
        return (False, "saltmesh_containers: saltmesh core or the docker Python SDK is missing")
    return __virtualname__


def _opt(key):
    return (__opts__.get("saltmesh") or {}).get(key)


def _pillar():
    """This minion's pillar, freshly compiled (by the master, or locally when masterless)."""
    opts = dict(__opts__)
    if opts.get("file_client") != "local" and not opts.get("master_uri"):
        opts.update(salt.minion.resolve_dns(opts))  # an engine's opts lack the master's URI
    pillar = salt.pillar.get_pillar(
        opts,
        opts.get("grains") or {},
        opts["id"],
        saltenv=opts.get("saltenv"),
        pillarenv=opts.get("pillarenv"),
    )
    try:
        return pillar.compile_pillar()
    finally:
        close = getattr(pillar, "destroy", None) or getattr(pillar, "close", None)
        if close is not None:
            close()


def reconcile():
    """One ``container.placed`` run for this minion's docker host; returns the outcome."""
    pillar = _pillar()
    host, containers = docker_core.declared(inventory.parse(pillar), __opts__["id"])
    if host is None:
        return None
    engine = docker_core.Engine(_opt("docker_url"))
    lock = os.path.join(__opts__["cachedir"], "saltmesh", "containers.lock")  # as the states
    try:
        attacher = attach.Attacher(_opt("ovsdb"), _opt("netns"))
        with docker_core.host_lock(lock):
            out = docker_core.ensure_placed(engine, containers, host, False, attacher)
    finally:
        engine.close()
    if out.changes:
        log.info("saltmesh_containers: %s", out.comment)
        __salt__["event.send"](EVENT_TAG, {"host": host, "changes": out.changes})
    if not out.result:
        log.error("saltmesh_containers: %s", out.comment)
    return out


def _wait_for_start(deadline):
    """Block until a managed container starts or ``deadline`` passes."""
    engine = docker_core.Engine(_opt("docker_url"))
    try:
        filters = {
            "type": "container",
            "event": "start",
            "label": f"{docker_core.MANAGED_LABEL}=true",
        }
        for _event in engine.api.events(decode=True, until=int(deadline), filters=filters):
            return True
        return False
    finally:
        engine.close()


def start(interval=300, settle=0.5):
    """Engine entry point: reconcile, then wait for a start event or the interval, forever."""
    while True:
        try:
            reconcile()
        except Exception as err:  # keep the engine alive; the error is in the minion log
            log.error("saltmesh_containers: reconcile failed: %s", err)
        try:
            if _wait_for_start(time.time() + float(interval)):
                time.sleep(float(settle))  # let a burst of starts (dockerd restart) settle
        except Exception as err:
            log.error("saltmesh_containers: docker events failed: %s", err)
            time.sleep(5)
