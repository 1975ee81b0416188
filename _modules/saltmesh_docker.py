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
      lock_timeout: 300                         # seconds to wait for the host lock
      minion_dir: /var/lib/saltmesh/minions     # config and keys of minion containers
      garp: true      # false: no gratuitous ARP after an attach (only to measure what it buys)

``dhcp: true`` networks need ``busybox`` on the docker host (its ``udhcpc`` asks the address
from the container's netns); without it such a container fails cleanly, naming busybox.

Every function answers cleanly: a failure is a ``CommandExecutionError`` with one line naming
the culprit (the states turn it into ``result: False``), never a traceback. Every function that
changes Docker holds the host lock (:mod:`saltmesh.hostlock`) for its whole run.

CLI Example:

.. code-block:: bash

    salt docker01 saltmesh_docker.ps
"""

import logging

from salt.exceptions import CommandExecutionError

from saltmesh import hostlock, inventory, options
from saltmesh.containers import attach, engine, images, labels, minion, placed, ports, reconcile
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.inventory.containers import container_name_problem

log = logging.getLogger(__name__)

__virtualname__ = "saltmesh_docker"


def __virtual__():
    # Only the SDK: an engine that is down (or not started yet when the minion starts) is a
    # clean error of each call, so the module is there as soon as dockerd answers.
    if not engine.HAS_DOCKER:
        return (
            False,
            "saltmesh_docker: the docker Python SDK is not installed (pip install docker)",
        )
    return __virtualname__


def _opt(key, default=None):
    # also during __virtual__, before __salt__ is injected (then from opts, grains and pillar)
    return options.of_module(globals())(f"saltmesh:{key}", default)


def _url():
    return _opt("docker_url") or None


def _engine():
    """A client; the API version found by the first one is reused (no /version per call)."""
    why = engine.engine_unreachable(_url())
    if why:
        raise engine.EngineError(why)
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
    return hostlock.path(__opts__["cachedir"])


def _lock(test):
    """The host lock: exclusive for writers; in test mode shared and never created."""
    timeout = float(_opt("lock_timeout", hostlock.DEFAULT_TIMEOUT))
    return hostlock.held(__opts__["cachedir"], test=bool(test), timeout=timeout)


def _attacher(ovsdb=None, netns=None):
    # saltmesh:garp false: no gratuitous ARP after an attach (only to measure what it buys)
    announce = _opt("garp", True) is not False
    return attach.Attacher(ovsdb or _opt("ovsdb"), netns or _opt("netns"), announce=announce)


def _one_line(text):
    return " ".join(str(text).split())


def _core(func, *args):
    """Call the core; any failure becomes a CommandExecutionError with one line naming it.

    Pillar errors keep their lines (one per culprit path). Anything unexpected is logged with
    its traceback at DEBUG only, and answered with its type and message.
    """
    try:
        return func(*args)
    except PillarError as err:
        raise CommandExecutionError(str(err)) from None
    except SaltmeshError as err:
        raise CommandExecutionError(_one_line(err)) from None
    except OSError as err:
        where = f"{err.filename}: " if err.filename else ""
        raise CommandExecutionError(_one_line(f"{where}{err.strerror or err}")) from None
    except Exception as err:  # the boundary: never a traceback in a state's answer
        log.debug("saltmesh_docker: unexpected error", exc_info=True)
        raise CommandExecutionError(_one_line(f"{type(err).__name__}: {err}")) from None


def _run(func, test):
    """Run ``func(client)`` holding the host lock; its Outcome as a dict plus API requests."""

    def go():
        with _lock(test), _engine() as client:
            outcome = func(client)
            if outcome.changes and "ovs.invalidate" in __salt__:
                __salt__["ovs.invalidate"]()  # attachments wrote to OVSDB: drop its snapshot
            outcome.comment = _one_line(outcome.comment)
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
    problem = container_name_problem(name)
    if problem:
        raise CommandExecutionError(f"name: {problem}")
    try:
        container = inventory.parse_container(spec or {}, f"{name}:container")
    except PillarError as err:
        wrong = "; ".join(f"{path}: {msg}" for path, msg in err.problems)
        raise CommandExecutionError(f"invalid arguments: {wrong}") from None
    if container.minion is not None:
        raise CommandExecutionError(
            "minion: only containers declared in the servers pillar (container.placed) are minions"
        )
    attacher = _attacher(ovsdb, netns) if container.networks else None
    return _run(
        lambda client: reconcile.ensure_running(
            client, name, container, host, test, attacher=attacher
        ),
        test,
    )


def ensure_stopped(name, test=False, stop_timeout=10):
    """
    Stop container ``name`` (only containers labelled ``saltmesh.managed=true``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_stopped web01
    """
    return _run(lambda client: reconcile.ensure_stopped(client, name, test, stop_timeout), test)


def ensure_absent(name, test=False, ovsdb=None, netns=None):
    """
    Remove container ``name`` (only if managed by saltmesh) and its OVS ports.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_absent web01
    """
    attacher = _attacher(ovsdb, netns) if attach.have_ovs() else None
    required = bool(ovsdb or _opt("ovsdb"))
    return _run(
        lambda client: reconcile.ensure_removed(client, name, test, attacher, required), test
    )


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


def ensure_placed(host=None, test=False, ovsdb=None, netns=None, prune_only=False):
    """
    Run exactly the containers whose ``parents`` is this docker host (from the ``servers``
    pillar), attached to OVS; prune managed containers no longer declared here (as
    ``saltmesh:containers:prune`` says) and OVS ports of containers gone. A container with
    ``container:minion`` first gets its minion config and key pair under the minion option
    ``saltmesh:minion_dir`` (mounted read-only into it), and its public key is announced to the
    master (event ``saltmesh/containers/minion-keys``) before it starts.

    host
        Docker host name in the ``servers`` pillar (default: the entry whose ``minion_id`` is
        this minion).
    prune_only
        Only prune (stop or remove what is no longer placed here); create and change nothing.

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
    moved = placed.elsewhere(inv, host)
    minion_dir = _opt("minion_dir") or minion.MINION_DIR
    return _run(
        lambda client: placed.ensure_placed(
            client, containers, host, test, attacher, inv.containers, moved, bool(prune_only),
            minion_dir, lambda keys: _announce(host, keys),
        ),
        test,
    )  # fmt: skip


def _announce(host, keys):
    """Tell the master the public keys of this host's minion containers (its reactor runs
    ``minion_keys.accept``). A master that cannot be told is logged, not a failure: the keys
    are announced again on the next run."""
    try:
        sent = __salt__["event.send"](minion.KEYS_EVENT, {"host": host, "keys": keys})
    except Exception as err:  # masterless, or the master is down: the run goes on
        sent = f"{type(err).__name__}: {err}"
    if sent is not True:
        log.warning("saltmesh_docker: could not announce minion keys to the master: %s", sent)


def ensure_image(
    name, load=None, rootfs=None, pull="missing", test=False, fetched=True, source_sha256=None
):
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
    fetched / source_sha256
        Test mode only: ``fetched=False`` says that ``load``/``rootfs`` is a ``salt://`` URL not
        fetched to this minion (it is not read); ``source_sha256`` is the rootfs file's sha256
        when known (``cp.hash_file``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_image local/busybox:1 rootfs=/srv/busybox.tar
    """
    return _run(
        lambda client: images.ensure_image(
            client, name, test, load, rootfs, pull, bool(fetched), source_sha256
        ),
        test,
    )


def ensure_image_absent(name, force=False, test=False):
    """
    Remove image ``name``; the engine refuses while a container uses it (unless ``force``).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_docker.ensure_image_absent local/busybox:1
    """
    return _run(lambda client: images.ensure_image_absent(client, name, test, force), test)


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
