"""
saltmesh_nagios: Nagios objects and NRPE config rendered from the ``servers`` pillar.

Thin wrapper over ``saltmesh.nagios``: ``deploy`` (plan, stage, ``nagios -v``, swap, one reload,
confirm), ``nrpe`` and ``daemon``. Settings come from the ``saltmesh:nagios`` pillar (Debian 12
defaults); keyword arguments override them.

CLI Example:

.. code-block:: bash

    salt 'nagios*' saltmesh_nagios.plan
"""

import contextlib

from salt.exceptions import CommandExecutionError

try:
    from saltmesh.errors import PillarError, SaltmeshError
    from saltmesh.nagios import daemon as nagios_daemon
    from saltmesh.nagios import deploy as nagios_deploy
    from saltmesh.nagios import nrpe as nagios_nrpe
    from saltmesh.nagios import settings as nagios_settings

    HAS_CORE = True
except ImportError:  # pragma: no cover  (core not synced yet)
    HAS_CORE = False

__virtualname__ = "saltmesh_nagios"


def __virtual__():
    if not HAS_CORE:
        return (False, "saltmesh_nagios needs the saltmesh core (saltutil.sync_utils)")
    return __virtualname__


@contextlib.contextmanager
def _raising():
    """Turn the core's errors into CommandExecutionError."""
    try:
        yield
    except SaltmeshError as err:
        raise CommandExecutionError(str(err)) from None


def _parsed(overrides):
    """(pillar with the overrides, parsed settings); PillarError on bad pillar."""
    data = nagios_settings.with_overrides(__pillar__, overrides)
    return data, nagios_settings.parse_settings(data)


def _load(overrides):
    """(pillar with the overrides, parsed settings); CommandExecutionError on bad pillar."""
    with _raising():
        return _parsed(overrides)


def _failed(err):
    """The ``apply`` answer for a failure before anything was touched."""
    return nagios_deploy.Outcome(False, {}, str(err)).as_dict()


def _precheck(check, s, data):
    """The pillar checks of a state, before its SLS installs or writes anything."""
    if check == "nrpe":
        nagios_nrpe.render_pillar(s, data)
    elif check == "objects":
        try:
            nagios_deploy.plan(s, data)  # reads the Nagios configuration, writes nothing
        except PillarError:
            raise
        except (SaltmeshError, OSError):
            pass  # the configuration cannot be read yet (say, nagios4 not installed)


def settings(quiet=False, check=None, **overrides):
    """
    Return the effective ``saltmesh:nagios`` settings (defaults filled in, secrets left out).
    The SLS files read their paths from here, so the defaults live in one place.

    quiet
        On an invalid pillar return ``{"invalid": "<the problems, each with its pillar path>"}``
        instead of raising. The SLS files use it: a bad pillar then fails one state, naming the
        path, before anything is installed or written, instead of breaking the render of the
        whole SLS.
    check
        With ``quiet``, check more of the pillar the way a state will: ``objects`` (every
        ``servers`` entry as ``nagios_objects.managed`` checks it, against the Nagios
        configuration when it can be read) or ``nrpe`` (as ``nagios_nrpe.managed`` does).

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.settings
        salt 'nagios*' saltmesh_nagios.settings quiet=True check=objects
    """
    if check not in (None, "objects", "nrpe"):
        raise CommandExecutionError(f"check must be objects or nrpe, not {check!r}")
    if quiet:
        try:
            data, s = _parsed(overrides)
            _precheck(check, s, data)
            return s.as_dict()
        except PillarError as err:
            return {"invalid": str(err)}
    return _load(overrides)[1].as_dict()


def render(**overrides):
    """
    Return the files saltmesh would write into the conf dir, as ``{file name: text}``.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.render
    """
    data, s = _load(overrides)
    with _raising():
        return nagios_deploy.plan(s, data).texts()


def plan(**overrides):
    """
    Compare the rendered objects with the files in the conf dir: object-level changes and the
    files that would be written or removed. Touches nothing.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.plan
    """
    data, s = _load(overrides)
    with _raising():
        return nagios_deploy.plan(s, data).summary()


def apply(test=False, **overrides):
    """
    Render, pre-check, validate with ``nagios -v`` on a scratch copy, swap the files in, reload
    Nagios once and confirm it survived. Returns ``{result, changes, comment, validator}``;
    ``result`` is None with ``test=True`` when something would change. Failures, a bad pillar
    included, are ``result: False`` with the reason (each pillar problem with its path), never
    an exception.

    test
        Only plan and validate; nothing live is touched.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.apply test=True
    """
    try:
        data, s = _parsed(overrides)
        return nagios_deploy.apply(s, data, test=bool(test)).as_dict()
    except (SaltmeshError, OSError) as err:
        return _failed(err)


def validate(**overrides):
    """
    Run ``nagios -v`` on the configuration as it would be after ``apply``. Returns
    ``{"ok": bool, "lines": [...]}``.

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.validate
    """
    data, s = _load(overrides)
    with _raising():
        ok, lines = nagios_deploy.validate(nagios_deploy.plan(s, data))
    return {"ok": ok, "lines": lines}


def daemon(**overrides):
    """
    PID and program start time of the running Nagios (``pid`` is None when it is not running).

    CLI Example:

    .. code-block:: bash

        salt 'nagios*' saltmesh_nagios.daemon
    """
    with _raising():
        return nagios_daemon.daemon_info(_load(overrides)[1])


def nrpe_render():
    """
    Return the NRPE include file saltmesh writes (``allowed_hosts`` and ``command[...]`` lines).

    CLI Example:

    .. code-block:: bash

        salt 'web*' saltmesh_nagios.nrpe_render
    """
    data, s = _load({})
    with _raising():
        return nagios_nrpe.render_pillar(s, data).decode()


def nrpe_apply(test=False):
    """
    Write the NRPE include file, then reload NRPE once if it changed and confirm it survived.

    test
        Only report what would change.

    CLI Example:

    .. code-block:: bash

        salt 'web*' saltmesh_nagios.nrpe_apply test=True
    """
    try:
        data, s = _parsed({})
        return nagios_deploy.nrpe_apply(s, data, test=bool(test)).as_dict()
    except (SaltmeshError, OSError) as err:
        return _failed(err)
