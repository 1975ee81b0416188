"""What pillar text may become in a Nagios object (pure): names, service directives, values.

One set of rules for the settings (``saltmesh:nagios:default_services``, checked as soon as the
pillar is read, so ``nagios.nrpe`` refuses them too) and the object builder (every ``servers``
entry, where the main config may add to :data:`DEFAULT_ILLEGAL_CHARS`).

A value is printable ASCII without ``;``, ``#`` or backslash (they would end the value early or
start a new directive), without a backquote and without a ``$`` outside a Nagios macro.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DEFAULT_ILLEGAL_CHARS = "`~!$%^&*|'\"<>?,()="

_FORBIDDEN_VALUE = re.compile(r"[\x00-\x1f\x7f;#\\]")
# A '$' in a value must start a Nagios macro ($ARG1$, $USER1$, $HOSTADDRESS$, $_HOSTFOO$,
# on-demand $SERVICESTATE:web01:HTTP$); '$(', '${', '$$' and a lone '$' are refused, and so
# is a backquote: they have no use in a directive and a shell would run them.
_MACRO = re.compile(r"\$[A-Z0-9_]+(?::[A-Za-z0-9_. -]*)*\$")

# Directives a pillar service may set (Nagios 4 service object, minus identity and templating
# keys the renderer owns). A misspelled directive is fatal for Nagios, so it is caught here.
SERVICE_DIRECTIVES = frozenset(
    """use display_name servicegroups is_volatile check_command initial_state
    max_check_attempts check_interval retry_interval active_checks_enabled
    passive_checks_enabled check_period obsess_over_service check_freshness
    freshness_threshold event_handler event_handler_enabled low_flap_threshold
    high_flap_threshold flap_detection_enabled flap_detection_options process_perf_data
    retain_status_information retain_nonstatus_information notification_interval
    first_notification_delay notification_period notification_options notifications_enabled
    contacts contact_groups stalking_options notes notes_url action_url icon_image
    icon_image_alt parallelize_check normal_check_interval retry_check_interval""".split()  # noqa: SIM905
)


def name_problem(
    value: str, what: str, illegal: Iterable[str] = DEFAULT_ILLEGAL_CHARS
) -> str | None:
    """Why ``value`` cannot name an object (``what``: "host name", ...), or None."""
    illegal = set(illegal)
    bad = sorted({c for c in value if c in illegal})
    if not value or value != value.strip():
        return f"{what} {value!r} is empty or has leading/trailing spaces"
    if bad:
        return f"{what} {value!r} contains characters Nagios rejects: {''.join(bad)}"
    if _FORBIDDEN_VALUE.search(value):
        return f"{what} {value!r} contains ';', '#', '\\' or control characters"
    if not (value.isascii() and value.isprintable()):
        return f"{what} {value!r} contains non-ASCII characters"
    return None


def value_problem(value: str) -> str | None:
    """Why ``value`` cannot be a directive's value, or None."""
    if _FORBIDDEN_VALUE.search(value):
        return (
            f"{value!r} contains ';', '#', '\\' or a line break/control character, which "
            "would end or inject Nagios directives"
        )
    if not (value.isascii() and value.isprintable()):
        return f"{value!r} contains non-ASCII characters"
    if "`" in value or "$" in _MACRO.sub("", value):
        return (
            f"{value!r} contains a backquote or a '$' that does not start a Nagios macro "
            "($ARG1$, $USER1$...)"
        )
    return None


def service_directive_problem(key: str, value: str) -> str | None:
    """Why ``key: value`` cannot be a directive of a pillar service, or None."""
    if key not in SERVICE_DIRECTIVES:
        return f"unknown or reserved service directive {key!r}"
    return value_problem(value)
