"""
nagios_objects: Nagios host, hostgroup and service definitions from the ``servers`` pillar
(every host with ``saltmesh:nagios:default_services``), validated with ``nagios -v`` before
they go live.

The state owns one directory (``saltmesh:nagios:conf_dir``, default
``/etc/nagios4/conf.d/saltmesh``): it writes one file per host plus ``hostgroups.cfg`` and
``slack.cfg``, and removes only files it wrote that are no longer rendered. A change is
staged, checked by ``nagios -v`` on a scratch copy of the configuration, swapped in, and
followed by one reload; a run with nothing to change touches nothing and reloads nothing.

.. code-block:: yaml

    saltmesh-nagios-objects:
      nagios_objects.managed:
        - name: /etc/nagios4/conf.d/saltmesh
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret

__virtualname__ = "nagios_objects"


def __virtual__():
    if "saltmesh_nagios.apply" in __salt__:
        return __virtualname__
    return (False, "the saltmesh_nagios execution module is not available")


def managed(name, main_config=None, binary=None, reload=None, service=None, pid_file=None):
    """
    Render the Nagios objects of every server in the ``servers`` pillar into ``name`` (the
    directory the pack owns), validate, activate and reload Nagios once.

    name
        The directory saltmesh owns; it must sit inside a ``cfg_dir`` of the main config.
    main_config, binary, reload, service, pid_file
        Override the ``saltmesh:nagios`` pillar keys of the same names. ``reload`` is
        ``systemd`` (``systemctl reload``), ``signal`` (SIGHUP to the pid in ``pid_file``,
        default the main config's ``lock_file``) or ``none``.

    ``changes`` is ``{"added": [...], "removed": [...], "updated": {object: {directive:
    {"old", "new"}}}}`` with objects named ``host web01``, ``service web01/HTTP``...

    Every failure, a bad ``saltmesh:nagios`` pillar included, is ``result: False`` with the
    reason in the comment (pillar problems each with their path), never a traceback.

    .. code-block:: yaml

        saltmesh-nagios-objects:
          nagios_objects.managed:
            - name: /etc/nagios4/conf.d/saltmesh
            - reload: systemd
    """
    return stateret.from_call(
        name,
        lambda: __salt__["saltmesh_nagios.apply"](
            test=__opts__["test"],
            conf_dir=name,
            main_config=main_config,
            binary=binary,
            reload=reload,
            service=service,
            pid_file=pid_file,
        ),
        test=__opts__["test"],
        expected=(CommandExecutionError,),
    )
