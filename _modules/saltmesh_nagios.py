"""
saltmesh_nagios: Nagios objects and NRPE config rendered from the ``servers`` pillar.

Thin wrapper over ``saltmesh.nagios`` (pure rendering and pre-checks) and
``saltmesh.nagios_deploy`` (stage, ``nagios -v``, swap, one reload, confirm). Settings come from
the ``saltmesh:nagios`` pillar (Debian 12 defaults); keyword arguments override them.

CLI Example:

.. code-block:: bash

    salt 'nagios*' saltmesh_nagios.plan
"""

from salt.exceptions import CommandExecutionError

from saltmesh import inventory
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.nagios import daemon as nagios_daemon
from saltmesh.nagios import deploy as nagios_deploy
from saltmesh.nagios import nrpe as nagios_nrpe
from saltmesh.nagios import settings as nagios_settings

__virtualname__ = "saltmesh_nagios"

_OVERRIDES = ("main_config", "conf_dir", "binary", "reload", "service", "pid_file", "timeout")


def __virtual__():
    return __virtualname__


def _pillar(pillar=None, **overrides):
    data = dict(pillar if pillar is not None else __pillar__)
    extra = {k: v for k, v in overrides.items() if k in _OVERRIDES and v is not None}
    if extra:
        saltmesh = dict(data.get("saltmesh") or {})
        saltmesh["nagios"] = {**(saltmesh.get("nagios") or {}), **extra}
        data["saltmesh"] = saltmesh
    return data


def _settings(data):
    try:
        return nagios_settings.parse_settings(data)
    except PillarError as err:
        raise CommandExecutionError(str(err)) from None


def settings(**overrides):
    """
    Return the effective ``saltmesh:nagios`` settings (defaults filled in, secrets left out).
    The SLS files read their paths from here, so the defaults live in one place.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.settings
    """
    return _settings(_pillar(**overrides)).as_dict()


def render(**overrides):
    """
    Return the files saltmesh would write into the conf dir, as ``{file name: text}``.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.render
    """
    data = _pillar(**overrides)
    try:
        return {
            k: v.decode() for k, v in nagios_deploy.plan(_settings(data), data).rendered.items()
        }
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def plan(**overrides):
    """
    Compare the rendered objects with the files in the conf dir: object-level changes and the
    files that would be written or removed. Touches nothing.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.plan
    """
    data = _pillar(**overrides)
    try:
        p = nagios_deploy.plan(_settings(data), data)
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    return {"changes": p.changes, "write": p.writes, "remove": p.removes, "objects": p.objects}


def apply(test=False, **overrides):
    """
    Render, pre-check, validate with ``nagios -v`` on a scratch copy, swap the files in, reload
    Nagios once and confirm it survived. Returns ``{result, changes, comment, validator}``;
    ``result`` is None with ``test=True`` when something would change.

    test
        Only plan and validate; nothing live is touched.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.apply test=True
    """
    data = _pillar(**overrides)
    try:
        return nagios_deploy.apply(_settings(data), data, test=bool(test)).as_dict()
    except (SaltmeshError, OSError) as err:
        return {"result": False, "changes": {}, "comment": str(err), "validator": []}


def validate(**overrides):
    """
    Run ``nagios -v`` on the configuration as it would be after ``apply``. Returns
    ``{"ok": bool, "lines": [...]}``.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.validate
    """
    data = _pillar(**overrides)
    try:
        ok, lines = nagios_deploy.validate(nagios_deploy.plan(_settings(data), data))
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None
    return {"ok": ok, "lines": lines}


def daemon(**overrides):
    """
    PID and program start time of the running Nagios (``pid`` is None when it is not running).

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.daemon
    """
    try:
        return nagios_daemon.daemon_info(_settings(_pillar(**overrides)))
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def nrpe_render():
    """
    Return the NRPE include file saltmesh writes (``allowed_hosts`` and ``command[...]`` lines).

    CLI Example:

    .. code-block:: bash

        salt 'web*' saltmesh_nagios.nrpe_render
    """
    data = _pillar()
    try:
        inv = inventory.parse(data, external_hosts=nagios_nrpe.referenced_parents(data))
        return nagios_nrpe.render_nrpe(inv, _settings(data)).decode()
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def nrpe_apply(test=False):
    """
    Write the NRPE include file, then reload NRPE once if it changed and confirm it survived.

    test
        Only report what would change.

    CLI Example:

    .. code-block:: bash

        salt 'web*' saltmesh_nagios.nrpe_apply test=True
    """
    data = _pillar()
    try:
        return nagios_deploy.nrpe_apply(_settings(data), data, test=bool(test)).as_dict()
    except (SaltmeshError, OSError) as err:
        return {"result": False, "changes": {}, "comment": str(err), "validator": []}
