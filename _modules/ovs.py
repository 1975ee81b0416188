"""
Open vSwitch through one batched OVSDB read and one transaction per change.

The OVSDB target is the minion option ``saltmesh:ovsdb`` (for example
``unix:/var/run/openvswitch/db.sock`` or ``tcp:127.0.0.1:6640``); unset means ovs-vsctl's
default, the system socket. ``saltmesh:ovsdb_timeout`` (seconds, default 30) bounds each call.

Within one state run the read (Bridge, Port, Interface and Open_vSwitch, in one ovs-vsctl
process) is cached in ``__context__``, so 200 port states cost one read: the states pass
``cache=True``. ``__context__`` is not always fresh for a state run (Salt hands a state run a
copy of the job's context, which may already hold a read made earlier in the same job), so the
states that read the cache drop it when a state run starts with them (their ``mod_init``,
through ``ovs.invalidate``). A write through this module marks the bridges/ports/interfaces it
touched, and only a later caller looking at one of those names reads again
(:mod:`saltmesh.ovs.cache`); ``ovs.transact`` and ``ovs.ensure_record`` drop the cached copy.
Code that changes OVS behind this module's back in the same run should call
``ovs.invalidate``. Direct calls (``cache=False``, the default) always read afresh.

Every write holds the host lock, ``<cachedir>/saltmesh/host.lock``
(:mod:`saltmesh.hostlock`, shared with the containers states and engine), from the
read it is planned on to the end of its transaction. Test mode takes no lock and creates no file.

CLI Example:

.. code-block:: bash

    salt '*' ovs.bridges
    salt '*' ovs.version
"""

import logging

from salt.exceptions import CommandExecutionError

from saltmesh import options
from saltmesh.errors import SaltmeshError
from saltmesh.ovs import batch, views
from saltmesh.ovs.openflow import Ofctl
from saltmesh.ovs.ovsdb import Ovsdb, virtual
from saltmesh.ovs.reconcile import Reconciler

log = logging.getLogger(__name__)

__virtualname__ = "ovs"


def __virtual__():
    return virtual(__virtualname__)


def _config():
    return options.of_module(globals())


def _db():
    return Ovsdb.from_options(_config())


def _reconciler():
    """The core for this minion's OVSDB, with the run's snapshot cached in ``__context__`` and
    the host lock around every write."""
    return Reconciler.from_options(_config(), __context__, __opts__["cachedir"])


def _call(fn, *args, **kwargs):
    """Call the core; its errors (and an unusable lock file) become CommandExecutionError."""
    try:
        return fn(*args, **kwargs)
    except (SaltmeshError, OSError) as err:
        raise CommandExecutionError(str(err)) from None


def _fields(kwargs):
    """Keyword arguments without the ``__pub_*`` ones Salt adds to a CLI call."""
    return {k: v for k, v in kwargs.items() if not k.startswith("__")}


def invalidate():
    """
    Forget the OVSDB read cached for this run (after changing OVS by other means).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.invalidate
    """
    _reconciler().cache.drop()
    return True


def snapshot(refresh=False, names=None):
    """
    The current Bridge/Port/Interface tables as a :class:`saltmesh.ovs.schema.Snapshot`
    object, cached for the run. For states and other modules; on the CLI use ``ovs.bridges``,
    ``ovs.ports`` or ``ovs.interfaces``.

    refresh
        Read again.
    names
        Names (bridges, ports, interfaces) the caller is going to look at: the cached copy is
        re-read only if an earlier write through this module touched one of them.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.snapshot
    """
    return _call(_reconciler().cache.get, refresh=refresh, names=names)


def transact(clauses):
    """
    Run a batch of ovs-vsctl clauses as ONE transaction (all or nothing).

    clauses
        A list of argument lists, e.g. ``[["add-br", "br0"], ["set", "Bridge", "br0",
        "datapath_type=netdev"]]``. Values with special characters need ovs-vsctl quoting
        (``options:remote_ip="10.0.0.1"``). Nothing runs when the list is empty.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.transact '[["add-br", "br0"], ["set", "Bridge", "br0", "datapath_type=netdev"]]'
    """
    _call(_reconciler().transact, clauses)
    return True


def version():
    """
    The Open vSwitch version.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.version
    """
    return _call(_db().version)


def bridges():
    """
    Every bridge as a plain dict, by name.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.bridges
    """
    return views.bridges(snapshot(refresh=True))


def ports(bridge=None):
    """
    Every port (of ``bridge`` when given) as a plain dict, by name.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ports
        salt '*' ovs.ports br0
    """
    return views.ports(snapshot(refresh=True), bridge)


def interfaces(bridge=None):
    """
    Every interface (of ``bridge`` when given) as a plain dict, by name.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.interfaces
        salt '*' ovs.interfaces br0
    """
    return views.interfaces(snapshot(refresh=True), bridge)


def record(table, record):
    """
    One record of any OVSDB table, every column as a plain value.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.record Open_vSwitch .
        salt '*' ovs.record Bridge br0
    """
    return _call(_db().get_record, table, record)


# --- reconcile: used by the ovs_* and openvswitch_* states ----------------------------------
#
# ``cache=True`` (state runs, whose ``__context__`` lives for one run) reuses the run's
# snapshot; otherwise OVSDB is read afresh. Each returns ``{"changes": ..., "clauses": ...}``.


def ensure_port(name, bridge, type=None, test=False, cache=False, **fields):  # pylint: disable=redefined-builtin
    """
    Bring port ``name`` on ``bridge`` to the given fields in one transaction (see the
    ``ovs_port.present`` state for the fields; a field not given is left alone, ``type``
    included: a new port without it is a system port). Returns the changes and the clauses
    run, and for a port already in sync the ``errors`` vswitchd reports on its interfaces.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ensure_port gre-0a000002 br0 type=gre options='{remote_ip: 10.0.0.2}' protected=True
    """
    return _call(
        _reconciler().ensure_port,
        name,
        bridge,
        type,
        test=test,
        use_cache=cache,
        **_fields(fields),
    )


