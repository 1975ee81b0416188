"""
nagios_nrpe: the NRPE include file saltmesh owns (``allowed_hosts`` from the Nagios servers in
pillar, ``command[...]`` lines: the default ``check_salt_minion`` and ``check_users`` with
``saltmesh:nagios:nrpe:commands`` over them), reloaded only on change.

.. code-block:: yaml

    saltmesh-nrpe-config:
      nagios_nrpe.managed:
        - name: /etc/nagios/nrpe.d/saltmesh.cfg
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret

__virtualname__ = "nagios_nrpe"


def __virtual__():
    if "saltmesh_nagios.nrpe_apply" in __salt__:
        return __virtualname__
    return (False, "the saltmesh_nagios execution module is not available")


def managed(name):
    """
    Write the NRPE include file (its path comes from ``saltmesh:nagios:nrpe:include_dir`` and
    ``file``; ``name`` is only the state's label), then reload NRPE once if it changed and
    confirm the daemon is still alive. NRPE exits on a bad config at reload and has no check
    mode, so every value is checked before the file is written.

    ``changes``: ``{"allowed_hosts": {"old", "new"}, "commands": {"added": [...],
    "removed": [...], "updated": {...}}}``. Every failure, a bad pillar included, is
    ``result: False`` with the reason (pillar problems each with their path).

    .. code-block:: yaml

        saltmesh-nrpe-config:
          nagios_nrpe.managed:
            - name: /etc/nagios/nrpe.d/saltmesh.cfg
    """
    test = __opts__["test"]
    return stateret.from_call(
        name,
        lambda: __salt__["saltmesh_nagios.nrpe_apply"](test=test),
        test=test,
        expected=(CommandExecutionError,),
    )
