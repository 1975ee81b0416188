"""
Execution module for the OVS tunnel mesh: this minion's planned share and its actual ports.

The plan comes from the ``servers`` and ``saltmesh:mesh`` pillar through the shared planner
(:mod:`saltmesh.mesh.planner`), the same one the ``mesh`` runner uses.

CLI Example:

.. code-block:: bash

    salt 'docker*' ovs_mesh.plan
    salt 'docker*' ovs_mesh.status
"""

from salt.exceptions import CommandExecutionError

from saltmesh import inventory
from saltmesh.errors import SaltmeshError
from saltmesh.mesh import planner, sync
from saltmesh.ovs import views

__virtualname__ = "ovs_mesh"


def __virtual__():
    if "ovs.snapshot" not in __salt__:
        return False, "ovs_mesh needs the ovs execution module (ovs-vsctl not found?)"
    return __virtualname__


def _plan(host=None):
    try:
        inv = inventory.parse(__pillar__)
        host = host or planner.host_for_minion(inv, __opts__["id"])
        return planner.plan_host(inv, host)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def plan(host=None):
    """
    Return the tunnels this minion's bridge must carry, as computed from pillar.

    host
        The docker host's name in the ``servers`` pillar. Default: the docker host whose
        ``minion_id`` is this minion's id.

    CLI Example:

    .. code-block:: bash

        salt 'docker01' ovs_mesh.plan
    """
    return _plan(host).to_dict()


def status(host=None):
    """
    Return the actual tunnel ports of this minion's mesh, with link and BFD state, and with
    ``topology: flow`` the rules of the mesh's cookie on the tunnel bridge (``flows``).

    CLI Example:

    .. code-block:: bash

        salt 'docker*' ovs_mesh.status
    """
    hp = _plan(host)
    snap = __salt__["ovs.snapshot"](refresh=True)
    ports = {
        name: {"peer": peer, **views.port_status(snap, name)}
        for name, peer in sorted(sync.owned_ports(snap, hp.mesh).items())
    }
    out = {"host": hp.host, "bridge": hp.bridge, "mesh": hp.mesh, "ports": ports}
    if hp.flow is not None:
        out["flows"] = __salt__["ovs.flows"](hp.flow.bridge, hp.flow.cookie)
    return out
