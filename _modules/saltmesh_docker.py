"""
saltmesh_docker: Docker containers and images on the Docker SDK, attached to Open vSwitch.

A thin wrapper over the ``saltmesh.containers`` core (``engine``: the only Docker client,
``attach``: the pipework-style OVS attachment). The ``container`` and ``image`` states call these
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

import os

from salt.exceptions import CommandExecutionError

from saltmesh import fileio, inventory
from saltmesh.containers import attach, engine, images, labels, placed, ports, reconcile
from saltmesh.errors import SaltmeshError

__virtualname__ = "saltmesh_docker"


def __virtual__():
    if not engine.HAS_DOCKER:
        return (
            False,
            "saltmesh_docker: the docker Python SDK is not installed (pip install docker)",
        )
    why = engine.engine_unreachable(_url())
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
    client = engine.Engine(_url(), version=version)
    __context__["saltmesh_docker.api_version"] = client.version
    return client


def lock_path():
    """
    The lock file serialising container changes on this minion (states and the engine).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.lock_path
    """
    return os.path.join(__opts__["cachedir"], "saltmesh", "containers.lock")


def _lock(test):
    """The host lock for writers; none in test mode (nothing is written)."""
    return fileio.locked(None if test else lock_path())


def _attacher(ovsdb=None, netns=None):
    return attach.Attacher(ovsdb or _opt("ovsdb"), netns or _opt("netns"))


def _core(func, *args):
    """Call the core; a SaltmeshError becomes CommandExecutionError."""
    try:
        return func(*args)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def _run(func):
    """Run ``func(client)``; its Outcome as a dict plus the API requests it took."""

    def go():
        with _engine() as client:
            outcome = func(client)
            if outcome.changes and "ovs.invalidate" in __salt__:
                __salt__["ovs.invalidate"]()  # attachments wrote to OVSDB: drop its snapshot
            return {**outcome.as_dict(), "api_requests": client.requests}

    return _core(go)


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
    container = _core(inventory.parse_container, dict(spec or {}), f"{name}:container")
    attacher = _attacher(ovsdb, netns) if container.networks else None

    def go(client):
        with _lock(test):
            return reconcile.ensure_running(client, name, container, host, test, attacher=attacher)

    return _run(go)


def ensure_stopped(name, test=False, stop_timeout=10):
    """
    Stop container ``name`` (only containers labelled ``saltmesh.managed=true``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_stopped web01
    """
    return _run(lambda client: reconcile.ensure_stopped(client, name, test, stop_timeout))


def ensure_absent(name, test=False, ovsdb=None, netns=None):
    """
    Remove container ``name`` (only if managed by saltmesh) and its OVS ports.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_absent web01
    """
    attacher = _attacher(ovsdb, netns) if attach.have_ovs() else None
    required = bool(ovsdb or _opt("ovsdb"))
    return _run(lambda client: reconcile.ensure_removed(client, name, test, attacher, required))


def placed_host(host=None):
    """
    The docker host this minion manages containers for: its entry in the ``servers`` pillar.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.placed_host
    """
    if host:
        return host
    inv = _core(inventory.parse, __pillar__)
    return placed.docker_host_of(inv, __grains__["id"])


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
    minion_id = __grains__["id"]
    inv = _core(inventory.parse, __pillar__)
    host, containers = _core(placed.declared, inv, minion_id, host)
    if host is None:
        return {**placed.not_a_host(minion_id).as_dict(), "api_requests": 0}
    attacher = _attacher(ovsdb, netns) if attach.have_ovs() else None

    def go(client):
        with _lock(test):
            return placed.ensure_placed(client, containers, host, test, attacher)

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
    return _run(lambda client: images.ensure_image(client, name, test, load, rootfs, pull))


def ensure_image_absent(name, force=False, test=False):
    """
    Remove image ``name``; the engine refuses while a container uses it (unless ``force``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_image_absent local/busybox:1
    """
    return _run(lambda client: images.ensure_image_absent(client, name, test, force))


def ps():
    """
    Containers labelled ``saltmesh.managed=true``: name, state, image, host label.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ps
    """

    def go():
        with _engine() as client:
            return labels.table(client.managed())

    return _core(go)


def attachments(name=None, ovsdb=None, netns=None):
    """
    OVS ports saltmesh attached containers with: ``{port: container}`` (one container if given).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.attachments web01
    """
    return _core(lambda: ports.owned_ports(_attacher(ovsdb, netns).snap, name))
