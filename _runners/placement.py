"""
Runner for container placement: every container to a docker host, by rules and resources.

Apps (``node_type: app``) expand into ``<app>-1`` ... ``<app>-N``; ``constraints`` (``unique``,
``max_per``, ``spread``, ``match``, ``avoid``, ``prefer``), cpu and memory reservations and
the hosts' ``capacity`` (default: their grains in the master's cache) decide; containers stay
where they are while they still fit, rendezvous hashing breaks ties (see
``saltmesh.placement``). ``placement.plan`` shows the plan; ``placement.apply`` records it
(hosts, and addresses taken from ``saltmesh:pools``) as ``saltmesh:placement`` and
``saltmesh:allocations`` in a pillar file that the inventory reads (include it from top.sls).
Pillar is compiled as ``pillar_minion`` sees it (default ``*``, or the master option
``saltmesh_pillar_minion``), like the ``mesh`` runner.

CLI Example:

.. code-block:: bash

    salt-run placement.plan
    salt-run placement.plan --out=json      # one mapping per container: host, addresses, reasons
    salt-run placement.apply test=True
    salt-run placement.apply path=/srv/pillar/saltmesh_placement.sls
    salt-run state.orchestrate orch.placement   # moves: old hosts stop first, then new hosts
"""

import os

from salt.exceptions import SaltException

from saltmesh import fileio
from saltmesh.boundary import one_line_errors, rendered
from saltmesh.errors import SaltmeshError
from saltmesh.placement import fleet, record, report

__virtualname__ = "placement"


def __virtual__():
    return __virtualname__


def _pillar(pillar_minion=None):
    minion = pillar_minion or __opts__.get("saltmesh_pillar_minion") or "*"
    return rendered(__salt__["pillar.show_pillar"](minion), minion)


def _grains(minion_ids):
    """Cached grains of the docker hosts without a pillar capacity ({} when there are none)."""
    try:
        found = __salt__["cache.grains"](tgt=",".join(minion_ids), tgt_type="list")
    except SaltException:
        return {}
    return found if isinstance(found, dict) else {}


def _plan(pillar):
    return fleet.plan(pillar, _grains)


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


def _text_output():
    return __opts__.get("output") in (None, "", "nested", "txt")


def _changes(pillar, plan):
    """Host changes against the record as compiled into ``pillar`` (moves and removals)."""
    recorded = dict((pillar.get("saltmesh") or {}).get("placement") or {})
    changes = record.moves(recorded, plan.placement())
    for row in plan.rows:  # containers pinned by parents are not in the record
        if row.moved and row.name not in changes:
            changes[row.name] = {"old": row.previous, "new": row.host}
    return dict(sorted(changes.items()))


@one_line_errors(SaltException, OSError)
def plan(pillar_minion=None):
    """
    Show the placement: per container its host, reserved cpus and memory, addresses, the rule
    that decided, and for a change the move and its reason; then per docker host the cpu and
    memory used and total; then the moves in the order ``orch.placement`` makes them.
    ``--out=json`` / ``--out=yaml`` return one mapping per container instead (``host``,
    ``app``, ``how``, ``rule``, ``reasons``, ``reserved``, ``addresses``, ``move``).

    A pillar that cannot be placed fails with every container that fits nowhere, the rules
    and the hosts ruled out and why.

    CLI Example:

    .. code-block:: bash

        salt-run placement.plan
        salt-run placement.plan --out=json
    """
    pillar = _pillar(pillar_minion)
    result = _plan(pillar)
    if not _text_output():
        return report.data(result)
    lines = report.table(result)
    order = report.steps(_changes(pillar, result))
    if order:
        lines += ["", "moves, in order (salt-run state.orchestrate orch.placement):", *order]
    return lines


@one_line_errors(SaltException, OSError)
def apply(path=None, pillar_minion=None, test=False):
    """
    Record the placement in ``path`` (default: master option ``saltmesh:placement_file``,
    else ``<first pillar_root>/saltmesh_placement.sls``): ``saltmesh:placement`` (hosts of the
    containers without ``parents``), ``saltmesh:allocations`` (pool addresses and MACs) and
    ``saltmesh:placement_hosts``. Returns ``changes`` as ``{container: {"old": host, "new":
    host}}``, ``addresses`` (pool addresses given or released), ``order`` (the moves as the
    orchestration makes them: old hosts stop first) and the ``table``; the file is rewritten
    only when it changes. Nothing is written when the pillar cannot be placed.

    CLI Example:

    .. code-block:: bash

        salt-run placement.apply
        salt-run placement.apply test=True
    """
    path = path or _default_path()
    result = _plan(_pillar(pillar_minion))
    text = record.render(result.placement(), result.allocations(), result.usable_hosts())
    try:
        current = _read(path) if os.path.exists(path) else ""
    except OSError as err:
        raise SaltmeshError(f"cannot read {path}: {err}") from None
    old = record.parse(current, path)
    changes = record.moves(old, result.placement())
    addresses = record.address_changes(
        record.parse_allocations(current, path), result.allocations()
    )
    if text != current and not test:
        try:
            fileio.write_atomic(path, text.encode())
        except OSError as err:
            raise SaltmeshError(f"cannot write {path}: {err}") from None
    return {
        "path": path,
        "test": bool(test),
        "changes": changes,
        "addresses": addresses,
        "order": report.steps(changes),
        "table": report.table(result),
    }
