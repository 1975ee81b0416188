"""
Open vSwitch through one batched OVSDB read and one transaction per change.

The OVSDB target is the minion option ``saltmesh:ovsdb`` (for example
``unix:/var/run/openvswitch/db.sock`` or ``tcp:127.0.0.1:6640``); unset means ovs-vsctl's
default, the system socket. ``saltmesh:ovsdb_timeout`` (seconds, default 30) bounds each call.

Within one state run the read (Bridge, Port, Interface and Open_vSwitch, in one ovs-vsctl
process) is cached in ``__context__`` (which Salt creates afresh for each state run), so 200
port states cost one read: the states pass ``cache=True``. A write through this module marks
the bridges/ports/interfaces it touched, and only a later caller looking at one of those names
reads again (``saltmesh.ovs.clauses.touched_names``); ``ovs.transact`` and ``ovs.ensure_record`` drop the
cached copy. Code that changes OVS behind this module's back in the same run should call
``ovs.invalidate``. Direct calls (``cache=False``, the default) always read afresh.

CLI Example:

.. code-block:: bash

    salt '*' ovs.bridges
    salt '*' ovs.version
"""

import logging
import shutil

from salt.exceptions import CommandExecutionError

from saltmesh.errors import SaltmeshError
from saltmesh.ovs import bridge as ovs_bridge
from saltmesh.ovs import clauses as ovs_clauses
from saltmesh.ovs import port as ovs_port
from saltmesh.ovs import record as ovs_record
from saltmesh.ovs.errors import SpecError
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.spec import PortSpec

log = logging.getLogger(__name__)

__virtualname__ = "ovs"
_CACHE = "saltmesh.ovs.snapshot"
_CREATED_BY_STATES = ("Bridge", "Port", "Interface")


def __virtual__():
    if shutil.which("ovs-vsctl") is None:
        return (False, "ovs-vsctl not found: install Open vSwitch (openvswitch-switch)")
    return __virtualname__


def _db():
    target = __salt__["config.get"]("saltmesh:ovsdb") or None
    timeout = __salt__["config.get"]("saltmesh:ovsdb_timeout") or 30
    return Ovsdb(target, timeout=int(timeout))


def invalidate():
    """
    Forget the OVSDB read cached for this run (after changing OVS by other means).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.invalidate
    """
    __context__.pop(_CACHE, None)
    return True


