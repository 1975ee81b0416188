"""
Salt 3007's ``openvswitch`` execution module (removed in Salt 3008) on the saltmesh OVS core:
the same functions, arguments and answers as Salt 3007.15's, with its bugs fixed (docs/ovs.md).
Under Salt 3007, once synced, it is loaded instead of Salt's own. Reads are ovs-vsctl queries
on ``saltmesh:ovsdb``; writes are one transaction under the host lock.

CLI Example:

.. code-block:: bash

    salt '*' openvswitch.bridge_list
"""

import logging

from salt.exceptions import ArgumentValueError, CommandExecutionError

from saltmesh import options
from saltmesh.containers.attach import Attacher
from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.ovs import module3007 as m3007
from saltmesh.ovs.ovsdb import Ovsdb, virtual
from saltmesh.ovs.reconcile import Reconciler

log = logging.getLogger(__name__)

__virtualname__ = "openvswitch"


def __virtual__():
    return virtual(__virtualname__)


def _config():
    return options.of_module(globals())


def _query(*args):
    """ovs-vsctl's stdout for ``args``, or ``None`` when it fails (logged at debug)."""
    try:
        return Ovsdb.from_options(_config()).run(*(str(a) for a in args))
    except SaltmeshError as err:
        log.debug("openvswitch: %s", err)
        _failed(err)
        return None


def _failed(err):
    """Exit status of the call (salt-call's) is that of the failed ovs-vsctl, as under 3007."""
    __context__["retcode"] = err.returncode if isinstance(err, CommandError) else 1


def _lines(*args):
    out = _query(*args)
    return False if out is None else m3007.lines(out)


def _write(clauses):
    """Run ``clauses`` as one transaction under the host lock: ``None``, or the error text
    (ovs-vsctl's stderr, as 3007 returned it)."""
    try:
        Reconciler.from_options(_config(), __context__, __opts__["cachedir"]).transact(clauses)
    except (SaltmeshError, OSError) as err:
        ovs_said = isinstance(err, CommandError)  # else the lock: worth a warning
        log.log(logging.DEBUG if ovs_said else logging.WARNING, "openvswitch: %s", err)
        _failed(err)
        return err.stderr if ovs_said else str(err)
    return None


def _ok(clauses):
    return _write(clauses) is None


def bridge_list():
    """
    Lists all existing real and fake bridges: a list (maybe empty), False on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.bridge_list
    """
    return _lines("list-br")


def bridge_exists(br):
    """
    Tests whether bridge exists as a real or fake bridge: True or False.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.bridge_exists br0
    """
    return _query("br-exists", br) is not None


def bridge_create(br, may_exist=True, parent=None, vlan=None):
    """
    Creates a new bridge.

    may_exist
        If False, creating a bridge that exists returns False.
    parent
        The parent bridge of a fake bridge (``vlan`` is then required).
    vlan
        The VLAN of a fake bridge (``parent`` is then required).

    Returns: True on success, else False. Raises ArgumentValueError when only one of
    ``parent``/``vlan`` is given.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.bridge_create br0
        salt '*' openvswitch.bridge_create br0.100 parent=br0 vlan=100
    """
    try:
        clauses = m3007.add_br(br, may_exist, parent, vlan)
    except ValueError as err:
        raise ArgumentValueError(str(err)) from None
    return _ok(clauses)


def bridge_delete(br, if_exists=True):
    """
    Deletes bridge and all of its ports. True on success, else False.

    if_exists
        If False, deleting a bridge that does not exist returns False.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.bridge_delete br0
    """
    return _ok(m3007.del_br(br, if_exists))


def bridge_to_parent(br):
    """
    Returns the parent bridge of a bridge: its own name for a real bridge, False when it
    does not exist.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.bridge_to_parent br0
    """
    out = _query("br-to-parent", br)
    return False if out is None else out.strip()


def bridge_to_vlan(br):
    """
    Returns the VLAN ID of a bridge: 0 for a real bridge, False when it does not exist.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.bridge_to_vlan br0
    """
    out = _query("br-to-vlan", br)
    return False if out is None else int(out)


def port_add(br, port, may_exist=False, internal=False):
    """
    Creates on bridge a new port named port. True on success, else False.

    may_exist
        If False, creating a port that exists returns False.
    internal
        Make its interface ``internal``.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_add br0 8080
    """
    return _ok(m3007.add_port(br, port, may_exist, internal))


def port_remove(br, port, if_exists=True):
    """
    Deletes port. True on success, else False.

    br
        Empty or None: from whatever bridge holds the port.
    if_exists
        If False, deleting a port that does not exist returns False.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_remove br0 8080
    """
    if not port:
        return False
    return _ok(m3007.del_port(br, port, if_exists))


