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
    salt-run state.orchestrate orch.placement   # moves: old hosts stop first, then new hosts
"""

import os

from salt.exceptions import SaltException

from saltmesh import fileio
from saltmesh.boundary import one_line_errors
from saltmesh.errors import SaltmeshError
from saltmesh.placement import hashing, record

__virtualname__ = "placement"


def __virtual__():
    return __virtualname__


def _pillar(pillar_minion=None):
    minion = pillar_minion or __opts__.get("saltmesh_pillar_minion") or "*"
    return __salt__["pillar.show_pillar"](minion)


def _rows(pillar_minion=None):
    return hashing.plan(_pillar(pillar_minion))


def _read(path):
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def _default_path():
    configured = (__opts__.get("saltmesh") or {}).get("placement_file")
    if configured:
        return configured
    roots = (__opts__.get("pillar_roots") or {}).get("base") or []
    if not roots:
        raise SaltmeshError("no pillar_roots:base configured; pass path=")
    return os.path.join(roots[0], "saltmesh_placement.sls")


@one_line_errors(SaltException, OSError)
def plan(pillar_minion=None):
    """
    Print the full placement table: every container, its host, and how it got there
    (``pinned`` by ``parents`` or ``hashed``), flagging containers that would move.

    CLI Example:

    .. code-block:: bash

        salt-run placement.plan
    """
    return hashing.table(_rows(pillar_minion))


@one_line_errors(SaltException, OSError)
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
    new = hashing.placement_map(rows)
    try:
        old = record.parse(_read(path), path) if os.path.exists(path) else {}
    except OSError as err:
        raise SaltmeshError(f"cannot read {path}: {err}") from None
    changes = record.moves(old, new)
    if changes and not test:
        try:
            fileio.write_atomic(path, record.render(new).encode())
        except OSError as err:
            raise SaltmeshError(f"cannot write {path}: {err}") from None
    return {"path": path, "test": bool(test), "changes": changes, "table": hashing.table(rows)}