def snapshot(refresh=False, names=None):
    """
    The current Bridge/Port/Interface tables as a :class:`saltmesh.ovs.schema.Snapshot` object,
    cached for the run. For states and other modules; on the CLI use ``ovs.bridges``,
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
    db = _db()
    cached = __context__.get(_CACHE)
    if not refresh and cached is not None and cached["db"] == db.db:
        dirty = cached["dirty"]
        if not dirty or (names is not None and not dirty.intersection(names)):
            return cached["snap"]
    try:
        snap = db.snapshot()
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    __context__[_CACHE] = {"db": db.db, "snap": snap, "dirty": set()}
    return snap


def _written(clauses, snap):
    """After a successful write: mark what it touched, so only readers of it re-read."""
    cached = __context__.get(_CACHE)
    if cached is None or cached["snap"] is not snap:
        __context__.pop(_CACHE, None)
        return
    touched = ovs_clauses.touched_names(clauses, snap)
    if touched is None:
        __context__.pop(_CACHE, None)
    else:
        cached["dirty"].update(touched)


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
    if isinstance(clauses, (list, tuple)) and clauses and isinstance(clauses[0], str):
        clauses = [clauses]
    if not isinstance(clauses, (list, tuple)) or not all(
        isinstance(c, (list, tuple)) and all(isinstance(a, (str, int)) for a in c) for c in clauses
    ):
        raise CommandExecutionError("clauses must be a list of argument lists")
    if not clauses:
        return True
    __context__.pop(_CACHE, None)  # unknown effect: the next reader reads again
    try:
        _db().transact([tuple(str(a) for a in c) for c in clauses])
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    return True


def version():
    """
    The Open vSwitch version.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.version
    """
    try:
        return _db().version()
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def _plain(obj):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in vars(obj).items()}


def bridges():
    """
    Every bridge as a plain dict, by name.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.bridges
    """
    return {name: _plain(br) for name, br in snapshot(refresh=True).bridges.items()}


def ports(bridge=None):
    """
    Every port (of ``bridge`` when given) as a plain dict, by name.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ports
        salt '*' ovs.ports br0
    """
    snap = snapshot(refresh=True)
    return {n: _plain(p) for n, p in snap.ports.items() if bridge is None or p.bridge == bridge}


def interfaces(bridge=None):
    """
    Every interface (of ``bridge`` when given) as a plain dict, by name.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.interfaces
        salt '*' ovs.interfaces br0
    """
    snap = snapshot(refresh=True)
    out = {}
    for name, iface in snap.interfaces.items():
        port = snap.ports.get(iface.port) if iface.port else None
        if bridge is None or (port is not None and port.bridge == bridge):
            out[name] = _plain(iface)
    return out


def record(table, record):
    """
    One record of any OVSDB table, every column as a plain value.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.record Open_vSwitch .
        salt '*' ovs.record Bridge br0
    """
    try:
        return _db().get_record(table, record)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


# --- reconcile: used by the ovs_* and openvswitch_* states ----------------------------------


def _reconcile(plan, test, names=None, cache=False):
    """Diff against the cached snapshot and apply in one transaction.

    ``cache=True`` (state runs, whose ``__context__`` lives for one run) reuses the run's
    snapshot; otherwise OVSDB is read afresh. ``names`` are the bridges/ports/interfaces the
    plan looks at (``None``: the plan reads
    something else, and a write drops the cache). If the transaction fails, OVS may have
    changed behind the cache: read again, re-plan and retry once. Returns
    ``{"changes": ..., "clauses": ...}``.
    """
    try:
        snap = snapshot(refresh=not cache, names=names) if names is not None else None
        clauses, changes = plan(snap)
        if clauses and not test:
            try:
                _db().transact(clauses)
            except SaltmeshError:
                __context__.pop(_CACHE, None)
                snap = snapshot(refresh=True) if names is not None else None
                clauses, changes = plan(snap)
                _db().transact(clauses)
            if names is None:
                __context__.pop(_CACHE, None)
            else:
                _written(clauses, snap)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    return {"changes": changes, "clauses": [list(c) for c in clauses]}


def ensure_port(name, bridge, type="", test=False, cache=False, **fields):  # pylint: disable=redefined-builtin
    """
    Bring port ``name`` on ``bridge`` to the given fields in one transaction (see the
    ``ovs_port.present`` state for the fields). Returns the changes and the clauses run, and
    for a port already in sync the ``errors`` vswitchd reports on its interfaces.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ensure_port gre-0a000002 br0 type=gre options='{remote_ip: 10.0.0.2}' protected=True
    """
    fields = {k: v for k, v in fields.items() if not k.startswith("__")}
    if fields.get("trunks") is not None and isinstance(fields["trunks"], list):
        fields["trunks"] = tuple(fields["trunks"])
    if fields.get("interfaces") is not None and isinstance(fields["interfaces"], list):
        fields["interfaces"] = tuple(fields["interfaces"])
    try:
        spec = PortSpec(name=name, bridge=bridge, type=type, **fields)
    except TypeError as err:
        raise CommandExecutionError(f"port {name}: {err}") from None
    names = {name, bridge, *spec.members}
    seen = {}

    def plan(snap):
        seen["snap"] = snap
        return ovs_port.diff_port(spec, snap, assume_bridge=test)

    out = _reconcile(plan, test, names, cache)
    snap = seen.get("snap")
    if not out["changes"] and snap is not None:  # in sync: pass on what vswitchd reports
        out["errors"] = {
            m: snap.interfaces[m].error
            for m in spec.members
            if m in snap.interfaces and snap.interfaces[m].error
        }
    return out


def remove_port(name, bridge=None, test=False, cache=False):
    """
    Delete port ``name`` (only from ``bridge`` when given).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.remove_port gre-0a000002
    """
    return _reconcile(
        lambda snap: ovs_port.remove_port(name, snap, bridge=bridge),
        test,
        {name, bridge} - {None},
        cache,
    )


def ensure_bridge(name, test=False, cache=False, **fields):
    """
    Bring bridge ``name`` to the given columns in one transaction (see ``ovs_bridge.present``).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ensure_bridge br0 datapath_type=netdev fail_mode=secure
    """
    fields = {k: v for k, v in fields.items() if not k.startswith("__")}
    allowed = {
        "datapath_type",
        "fail_mode",
        "protocols",
        "other_config",
        "external_ids",
        "parent",
        "vlan",
    }
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise CommandExecutionError(f"bridge {name}: unknown argument(s) {', '.join(unknown)}")
    names = {name, fields.get("parent")} - {None}
    return _reconcile(
        lambda snap: ovs_bridge.diff_bridge(name, snap, assume_parent=test, **fields),
        test,
        names,
        cache,
    )


def remove_bridge(name, test=False, cache=False):
    """
    Delete bridge ``name`` (real or fake) and its ports.

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.remove_bridge br0
    """
    return _reconcile(lambda snap: ovs_bridge.remove_bridge(name, snap), test, {name}, cache)


def ensure_record(table, record, data, test=False):
    """
    Set columns of any record; map columns key by key (a key set to ``None`` is removed).

    CLI Example:

    .. code-block:: bash

        salt '*' ovs.ensure_record Open_vSwitch . '{other_config: {foo: bar}}'
    """
    if not isinstance(data, dict) or not data:
        raise CommandExecutionError(
            f"{table} {record}: data must be a non-empty mapping of columns"
        )

    def plan(_snap):
        try:
            have = _db().get_record(table, record)
        except SaltmeshError as err:
            if not (test and table in _CREATED_BY_STATES and "no row" in str(err)):
                raise SpecError(f"{table} {record}: {err}") from None
            # test mode: an earlier state of the run may create the record; plan from empty
            have = {
                c: {} if isinstance(v, dict) else [] if isinstance(v, list) else None
                for c, v in data.items()
            }
        return ovs_record.diff_record(table, record, data, have)

    return _reconcile(plan, test)
