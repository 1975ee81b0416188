"""
saltmesh_docker: Docker containers and images on the Docker SDK, attached to Open vSwitch.

A thin wrapper over ``saltmesh.docker_core`` (the only Docker client) and ``saltmesh.attach``
(the pipework-style OVS attachment). The ``container`` and ``image`` states call these
``ensure_*`` functions; each returns ``{"name", "result", "changes", "comment"}`` and changes
nothing when ``test=True``.

Minion options (all optional):

.. code-block:: yaml

    saltmesh:
      docker_url: unix:///var/run/docker.sock   # default: $DOCKER_HOST, then this socket
      ovsdb: unix:/var/run/openvswitch/db.sock  # OVSDB of this host (default socket)
      netns: hostA                              # netns where ovs-vswitchd runs (default: root)

CLI Example:

.. code-block:: bash

    salt docker01 saltmesh_docker.ps
"""

import dataclasses
import os
import shutil

from salt.exceptions import CommandExecutionError

from saltmesh import attach, docker_core, inventory
from saltmesh.errors import SaltmeshError

__virtualname__ = "saltmesh_docker"


def __virtual__():
    if not docker_core.HAS_DOCKER:
        return (
            False,
            "saltmesh_docker: the docker Python SDK is not installed (pip install docker)",
        )
    why = docker_core.engine_unreachable(_url())
    if why:
        return (False, f"saltmesh_docker: {why}")
    return __virtualname__


def _opt(key, default=None):
    try:
        return __salt__["config.get"](f"saltmesh:{key}", default)
    except NameError:  # __salt__ not injected yet (during __virtual__)
        return (__opts__.get("saltmesh") or {}).get(key, default)


def _url():
    return _opt("docker_url") or None


def _engine():
    """A client; the API version found by the first one is reused (no /version per call)."""
    version = __context__.get("saltmesh_docker.api_version")
    engine = docker_core.Engine(_url(), version=version)
    __context__["saltmesh_docker.api_version"] = engine.version
    return engine


def lock_path():
    """
    The lock file serialising container changes on this minion (states and the engine).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.lock_path
    """
    return os.path.join(__opts__["cachedir"], "saltmesh", "containers.lock")


def _attacher(ovsdb=None, netns=None):
    return attach.Attacher(ovsdb or _opt("ovsdb"), netns or _opt("netns"))


def _run(func):
    """Run ``func(engine)``; its Outcome as a dict plus the API requests it took."""
    engine = None
    try:
        engine = _engine()
        outcome = func(engine)
        if outcome.changes and "ovs.invalidate" in __salt__:
            __salt__["ovs.invalidate"]()  # attachments wrote to OVSDB: drop the run's snapshot
        return {**dataclasses.asdict(outcome), "api_requests": engine.requests}
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    finally:
        if engine is not None:
            engine.close()


def _spec(name, spec):
    try:
        return inventory.parse_container(dict(spec or {}), f"{name}:container")
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def ensure_running(name, spec, host=None, test=False, ovsdb=None, netns=None):
    """
    Make container ``name`` run ``spec`` (the keys of a server's ``container:`` pillar).

    name
        Docker name of the container.
    spec
        Mapping with ``image`` (required), ``command``, ``entrypoint``, ``env``, ``labels``,
        ``ports``, ``volumes``, ``restart``, ``hostname``, ``user``, ``workdir``, ``memory``,
        ``cpus``, ``networks``.
    host
        Docker host name recorded in the ``saltmesh.host`` label (used by ``ensure_placed``).
    test
        Only report what would change.
    ovsdb / netns
        Override the minion options ``saltmesh:ovsdb`` / ``saltmesh:netns``.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_running web01 '{image: local/busybox, command: [sleep, "3600"]}'
    """
    container = _spec(name, spec)

    def go(engine):
        attacher = _attacher(ovsdb, netns) if container.networks else None

        def after_start(data, test_):
            pid = int((data.get("State") or {}).get("Pid") or 0)
            return attacher.ensure(name, container.networks, pid, test_)

        if attacher is not None:
            attacher.validate(name, container.networks)
        with docker_core.host_lock(None if test else lock_path()):
            return docker_core.ensure_running(
                engine, name, container, host, test, after_start=after_start if attacher else None
            )

    return _run(go)


