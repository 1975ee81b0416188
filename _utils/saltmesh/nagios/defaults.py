"""The checks every monitored host gets by default (pure): the one copy of their names.

The Nagios side (:data:`SERVICES`, the default of ``saltmesh:nagios:default_services``: a
service on every host and container) and the NRPE side (:data:`NRPE_COMMANDS`, defined by
``nagios.nrpe`` unless ``saltmesh:nagios:nrpe:commands`` redefines or drops them) are both
built from the command names below, so they cannot drift apart.
"""

from __future__ import annotations

PLUGIN_DIR = "/usr/lib/nagios/plugins"  # Debian's monitoring-plugins

CHECK_SALT_MINION = "check_salt_minion"
CHECK_USERS = "check_users"

# NRPE command name -> command line, sorted by name (as ``nrpe:commands`` entries are).
# check_procs counts the processes whose arguments contain "/salt-minion": the program path
# of every salt-minion (Debian package, onedir, virtualenv: ``python3 /usr/bin/salt-minion``),
# which neither ``journalctl -u salt-minion`` nor an editor on /etc/salt/minion has. CRITICAL
# below one. check_procs leaves itself out, and through NRPE it counts 0 when no salt-minion
# runs (tests/integration/nagios/test_running.py).
NRPE_COMMANDS: tuple[tuple[str, str], ...] = (
    (CHECK_SALT_MINION, f"{PLUGIN_DIR}/check_procs -c 1: --ereg-argument-array=/salt-minion"),
    (CHECK_USERS, f"{PLUGIN_DIR}/check_users -w 5 -c 10"),
)

# Service description -> directives, sorted, in the shape of a ``servers:<name>:services``
# entry. ``check_nrpe`` is Debian's command (nagios-nrpe-plugin, in the default packages).
SERVICES: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = (
    ("Salt minion", (("check_command", f"check_nrpe!{CHECK_SALT_MINION}"),)),
    ("Users", (("check_command", f"check_nrpe!{CHECK_USERS}"),)),
)
