"""
Runner for container placement: assign containers without ``parents`` to docker hosts.

Weighted rendezvous hashing (see ``saltmesh.placement``): stable, so adding a host moves few
containers. ``placement.plan`` prints the full table; ``placement.apply`` writes the result as
``saltmesh:placement`` into a pillar file that the inventory reads (include it from top.sls).
Pillar is compiled as ``pillar_minion`` sees it (default ``*``, or the master option
``saltmesh_pillar_minion``), like the ``mesh`` runner.

CLI Example:

.. code-block:: bash

    salt-run placement.plan
    salt-run placement.apply
    salt-run placement.apply path=/srv/pillar/saltmesh_placement.sls
"""

import os
import tempfile

import yaml
from salt.exceptions import SaltInvocationError

from saltmesh import master, placement
from saltmesh.errors import SaltmeshError

__virtualname__ = "placement"

HEADER = (
    "# Written by `salt-run placement.apply` (saltmesh). Do not edit: containers without\n"
    "# `parents` are placed by rendezvous hashing; include this file from the pillar top.sls.\n"
)


def __virtual__():
    return __virtualname__


def _rows(pillar_minion=None):
    try:
        return placement.plan(master.pillar_for(__opts__, pillar_minion))
    except SaltmeshError as err:
        raise SaltInvocationError(str(err)) from None


def _default_path():
    configured = (__opts__.get("saltmesh") or {}).get("placement_file")
    if configured:
        return configured
    roots = (__opts__.get("pillar_roots") or {}).get("base") or []
    if not roots:
        raise SaltInvocationError("no pillar_roots:base configured; pass path=")
    return os.path.join(roots[0], "saltmesh_placement.sls")


def plan(pillar_minion=None):
    """
    Print the full placement table: every container, its host, and how it got there
    (``pinned`` by ``parents`` or ``hashed``), flagging containers that would move.

    CLI Example:

    .. code-block:: bash

        salt-run placement.plan
    """
    return placement.table(_rows(pillar_minion))


def apply(path=None, pillar_minion=None, test=False):
    """
    Write the placement of containers without ``parents`` as ``saltmesh:placement`` into
    ``path`` (default: master option ``saltmesh:placement_file``, else
    ``<first pillar_root>/saltmesh_placement.sls``). Returns the moves as
    ``{container: {"old": host, "new": host}}``; the file is rewritten only when it changes.

    CLI Example:

    .. code-block:: bash

        salt-run placement.apply
        salt-run placement.apply test=True
    """
    path = path or _default_path()
    rows = _rows(pillar_minion)
    new = placement.placement_map(rows)
    old = {}
    if os.path.exists(path):
        with open(path, encoding="utf-8") as fh:
            old = ((yaml.safe_load(fh) or {}).get("saltmesh") or {}).get("placement") or {}
    changes = {
        name: {"old": old.get(name), "new": new.get(name)}
        for name in sorted(set(old) | set(new))
        if old.get(name) != new.get(name)
    }
    text = HEADER + yaml.safe_dump({"saltmesh": {"placement": new}}, default_flow_style=False)
    if changes and not test:
        folder = os.path.dirname(os.path.abspath(path))
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".saltmesh_placement.")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    return {"path": path, "test": bool(test), "changes": changes, "table": placement.table(rows)}