def ensure_stopped(name, test=False, stop_timeout=10):
    """
    Stop container ``name`` (only containers labelled ``saltmesh.managed=true``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_stopped web01
    """
    return _run(lambda engine: docker_core.ensure_stopped(engine, name, test, stop_timeout))


def ensure_absent(name, test=False, ovsdb=None, netns=None):
    """
    Remove container ``name`` (only if managed by saltmesh) and its OVS ports.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_absent web01
    """

    def go(engine):
        out = docker_core.ensure_absent(engine, name, test)
        if out.result and _has_ovs():
            attacher = _attacher(ovsdb, netns)
            try:
                removed = attacher.detach(attacher.ports_of(name), test)
            except SaltmeshError:
                if ovsdb or _opt("ovsdb"):
                    raise
                removed = []  # no OVS configured or running here: nothing attached
            if removed:
                out.changes["ports"] = {"removed": removed}
        return out

    return _run(go)


def _has_ovs():
    return shutil.which("ovs-vsctl") is not None


def placed_host(host=None):
    """
    The docker host this minion manages containers for: its entry in the ``servers`` pillar.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.placed_host
    """
    if host:
        return host
    try:
        inv = inventory.parse(__pillar__)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    server = inv.server_for_minion(__grains__["id"])
    return server.name if server is not None and server.node_type == "docker_host" else None


def ensure_placed(host=None, test=False, ovsdb=None, netns=None):
    """
    Run exactly the containers whose ``parents`` is this docker host (from the ``servers``
    pillar), attached to OVS; remove managed containers and OVS ports no longer declared here.

    host
        Docker host name in the ``servers`` pillar (default: the entry whose ``minion_id`` is
        this minion).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_placed test=True
    """
    try:
        inv = inventory.parse(__pillar__)
        host, containers = docker_core.declared(inv, __grains__["id"], host)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    if host is None:
        return {
            "name": __grains__["id"],
            "result": True,
            "changes": {},
            "comment": f"Minion {__grains__['id']} is not a docker_host in the servers "
            "pillar; no containers to place",
            "api_requests": 0,
        }

    def go(engine):
        attacher = _attacher(ovsdb, netns) if _has_ovs() else None
        with docker_core.host_lock(None if test else lock_path()):
            return docker_core.ensure_placed(engine, containers, host, test, attacher)

    return _run(go)


def ensure_image(name, load=None, rootfs=None, pull="missing", test=False):
    """
    Make image ``name`` (``repo:tag``) present.

    load
        A ``docker save`` tarball (``docker load``); re-loaded when its image ID differs.
    rootfs
        A root filesystem tarball (``docker import``); re-imported when its sha256 differs
        (recorded in the image label ``saltmesh.source-sha256``).
    pull
        Without load/rootfs: ``missing`` (default) pulls only when absent, ``always`` pulls
        and reports a change only when the image ID changed.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_image local/busybox:1 rootfs=/srv/busybox.tar
    """
    return _run(lambda engine: docker_core.ensure_image(engine, name, test, load, rootfs, pull))


def ensure_image_absent(name, force=False, test=False):
    """
    Remove image ``name``; the engine refuses while a container uses it (unless ``force``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_image_absent local/busybox:1
    """
    return _run(lambda engine: docker_core.ensure_image_absent(engine, name, test, force))


def ps():
    """
    Containers labelled ``saltmesh.managed=true``: name, state, image, host label.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ps
    """

    def go(engine):
        out = docker_core.Outcome("ps")
        for summary in engine.managed():
            labels = summary.get("Labels") or {}
            out.changes[summary["Names"][0].lstrip("/")] = {
                "state": summary.get("State"),
                "image": summary.get("Image"),
                "host": labels.get(docker_core.HOST_LABEL),
            }
        return out

    return _run(go)["changes"]


def attachments(name=None, ovsdb=None, netns=None):
    """
    OVS ports saltmesh attached containers with: ``{port: container}`` (one container if given).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.attachments web01
    """
    try:
        owned = attach.owned_ports(_attacher(ovsdb, netns).snap)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    return {p: c for p, c in owned.items() if name is None or c == name}
