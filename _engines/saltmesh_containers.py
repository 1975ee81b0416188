"""
saltmesh_containers engine: re-attach containers the moment Docker (re)starts them.

A ``docker restart`` (or a dockerd restart) destroys a container's veth and so its place on the
OVS bridge. ``state.sls containers`` restores it on the next run; this minion engine does it at
once: it follows the Docker event stream for ``start`` events of containers labelled
``saltmesh.managed=true`` and then runs ``salt-call state.sls containers`` (a separate process
with this minion's configuration: fresh pillar, the minion's own authentication, the same host
lock as any other state run). It also runs it every ``interval`` seconds (not at engine start:
the minion may still be authenticating then), and at once when the Docker engine answers
again after an outage.

No start event is lost (each wait replays the events since the previous run began, so a
container restarting during a run triggers the next one), and a crash-looping container costs
at most one run per ``cooldown`` seconds (see ``saltmesh.containers.follow``).

.. code-block:: yaml

    # minion config
    engines:
      - saltmesh_containers:
          interval: 300   # seconds between periodic runs (default 300; 0 = events only)
          cooldown: 10    # least seconds between two runs woken by events (default 10)
          sls: containers
"""

import logging
import os
import shutil
import sys

try:
    from saltmesh import proc
    from saltmesh.containers import engine, follow, staterun
    from saltmesh.errors import SaltmeshError

    HAS_CORE = True
except ImportError:  # core not synced yet
    HAS_CORE = False

log = logging.getLogger(__name__)

__virtualname__ = "saltmesh_containers"


def __virtual__():
    if not HAS_CORE:
        return (False, "saltmesh_containers: the saltmesh core is missing (saltutil.sync_utils)")
    if not engine.HAS_DOCKER:
        return (False, "saltmesh_containers: the docker Python SDK is not installed")
    return __virtualname__


def _salt_call():
    beside = os.path.join(os.path.dirname(sys.executable), "salt-call")
    return beside if os.path.exists(beside) else shutil.which("salt-call") or "salt-call"


def reconcile(sls="containers", timeout=600):
    """Run ``salt-call state.sls <sls>`` with this minion's configuration; log the outcome."""
    config_dir = os.path.dirname(__opts__["conf_file"])
    argv = staterun.salt_call_argv(_salt_call(), config_dir, sls)
    log.info("saltmesh_containers: running state.sls %s", sls)
    done = proc.run(argv, timeout=timeout, check=False)
    try:
        states = staterun.parse_states(done.stdout, sls)
    except staterun.NoStateOutput:
        log.error("saltmesh_containers: %s failed: %s", " ".join(argv), done.stderr[-2000:])
        return None
    except SaltmeshError as err:
        log.error("saltmesh_containers: %s", err)
        return None
    for succeeded, comment in staterun.notable(states):
        level = logging.INFO if succeeded else logging.ERROR
        log.log(level, "saltmesh_containers: %s", comment)
    return states


def _opt(key):
    return (__opts__.get("saltmesh") or {}).get(key)


def _wait_for_start(since, until):
    """Block until a managed container starts at or after ``since`` (True) or ``until`` (False)."""
    url = _opt("docker_url")
    why = engine.engine_unreachable(url)
    if why:
        raise engine.EngineError(why)
    with engine.Engine(url) as client:
        return client.wait_for_start(until, since=since)


def _probe():
    """Raise while the Docker engine does not answer (one /version request)."""
    url = _opt("docker_url")
    why = engine.engine_unreachable(url)
    if why:
        raise engine.EngineError(why)
    with engine.Engine(url):
        pass


def _log(level, message):
    log.log(getattr(logging, level.upper()), "saltmesh_containers: %s", message)


def start(interval=300, settle=0.5, sls="containers", cooldown=10):
    """Engine entry point: wait for a reason (start event, interval, engine back), reconcile."""
    follower = follow.Follower(
        wait=_wait_for_start,
        probe=_probe,
        reconcile=lambda: reconcile(sls),
        interval=float(interval),
        cooldown=float(cooldown),
        settle=float(settle),
        log=_log,
    )
    follower.run()
