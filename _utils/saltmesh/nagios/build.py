"""Nagios objects from the inventory, with every pre-check ``nagios -v`` cannot word well (pure).

Every pillar value that reaches a directive is checked first (the rules live in
:mod:`saltmesh.nagios.directives`): printable ASCII, no ``;``, ``#`` or backslash (they would
end the value early or start a new directive), no backquote and no ``$`` outside a Nagios macro;
object names free of Nagios' ``illegal_object_name_chars`` (the Debian default set always, plus
whatever the main config adds), templates that exist, parents that exist in the generated set
or the rest of the Nagios configuration.

Objects come out in canonical order, sorted by (file, kind, name): one file per host (with its
services: ``saltmesh:nagios:default_services`` merged with its own), plus ``hostgroups.cfg`` and
``slack.cfg``. Inside an object the identity directive(s) come first, then the rest
alphabetically; set-like values (``parents``, ``hostgroups``, ``contacts``...) are deduplicated
and sorted, ``use`` keeps the given order (the first template wins in Nagios).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from saltmesh.errors import PillarError
from saltmesh.inventory import Inventory, Server
from saltmesh.inventory.reader import Reader
from saltmesh.nagios.directives import (  # noqa: F401  (SERVICE_DIRECTIVES: was defined here)
    DEFAULT_ILLEGAL_CHARS,
    SERVICE_DIRECTIVES,
    name_problem,
    service_directive_problem,
    value_problem,
)
from saltmesh.nagios.dns import DNS_COMMAND, DNS_COMMAND_LINE, DNS_FILE, dns_services
from saltmesh.nagios.objects import Known
from saltmesh.nagios.settings import Settings

SLACK_CONTACT = "saltmesh-slack"
SLACK_HOST_COMMAND = "saltmesh-notify-host-slack"
SLACK_SERVICE_COMMAND = "saltmesh-notify-service-slack"
# The only macros on the Slack command lines (see slack_command_lines).
SLACK_MACROS = frozenset(
    {"NOTIFICATIONTYPE", "HOSTNAME", "SERVICEDESC", "HOSTSTATE", "SERVICESTATE"}
    | {"LASTHOSTCHECK", "LASTSERVICECHECK"}
)

# Values that are sets in Nagios: order is meaningless, so they are sorted and deduplicated.
SET_DIRECTIVES = frozenset(
    {"parents", "hostgroups", "servicegroups", "contacts", "contact_groups", "members"}
)
# The directive(s) naming an object, rendered first.
IDENTITY = {
    "host": ("host_name",),
    "hostgroup": ("hostgroup_name",),
    "service": ("host_name", "service_description"),
    "command": ("command_name",),
    "contact": ("contact_name",),
}
KIND_ORDER = ("command", "contact", "hostgroup", "host", "service")


@dataclass(frozen=True)
class NagiosObject:
    kind: str
    name: str  # identity: host name, "host/description" for services, ...
    directives: tuple[tuple[str, str], ...]  # canonical order
    file: str

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"


def canonical(objects: Iterable[NagiosObject]) -> list[NagiosObject]:
    """Objects sorted by (file, kind, name): the order they are rendered in."""
    return sorted(objects, key=lambda o: (o.file, KIND_ORDER.index(o.kind), o.name))


class _Builder:
    def __init__(self, illegal_chars: str) -> None:
        self.r = Reader()
        # the defaults always, whatever the main config says: names reach the Slack command
        # line ($HOSTNAME$, $SERVICEDESC$), where a quote or a '$' must never appear
        self.illegal = set(DEFAULT_ILLEGAL_CHARS) | set(illegal_chars)
        self.objects: list[NagiosObject] = []

    def name(self, value: str, path: str, what: str) -> bool:
        problem = name_problem(value, what, self.illegal)
        if problem:
            self.r.bad(path, problem)
        return problem is None

    def value(self, value: str, path: str) -> bool:
        problem = value_problem(value)
        if problem:
            self.r.bad(path, problem)
        return problem is None

    def add(self, kind: str, name: str, file: str, directives: Mapping[str, str]) -> None:
        ident = IDENTITY[kind]
        ordered = [(k, directives[k]) for k in ident]
        ordered += sorted((k, v) for k, v in directives.items() if k not in ident and v != "")
        self.objects.append(NagiosObject(kind, name, tuple(ordered), file))


def _set_value(value: str) -> str:
    return ",".join(sorted({v.strip() for v in value.split(",") if v.strip()}))


def build_objects(
    inv: Inventory, settings: Settings, known: Known, illegal_chars: str = DEFAULT_ILLEGAL_CHARS
) -> list[NagiosObject]:
    """All objects saltmesh renders, in canonical order. Raises PillarError on any problem."""
    b = _Builder(illegal_chars)
    r = b.r
    slack = settings.slack.enabled
    defaults = _default_services(b, settings, known)
    dns = dns_services(inv)
    if dns:
        if settings.service_template not in known.service_templates:
            r.bad(
                "saltmesh:nagios:service_template",
                "unknown service template "
                f"{settings.service_template!r} (the DNS service of the docker hosts uses it)",
            )
        if DNS_COMMAND not in known.commands:
            b.add(
                "command",
                DNS_COMMAND,
                DNS_FILE,
                {"command_name": DNS_COMMAND, "command_line": DNS_COMMAND_LINE},
            )
    # templates the hosts and services name must exist (we do not generate templates)
    for name, server in inv.servers.items():
        path = f"servers:{name}"
        if name in known.hosts:
            r.bad(path, f"host {name!r} is already defined in {known.hosts[name]}")
        b.name(name, path, "host name")
        uses = server.use or (settings.host_template,)
        for i, tpl in enumerate(uses):
            if tpl not in known.host_templates:
                where = f"{path}:use:{i}" if server.use else "saltmesh:nagios:host_template"
                r.bad(where, f"unknown host template {tpl!r}")
        for i, group in enumerate(server.hostgroups):
            b.name(group, f"{path}:hostgroups:{i}", "hostgroup")
        directives = {
            "host_name": name,
            "address": server.address,
            "use": ",".join(uses),
            "parents": ",".join(sorted(server.parents)),
            "hostgroups": ",".join(sorted(server.hostgroups)),
            "contacts": SLACK_CONTACT if slack else "",
        }
        if server.alias is not None and b.value(server.alias, f"{path}:alias"):
            directives["alias"] = server.alias
        b.add("host", name, f"host_{name}.cfg", directives)
        extra = {}
        if name in dns:
            extra = {
                dns[name]["service_description"]: {**dns[name], "use": settings.service_template}
            }
        _services(b, server, settings, known, {**defaults, **extra})
    # hostgroups referenced but defined nowhere else
    groups = sorted({g for s in inv.servers.values() for g in s.hostgroups} - known.hostgroups)
    for group in groups:
        b.add("hostgroup", group, "hostgroups.cfg", {"hostgroup_name": group, "alias": group})
    if slack:
        _slack_objects(b, settings, known)
    if r.problems:
        raise PillarError(r.problems)
    return canonical(b.objects)


def _service(
    b: _Builder,
    desc: str,
    pairs: Iterable[tuple[str, str]],
    spath: str,
    settings: Settings,
    known: Known,
) -> dict[str, str] | None:
    """The checked directives of one service (its host left out); None if its name is bad."""
    r = b.r
    if not b.name(desc, spath, "service description"):
        return None
    directives = {"service_description": desc}
    for key, value in pairs:
        problem = service_directive_problem(key, value)
        if problem:
            r.bad(f"{spath}:{key}", problem)
            continue
        directives[key] = _set_value(value) if key in SET_DIRECTIVES else value.strip()
    uses = [u.strip() for u in directives.get("use", settings.service_template).split(",")]
    for tpl in uses:
        if tpl not in known.service_templates:
            r.bad(f"{spath}:use", f"unknown service template {tpl!r}")
    directives["use"] = ",".join(uses)
    return directives


def _default_services(b: _Builder, settings: Settings, known: Known) -> dict[str, dict[str, str]]:
    """``saltmesh:nagios:default_services``, checked once (not once per host)."""
    path = "saltmesh:nagios:default_services"
    out = {}
    for desc, pairs in settings.default_services:
        directives = _service(b, desc, pairs, f"{path}:{desc}", settings, known)
        if directives is not None:
            out[desc] = directives
    return out


def _services(
    b: _Builder,
    server: Server,
    settings: Settings,
    known: Known,
    defaults: Mapping[str, Mapping[str, str]],
) -> None:
    """The server's services: ``default_services`` and its own, where its own of the same
    description replaces the default one and ``null`` leaves it out."""
    own = dict(server.services)
    for desc in sorted(set(defaults) | set(own)):
        if desc in own:
            pairs = own[desc]
            if pairs is None:
                continue
            spath = f"servers:{server.name}:services:{desc}"
            directives = _service(b, desc, pairs, spath, settings, known)
            if directives is None:
                continue
        else:
            directives = dict(defaults[desc])
        directives["host_name"] = server.name
        if settings.slack.enabled:
            merged = directives.get("contacts", "") + "," + SLACK_CONTACT
            directives["contacts"] = _set_value(merged)
        b.add("service", f"{server.name}/{desc}", f"host_{server.name}.cfg", directives)


def _quoted(args: Iterable[str]) -> str:
    """Each argument in single quotes: Nagios then runs the command without a shell (its
    runcmd_cmd2strv sees no metacharacter outside quotes) and splits it at the spaces."""
    for arg in args:
        if "'" in arg:
            raise ValueError(f"{arg!r} cannot be single-quoted")
    return " ".join(f"'{arg}'" for arg in args)


def slack_command_lines(settings: Settings) -> dict[str, str]:
    """The ``command_line`` of the two Slack notification commands.

    No free text ever reaches the command line: only the macros of :data:`SLACK_MACROS`, whose
    values are fixed words, numbers or the names of objects saltmesh renders (checked to hold
    none of :data:`DEFAULT_ILLEGAL_CHARS`, so no quote). The plugin output, which a check may
    fill with anything, is read by the script from ``status.dat`` (the status of the same
    check, found by ``--check-time``), whatever ``illegal_macro_output_chars`` or
    ``enable_environment_macros`` say.
    """
    s = settings.slack
    base = [s.python, s.script, f"--url-file={s.url_file}", f"--main-config={settings.main_config}"]
    if s.channel:
        base.append(f"--channel={s.channel}")
    if s.username:
        base.append(f"--username={s.username}")
    host = ["--kind=host", "--type=$NOTIFICATIONTYPE$", "--host=$HOSTNAME$"]
    host += ["--state=$HOSTSTATE$", "--check-time=$LASTHOSTCHECK$"]
    service = ["--kind=service", "--type=$NOTIFICATIONTYPE$", "--host=$HOSTNAME$"]
    service += ["--service=$SERVICEDESC$", "--state=$SERVICESTATE$"]
    service += ["--check-time=$LASTSERVICECHECK$"]
    return {
        SLACK_HOST_COMMAND: _quoted(base + host),
        SLACK_SERVICE_COMMAND: _quoted(base + service),
    }


def _slack_objects(b: _Builder, settings: Settings, known: Known) -> None:
    s = settings.slack
    if s.contact_template not in known.contact_templates:
        b.r.bad(
            "saltmesh:nagios:slack:contact_template",
            f"unknown contact template {s.contact_template!r}",
        )
    for cmd, line in slack_command_lines(settings).items():
        if cmd not in known.commands:
            b.add("command", cmd, "slack.cfg", {"command_name": cmd, "command_line": line})
    b.add(
        "contact",
        SLACK_CONTACT,
        "slack.cfg",
        {
            "contact_name": SLACK_CONTACT,
            "alias": "Slack (saltmesh)",
            "use": s.contact_template,
            "host_notification_commands": SLACK_HOST_COMMAND,
            "service_notification_commands": SLACK_SERVICE_COMMAND,
        },
    )


def explain_inventory_error(
    err: PillarError, owned_hosts: Iterable[str], inv_pillar: Mapping
) -> PillarError:
    """Say "docker host X is being removed while containers still run on it" instead of the
    bare "unknown parent" when the parent is a host saltmesh rendered before."""
    owned = set(owned_hosts)
    servers = inv_pillar.get("servers") or {}
    problems = []
    for path, msg in err.problems:
        m = re.match(r"^unknown parent '(.+)'$", msg)
        if m and m.group(1) in owned:
            child = path.split(":")[1]
            kind = (servers.get(child) or {}).get("node_type", "server")
            msg = (
                f"{m.group(1)!r} is being removed from servers but the {kind} {child!r} still "
                f"has it as parent: move or remove {child!r} first"
            )
        problems.append((path, msg))
    return PillarError(problems)