def remove_port(name, bridge=None, test=False, cache=False):
    """
    Delete port ``name`` (only from ``bridge`` when given).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.remove_port gre-0a000002
    """
    return _call(_reconciler().remove_port, name, bridge, test=test, use_cache=cache)


def ensure_bridge(name, test=False, cache=False, **fields):
    """
    Bring bridge ``name`` to the given columns in one transaction (see ``ovs_bridge.present``).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ensure_bridge br0 datapath_type=netdev fail_mode=secure
    """
    return _call(_reconciler().ensure_bridge, name, test=test, use_cache=cache, **_fields(fields))


def remove_bridge(name, test=False, cache=False):
    """
    Delete bridge ``name`` (real or fake) and its ports.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.remove_bridge br0
    """
    return _call(_reconciler().remove_bridge, name, test=test, use_cache=cache)


def apply_batch(items, cache=False):
    """
    Plan several ovs_port/ovs_bridge requests together and write them as ONE transaction
    (:mod:`saltmesh.ovs.batch`). ``items``: dicts ``{tag, op, kwargs, requires, failhard}``
    as :func:`saltmesh.ovs.chunks.select` makes them from a state run's lowstate. Returns each
    batched item's outcome by tag, as ``ovs.ensure_port`` & co. return it, or ``{"error":
    message}``; items left out of the batch have none. For the ovs_port/ovs_bridge states.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.apply_batch '[{tag: t1, op: ensure_bridge, kwargs: {name: br0}}, {tag: t2, op: ensure_port, kwargs: {name: p0, bridge: br0, type: internal}}]'
    """
    items = [batch.Item.from_dict(i) for i in items]
    return _call(_reconciler().apply_batch, items, use_cache=cache)


def apply(plan, test=False, cache=False):
    """
    Run ``plan``, a function ``snapshot -> (clauses, changes)`` from the saltmesh core (e.g.
    ``functools.partial(saltmesh.mesh.sync.reconcile, host_plan)``), on the OVSDB snapshot and
    (unless ``test``) write its clauses as one transaction under the host lock, retried once on
    a fresh read. ``cache=True`` plans on the run's snapshot when nothing was written since it
    was read. Returns ``{"changes": ..., "clauses": ...}``. For other loader modules (the
    ``ovs_mesh`` state); not callable from the command line.

    CLI Example:

    .. code-block:: bash

        # from a loader module: __salt__["ovs.apply"](plan, test=__opts__["test"])
        salt '*' sys.doc ovs.apply
    """
    return _call(_reconciler().apply, plan, test=test, use_cache=cache)


def ensure_record(table, record, data, test=False):
    """
    Set columns of any record; map columns key by key (a key set to ``None`` is removed).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ensure_record Open_vSwitch . '{other_config: {foo: bar}}'
    """
    return _call(_reconciler().ensure_record, table, record, data, test=test)


# --- OpenFlow rules owned by a cookie: used by the ovs_mesh state (topology flow) ----------


def _ofctl():
    return Ofctl.from_options(_config())


def flows(bridge, cookie):
    """
    The OpenFlow rules of ``bridge`` whose cookie is exactly ``cookie`` (an int or ``0x..``
    text), as ``priority=P,MATCH actions=A`` lines sorted; ``[]`` when the bridge does not
    exist. Runs ``ovs-ofctl`` on the bridge's management socket in the instance's run
    directory (minion option ``saltmesh:ovs_rundir``, default: beside ``saltmesh:ovsdb``).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.flows br-mesh-tun 0x5a17000000000001
    """
    cookie = int(str(cookie), 0)
    if bridge not in snapshot(refresh=True).bridges:
        return []
    return sorted(r.text() for r in _call(_ofctl().dump, bridge, cookie))


def sync_flows(bridge, cookie, rules, test=False, early=None):
    """
    Make the rules of ``bridge`` that carry ``cookie`` exactly ``rules`` (a list of
    ``(priority, match, actions)``), in one OpenFlow bundle under the host lock; rules with
    another cookie are never touched. Returns ``{"changes": {"flows": {"old", "new"}},
    "lines": [...]}``. ``early``: a :func:`start_flows_dump` of the same bridge and cookie,
    started before other work (a dump already found in sync then ends the call). For other
    loader modules (the ``ovs_mesh`` state).

    CLI Example:

    .. code-block:: bash

        # from a loader module: __salt__["ovs.sync_flows"](bridge, cookie, rules, test=True)
        salt '*' sys.doc ovs.sync_flows
    """
    ofctl, cookie = _ofctl(), int(str(cookie), 0)
    return _call(_reconciler().sync_flows, ofctl, bridge, cookie, rules, test=test, early=early)


def start_flows_dump(bridge, cookie):
    """
    Start reading the rules of ``bridge`` that carry ``cookie`` now, for a later
    :func:`sync_flows` call's ``early`` argument (the read runs while the caller does other
    work); ``None`` when it cannot start. The caller closes it (``.close()``). For other loader
    modules (the ``ovs_mesh`` state).

    CLI Example:

    .. code-block:: bash

        # from a loader module: early = __salt__["ovs.start_flows_dump"](bridge, cookie)
        salt '*' sys.doc ovs.start_flows_dump
    """
    try:
        return _ofctl().dump_start(bridge, int(str(cookie), 0))
    except (SaltmeshError, OSError):
        return None
