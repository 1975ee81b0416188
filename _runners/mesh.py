"""
Runner for the OVS tunnel mesh: plan it from pillar, dry-run it, draw it, verify it.

The plan is computed on the master by the same planner the ``ovs_mesh.managed`` state uses.
Pillar is compiled as the minion ``pillar_minion`` sees it (default ``*``: what top.sls gives
every minion; set ``saltmesh_pillar_minion`` in the master config or pass
``pillar_minion=docker01`` when your top file gives the mesh pillar to docker hosts only).

CLI Example:

.. code-block:: bash

    salt-run mesh.plan
    salt-run mesh.plan docker01 --out=json
    salt-run mesh.diff
    salt-run mesh.verify
    salt-run mesh.graph format=svg path=/tmp/mesh.svg
    salt-run mesh.hosts
    salt-run mesh.join minion=docker04     # what the reactor salt/reactor/mesh_join.sls runs
"""

import os

import salt.client
from salt.exceptions import SaltException

from saltmesh import fileio, inventory, proc
from saltmesh.boundary import one_line_errors, rendered
from saltmesh.errors import SaltmeshError
from saltmesh.mesh import graph as meshgraph
from saltmesh.mesh import join as meshjoin
from saltmesh.mesh import planner, report

__virtualname__ = "mesh"


def __virtual__():
    return __virtualname__


def _pillar(pillar_minion=None):
    """The pillar as ``pillar_minion`` sees it, compiled on the master (Salt's own runner)."""
    minion = pillar_minion or __opts__.get("saltmesh_pillar_minion") or "*"
    return rendered(__salt__["pillar.show_pillar"](minion), minion)


def _fleet(pillar_minion=None):
    inv = inventory.parse(_pillar(pillar_minion))
    return inv, planner.plan_fleet(inv)


def _table_or_data(plans):
    if __opts__.get("output") in (None, "", "nested", "txt"):
        return report.plan_table(plans)
    return {host: hp.to_dict() for host, hp in plans.items()}


@one_line_errors(SaltException, OSError)
def plan(minion=None, pillar_minion=None):
    """
    Show the mesh plan: every tunnel port of every docker host, or of one.

    minion
        A docker host (name in ``servers`` or minion id). Default: all hosts.

    Prints a table by default; ``--out=json`` / ``--out=yaml`` give the full plan (options,
    external_ids, MTU) as data.

    CLI Example:

    .. code-block:: bash

        salt-run mesh.plan
        salt-run mesh.plan docker01 --out=json
    """
    inv, plans = _fleet(pillar_minion)
    if minion is not None:
        host = minion if minion in plans else planner.host_for_minion(inv, minion)
        plans = {host: plans[host]}
    return _table_or_data(plans)


def _ask(plans, fun, arg=(), kwarg=None, timeout=60):
    """Run ``fun`` on every planned host's minion; answers keyed by host name."""
    by_minion = {hp.minion_id: host for host, hp in plans.items()}
    with salt.client.get_local_client(__opts__["conf_file"]) as client:
        answers = client.cmd(
            sorted(by_minion), fun, list(arg), tgt_type="list", kwarg=kwarg or {}, timeout=timeout
        )
    return {host: answers.get(mid) for mid, host in sorted(by_minion.items())}


def _reports(plans, timeout):
    """Each host's actual tunnels (``ovs_mesh.status``) checked against its plan."""
    answers = _ask(plans, "ovs_mesh.status", timeout=timeout)
    return {host: report.verify_host(plans[host], answers[host]) for host in plans}


@one_line_errors(SaltException, OSError)
def diff(pillar_minion=None, timeout=60):
    """
    Fleet dry run: what ``state.sls mesh`` would add, change or remove on each docker host.

    Runs the ``ovs_mesh.managed`` state with ``test=True`` on every docker host; nothing is
    changed. Hosts already in sync report ``{}``.

    CLI Example:

    .. code-block:: bash

        salt-run mesh.diff
    """
    _, plans = _fleet(pillar_minion)
    answers = _ask(
        plans, "state.single", ["ovs_mesh.managed", "saltmesh-mesh"], {"test": True}, timeout
    )
    return {host: report.dry_run_answer(answer) for host, answer in answers.items()}


@one_line_errors(SaltException, OSError)
def verify(pillar_minion=None, timeout=60):
    """
    Compare every host's actual tunnels (and BFD state, when enabled) with the plan.

    Reports, per host, ports ``missing``, ``extra``, ``drifted`` (fields that differ) and
    ``down`` (interface error, no OpenFlow port, link down, BFD not up); ``{}`` when the host
    matches.

    CLI Example:

    .. code-block:: bash

        salt-run mesh.verify
    """
    _, plans = _fleet(pillar_minion)
    return _reports(plans, timeout)