def port_list(br):
    """
    Lists all of the ports within bridge: a list (maybe empty), False on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_list br0
    """
    return _lines("list-ports", br)


def port_get_tag(port):
    """
    Lists tags of the port as ovs-vsctl prints them (``["10"]``, ``["[]"]`` for none), False
    on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_get_tag tap0
    """
    return _lines("get", "port", port, "tag")


def interface_get_options(port):
    """
    Port's interface's optional parameters as ovs-vsctl prints them
    (``['{key="5", remote_ip="10.0.0.2"}']``), False on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.interface_get_options tap0
    """
    return _lines("get", "interface", port, "options")


def interface_get_type(port):
    """
    Type of port's interface as ovs-vsctl prints it (``["gre"]``, ``['""']`` for a system
    interface), False on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.interface_get_type tap0
    """
    return _lines("get", "interface", port, "type")


def port_create_vlan(br, port, id, internal=False):  # pylint: disable=redefined-builtin
    """
    Isolate VM traffic using VLANs: port ``port`` of ``br`` tagged ``id`` (added, or retagged
    when it is already a port of ``br``). True on success, else False.

    port
        The port name; unless ``internal``, its network device must exist.
    id
        The VLAN, 0 to 4095.
    internal
        Make its interface ``internal``.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_create_vlan br0 tap0 100
    """
    vlan = m3007.in_range(id, m3007.VLAN_RANGE)
    if vlan is None:
        return False
    listed = port_list(br)
    if listed is False:
        return False
    try:
        # the netdev where ovs-vswitchd runs (saltmesh:netns), else here
        netns = _config()("saltmesh:netns") or None
        if not internal and str(port) not in Attacher(None, netns).links:
            return False
    except SaltmeshError as err:
        log.warning("openvswitch: %s", err)
        return False
    return _ok(m3007.vlan_port(br, port, vlan, internal, str(port) in listed))


def _tunnel(kind, br, port, id, bounds, remote, dst_port=None):  # pylint: disable=redefined-builtin
    key = m3007.in_range(id, bounds)
    options = m3007.tunnel_options(remote, key, dst_port) if key is not None else None
    if options is None:
        return False
    listed = port_list(br)
    if listed is False:
        return False
    return _ok(m3007.tunnel_port(br, port, kind, options, str(port) in listed))


def port_create_gre(br, port, id, remote):  # pylint: disable=redefined-builtin
    """
    A GRE tunnel port ``port`` on ``br`` (set in place when already a port of ``br``): True
    on success, else False.

    id
        The tunnel key, 0 to 2**32-1.
    remote
        The remote endpoint's IP address.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_create_gre br0 gre1 5001 192.168.1.10
    """
    return _tunnel("gre", br, port, id, m3007.GRE_KEY_RANGE, remote)


def port_create_vxlan(br, port, id, remote, dst_port=None):  # pylint: disable=redefined-builtin
    """
    A VXLAN tunnel port ``port`` on ``br`` (set in place when already a port of ``br``).
    True on success, else False.

    id
        The tunnel key, 0 to 2**64-1.
    remote
        The remote endpoint's IP address.
    dst_port
        The UDP port (1 to 65535; None or 0: OVS's default).

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.port_create_vxlan br0 vx1 5001 192.168.1.10 8472
    """
    return _tunnel("vxlan", br, port, id, m3007.VXLAN_KEY_RANGE, remote, dst_port)


def db_get(table, record, column, if_exists=False):
    """
    Gets a column's value for a specific record: sets as lists, maps as dicts, uuids as
    ``["uuid", "<uuid>"]``, an empty optional column as ``[]``.

    if_exists
        If True, a missing record gives None instead of an error.

    Returns: The column's value. Raises CommandExecutionError (ovs-vsctl's message) on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.db_get Port br0 vlan_mode
    """
    try:
        out = Ovsdb.from_options(_config()).run(
            *m3007.db_get_args(str(table), str(record), str(column), if_exists)
        )
    except CommandError as err:
        raise CommandExecutionError(err.stderr) from None
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    return m3007.db_get_value(out)


def db_set(table, record, column, value, if_exists=False):
    """
    Sets a column's value for a specific record.

    value
        The value: a string, number or boolean; a list for a set column, a dict for a map
        column.
    if_exists
        If True, a missing record is not an error.

    Returns: None on success and an error message on failure.

    CLI Example:

    .. code-block:: bash

        salt '*' openvswitch.db_set Interface br0 mac 02:03:04:05:06:07
    """
    try:
        clause = m3007.db_set_clause(str(table), str(record), str(column), value, if_exists)
    except SaltmeshError as err:
        return str(err)
    return _write([clause])
