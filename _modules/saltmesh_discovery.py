"""
saltmesh_discovery: this docker host's DNS/DHCP server (dnsmasq) on the mesh bridge.

A thin wrapper over :mod:`saltmesh.discovery` (``plan``: what it serves, ``render``: its files,
``service``: the port, the files and the process). The ``mesh_discovery.managed`` state calls
:func:`ensure`. Minion options ``saltmesh:ovsdb`` and ``saltmesh:netns`` say where this host's
OVS runs (the port is created there, dnsmasq runs in that netns).

CLI Example:

.. code-block:: bash

    salt docker01 saltmesh_discovery.render
"""

from salt.exceptions import CommandExecutionError

from saltmesh import hostlock, inventory, options, stateret
from saltmesh.discovery import plan, service
from saltmesh.discovery import render as render_
from saltmesh.errors import SaltmeshError

__virtualname__ = "saltmesh_discovery"


def __virtual__():
    return __virtualname__


def _opt(key):
    return options.of_module(globals())(f"saltmesh:{key}") or None


def _plan(host=None):
    """``(HostPlan or None, why None, Leftover of a docker host without a plan or None)``."""
    try:
        inv = inventory.parse(__pillar__)
        host = host or plan.host_for_minion(inv, __opts__["id"])
        if host is None:
            return None, f"minion {__opts__['id']} is not a docker_host: no DNS/DHCP here", None
        found = plan.plan_host(inv, host)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    if found is None:
        why = (
            f"{host} has no overlay_address: no DNS/DHCP server here"
            if inv.discovery.enabled
            else "discovery is off (no docker_host has an overlay_address, or it is disabled)"
        )
        settings = inv.discovery
        left = service.Leftover(host, inv.mesh.mesh_name, settings.conf_dir, settings.run_dir)
        return None, why, left
    return found, "", None


def packages():
    """
    The packages this minion needs for discovery (``saltmesh:discovery:packages``), or ``[]``
    when it runs no dnsmasq.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_discovery.packages
    """
    try:
        found, _, _ = _plan()
    except CommandExecutionError:  # a bad pillar: the state reports it, with its path
        return []
    return list(found.packages) if found else []


def render(host=None):
    """
    The files this host's dnsmasq would get: ``{path: text}`` (empty when it runs none).

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_discovery.render
    """
    found, _, _ = _plan(host)
    if found is None:
        return {}
    return {found.path(kind): text for kind, text in render_.render(found).items()}


def ensure(host=None, test=False, ovsdb=None, netns=None):
    """
    Bring this host's dnsmasq to the plan: a state return (result, changes, comment); changes
    nothing with ``test=True``. Holds the host lock. ``ovsdb``/``netns`` override the minion
    options ``saltmesh:ovsdb`` and ``saltmesh:netns``. A docker host without a plan (discovery
    off, no ``overlay_address``) has the dnsmasq an earlier plan left removed: the daemon, its
    port and its files.

    CLI Example:

    .. code-block:: bash

        salt docker01 saltmesh_discovery.ensure test=True
    """
    found, why, left = _plan(host)
    if found is None and (left is None or not left.files()):  # nothing here, nothing left
        return stateret.state_ret(host or __opts__["id"], comment=why)
    timeout = float(_opt("lock_timeout") or hostlock.DEFAULT_TIMEOUT)
    try:
        with hostlock.held(__opts__["cachedir"], test=bool(test), timeout=timeout):
            where = service.Host(ovsdb or _opt("ovsdb"), netns or _opt("netns"))
            if found is None:
                return service.remove(left, where, test=test, why=why)
            return service.ensure(found, where, test=test)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