@one_line_errors(SaltException, OSError)
def graph(format="dot", path=None, status=False, pillar_minion=None, timeout=60, containers=True):
    """
    Draw the mesh: docker hosts around a circle (name and underlay address on each), one line
    per tunnel, each host's containers beside it. Graphviz DOT with the positions computed
    here; SVG or PNG when ``dot`` (Graphviz) is installed.

    format
        ``dot`` (default), ``svg`` or ``png``.
    path
        Write the picture there and return the path; without it DOT text is returned
        (SVG/PNG need a path).
    status
        Colour each tunnel by its verified status (asks the minions, like ``mesh.verify``):
        green in sync, orange drifted, red missing, down or unreachable, gray unknown.
        Without it every tunnel is gray.
    pillar_minion
        Compile pillar as this minion sees it (see the module's notes).
    timeout
        Seconds to wait for the minions' status (``status=True``).
    containers
        Draw each docker host's containers (``servers`` entries of ``node_type: container``)
        beside it (default True).

    CLI Example:

    .. code-block:: bash

        salt-run mesh.graph
        salt-run mesh.graph format=svg path=/tmp/mesh.svg status=True
        salt-run mesh.graph format=png path=/tmp/mesh.png containers=False
    """
    if format not in ("dot", "svg", "png"):
        raise SaltmeshError(f"format must be dot, svg or png, not {format!r}")
    if format != "dot" and not path:
        raise SaltmeshError(f"format={format} needs path=<file>")
    inv, plans = _fleet(pillar_minion)
    members = meshgraph.containers_by_host(inv, inv.mesh.bridge) if containers else None
    dot = meshgraph.to_dot(plans, _reports(plans, timeout) if status else None, members)
    if format == "dot":
        if path:
            with open(path, "w", encoding="utf-8") as fh:
                fh.write(dot)
            return path
        return dot
    proc.run(["dot", f"-T{format}", "-o", path], stdin=dot)
    return path


@one_line_errors(SaltException, OSError)
def hosts(pillar_minion=None):
    """
    The minion ids of the docker hosts of the ``servers`` pillar, sorted: the minions that
    apply the mesh (``salt -L <them> state.sls mesh``).

    CLI Example:

    .. code-block:: bash

        salt-run mesh.hosts --out=json
    """
    _, plans = _fleet(pillar_minion)
    return meshjoin.host_minions(plans)


@one_line_errors(SaltException, OSError)
def join(minion=None, mods="mesh", pillar_minion=None, timeout=120):
    """
    A docker host's minion started: sync it, then every docker host applies ``mods``.

    What the reactor ``salt/reactor/mesh_join.sls`` runs on every ``salt/minion/<id>/start``
    event (master config: ``reactor: [{'salt/minion/*/start': [salt://reactor/mesh_join.sls]}]``),
    so that a new docker host is meshed with no command typed.

    minion
        The minion that started. When it is not the minion of a docker host in the
        ``servers`` pillar nothing happens (``{skipped: ...}``): other minions starting
        trigger no job.
    mods
        The SLS every docker host applies (default ``mesh``; e.g. ``mesh,containers``).
    pillar_minion
        Compile pillar as this minion sees it (see the module's notes).
    timeout
        Seconds to wait for the minions, for the sync and for the apply.

    One run at a time: minions that start while a run is under way (a fleet reboot) are
    served together by one more run, and their own calls return ``{queued: ...}`` at once.
    The new minion gets ``saltutil.sync_all`` first (``state.sls`` does not sync), then all
    docker hosts, it included, apply ``mods`` in one job (``queue=True``: after a state run
    already under way). Returns, per host, ``in sync``, ``changed: ...``, ``failed: ...`` or
    ``no answer``.

    CLI Example:

    .. code-block:: bash

        salt-run mesh.join minion=docker04
    """
    if not minion:
        raise SaltmeshError("minion=<id> is required: the minion that started")
    _, plans = _fleet(pillar_minion)
    if not meshjoin.joining(plans, [minion]):
        return {"skipped": f"{minion} is not the minion of a docker host in the servers pillar"}
    directory = os.path.join(__opts__["cachedir"], "saltmesh", "mesh-join")
    runs = fileio.coalesce(
        directory, minion, lambda started: _join_run(started, mods, pillar_minion, timeout)
    )
    if not runs:
        return {"queued": f"{minion} is served by the mesh.join run under way"}
    if any(meshjoin.failed(run.get("hosts", {})) for run in runs):
        __context__["retcode"] = 1
    return runs[0] if len(runs) == 1 else {"runs": runs}


def _join_run(started, mods, pillar_minion, timeout):
    """One run for the docker hosts among ``started``, on a freshly compiled pillar."""
    _, plans = _fleet(pillar_minion)
    joined = meshjoin.joining(plans, started)
    if not joined:
        return {"skipped": f"no docker host among {', '.join(sorted(started))}"}
    minions = meshjoin.host_minions(plans)
    with salt.client.get_local_client(__opts__["conf_file"]) as client:
        synced = {}
        for _ in range(2):  # once more for a minion that missed the first publication
            todo = [m for m in joined if not synced.get(m)]
            if todo:
                synced.update(
                    client.cmd(todo, "saltutil.sync_all", tgt_type="list", timeout=timeout)
                )
        applied = client.cmd(
            minions, "state.sls", [mods], tgt_type="list", kwarg={"queue": True}, timeout=timeout
        )
    by_minion = {hp.minion_id: host for host, hp in plans.items()}
    return {
        "started": joined,
        "synced": {m: "no answer" if not synced.get(m) else "ok" for m in joined},
        "hosts": {by_minion[m]: meshjoin.apply_summary(applied.get(m)) for m in minions},
    }
