"""
container: Docker containers kept as declared, attached to Open vSwitch (pipework style).

Compares only what the state sets; memory, cpus and restart policy change in place, any other
difference recreates the container and ``changes`` names the field(s) that forced it. No
temporary container is ever created, and ``test=True`` only reads.

.. code-block:: yaml

    web01:
      container.running:
        - image: local/busybox:latest
        - command: [httpd, -f, -p, "80"]
        - env: {ROLE: web}
        - memory: 64m
        - restart: unless-stopped
        - networks:
          - bridge: br-mesh
            ip: 192.168.77.11/24
            mac: 02:77:00:00:00:11
            gateway: 192.168.77.1
            mtu: 1450

    # every container whose parents is this minion's docker host, from the servers pillar
    saltmesh-containers:
      container.placed
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret
from saltmesh.containers import spec

__virtualname__ = "container"


def __virtual__():
    if "saltmesh_docker.ensure_running" in __salt__:
        return __virtualname__
    return (False, "container: the saltmesh_docker execution module is not available")


def _state(name, call, *args, **kwargs):
    """Call the execution module; its outcome (or error) as a state return."""
    test = bool(__opts__["test"])
    return stateret.from_call(
        name,
        lambda: __salt__[call](*args, test=test, **kwargs),
        test=test,
        expected=(CommandExecutionError,),
    )


def running(
    name,
    image,
    command=None,
    entrypoint=None,
    env=None,
    labels=None,
    ports=None,
    volumes=None,
    restart=None,
    hostname=None,
    user=None,
    workdir=None,
    memory=None,
    cpus=None,
    networks=None,
    dns=None,
    dns_search=None,
    environment=None,
    host=None,
    ovsdb=None,
    netns=None,
):
    """
    Run container ``name`` from ``image`` with exactly the settings given.

    name
        Docker name of the container (labelled ``saltmesh.managed=true``; an unlabelled
        container of that name is never touched).
    image
        Image reference; pulled when missing locally (see ``image.present`` for tarballs).
    command, entrypoint
        Lists (or strings split on spaces).
    env, labels
        Mappings; ``env`` also accepts ``["K=V", ...]`` (``environment`` is an alias). Keys
        inherited unchanged from the image are not compared.
    ports
        ``{container_port[/proto]: "[host_ip:]host_port"}``.
    volumes
        ``["source:target[:mode]", ...]``.
    restart
        ``no``, ``always``, ``unless-stopped``, ``on-failure`` (updated in place).
    hostname, user, workdir
        Strings.
    memory, cpus
        Limits (``256m``, ``0.5``), updated in place.
    networks
        OVS attachments: ``bridge`` (required), ``ip`` (with prefix), ``mac``, ``gateway``,
        ``vlan``, ``mtu``, ``interface`` (default ``eth<index>``), ``dhcp: true`` (instead of
        ``ip``: the address comes from the DHCP server on the bridge at every attach; the MAC
        defaults to one derived from ``name``; needs ``busybox`` on the docker host),
        ``rate`` (kbps) and ``burst`` (kb): limits on the OVS port and a shaper inside the
        container, changed in place
        (docs/containers.md, "Flow rates"). With networks the container runs with
        ``network_mode: none``.
    dns, dns_search
        Resolver IPs and search domains written into the container's resolv.conf (a change
        recreates the container).
    host
        Docker host name recorded in the ``saltmesh.host`` label.
    ovsdb, netns
        Override the minion options ``saltmesh:ovsdb`` and ``saltmesh:netns``.

    .. code-block:: yaml

        db01:
          container.running:
            - image: local/busybox:latest
            - command: [sleep, "3600"]
            - networks:
              - {bridge: br-mesh, ip: 192.168.77.21/24, mac: "02:77:00:00:00:21"}
    """
    wanted = spec.spec_args(locals())  # ``environment`` is the Docker SDK's name for env
    return _state(
        name, "saltmesh_docker.ensure_running", name, wanted, host=host, ovsdb=ovsdb, netns=netns
    )


def stopped(name, stop_timeout=10):
    """
    Stop container ``name`` if it runs (managed containers only).

    .. code-block:: yaml

        web01:
          container.stopped
    """
    return _state(name, "saltmesh_docker.ensure_stopped", name, stop_timeout=stop_timeout)


def absent(name, ovsdb=None, netns=None):
    """
    Remove container ``name`` (managed containers only) and its OVS ports.

    .. code-block:: yaml

        old01:
          container.absent
    """
    return _state(name, "saltmesh_docker.ensure_absent", name, ovsdb=ovsdb, netns=netns)


def placed(name, host=None, ovsdb=None, netns=None, prune_only=False):
    """
    Run exactly the containers whose ``parents`` is this docker host in the ``servers``
    pillar; prune managed containers (labelled with this host) that are no longer declared
    here, as ``saltmesh:containers:prune`` says (default: remove; ``stop``; ``false``: leave
    them, but stop those moved to another host), and OVS ports of containers gone. The pillar
    is validated first: on any problem nothing is touched and the comment lists each problem
    with its pillar path.

    host
        The docker host's name in ``servers`` (default: the entry whose ``minion_id`` is this
        minion).
    prune_only
        Only prune: stop or remove what is no longer placed here, create and change nothing
        (the first phase of a move, ``salt-run state.orchestrate orch.placement``).

    .. code-block:: yaml

        saltmesh-containers:
          container.placed
    """
    return _state(
        name,
        "saltmesh_docker.ensure_placed",
        host=host,
        ovsdb=ovsdb,
        netns=netns,
        prune_only=prune_only,
    )
