"""
saltmesh: facts about the installed pack, and the inventory as this minion sees it.

CLI Example:

.. code-block:: bash

    salt '*' saltmesh.version
"""

import os

from salt.exceptions import CommandExecutionError

from saltmesh import inventory, roles
from saltmesh.errors import PillarError
from saltmesh.nagios import settings
from saltmesh.version import __version__

# The file is saltmesh_info.py so that it does not share its name with the core package.
__virtualname__ = "saltmesh"


def __virtual__():
    return __virtualname__


def version():
    """
    Return the saltmesh version and where its core was imported from (tells the install route).

    CLI Example:

    .. code-block:: bash

        salt '*' saltmesh.version
    """
    return {"version": __version__, "core": os.path.dirname(inventory.__path__[0])}


def inventory_check():
    """
    Validate the ``servers`` and ``saltmesh`` pillar; return a summary or raise with every problem.

    CLI Example:

    .. code-block:: bash

        salt '*' saltmesh.inventory_check
    """
    try:
        inv = inventory.parse(__pillar__)
    except PillarError as err:
        raise CommandExecutionError(str(err)) from None
    counts = {}
    for server in inv.servers.values():
        counts[server.node_type] = counts.get(server.node_type, 0) + 1
    return {"servers": counts, "mesh": inv.mesh.mesh_name}


def highstate_sls():
    """
    The SLS names ``salt/top.sls`` gives this minion, from its place in the ``servers`` pillar:
    ``mesh``, ``containers`` and ``mesh.heal`` on a docker host, ``nagios.running`` on a Nagios
    server (``saltmesh:nagios:servers``), ``nagios.nrpe`` on every server when there is one.
    Raises with every problem, each with its pillar path, when the pillar is invalid.

    CLI Example:

    .. code-block:: bash

        salt '*' saltmesh.highstate_sls
    """
    try:
        inv = inventory.parse(__pillar__)
        nagios_servers = settings.parse_settings(__pillar__).servers
    except PillarError as err:
        raise CommandExecutionError(str(err)) from None
    return roles.highstate_sls(inv, nagios_servers, __opts__["id"])
