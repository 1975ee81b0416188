"""Nagios objects from the inventory: settings, pre-checks, canonical rendering, object diff.

Pure: nothing here reads files or runs programs (``nagios_deploy`` does). The rendering is
canonical so that the same pillar, in any key order, gives the same bytes:

- objects sorted by (file, kind, name); one file per host (with its services), plus
  ``hostgroups.cfg`` and ``slack.cfg``;
- inside a ``define`` block the identity directive(s) first, then the rest alphabetically;
- set-like values (``parents``, ``hostgroups``, ``contacts``...) deduplicated and sorted,
  ``use`` kept in the given order (the first template wins in Nagios);
- a static header (it also marks the file as owned by saltmesh), ``\\n`` line ends, no
  trailing whitespace, no timestamps.

Every pillar value that reaches a directive is checked first: no line breaks, ``;``, ``#``,
backslashes or control characters (they would end the value early or start a new directive),
object names free of Nagios' ``illegal_object_name_chars``, templates that exist, parents that
exist in the generated set or the rest of the Nagios configuration.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saltmesh.errors import PillarError
from saltmesh.inventory import Inventory, Server, _Reader

HEADER = "# Managed by saltmesh (nagios_objects.managed). Do not edit: changes are overwritten.\n"
NRPE_HEADER = "# Managed by saltmesh (nagios_nrpe.managed). Do not edit: changes are overwritten.\n"
DEFAULT_ILLEGAL_CHARS = "`~!$%^&*|'\"<>?,()="
SLACK_CONTACT = "saltmesh-slack"
SLACK_HOST_COMMAND = "saltmesh-notify-host-slack"
SLACK_SERVICE_COMMAND = "saltmesh-notify-service-slack"

_FORBIDDEN_VALUE = re.compile(r"[\x00-\x1f\x7f;#\\]")
_PATH_RE = re.compile(r"^/[A-Za-z0-9_.+/-]*$")
_UNIT_RE = re.compile(r"^[A-Za-z0-9_.@-]+$")
_CHANNEL_RE = re.compile(r"^[#@]?[A-Za-z0-9_.-]{1,80}$")
_NRPE_COMMAND_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")

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


# --------------------------------------------------------------------------- settings


@dataclass(frozen=True)
class SlackSettings:
    webhook_url: str | None = None
    url_file: str = "/etc/nagios4/saltmesh-slack.url"
    script: str = "/usr/local/lib/saltmesh/nagios-slack-notify"
    python: str = "/usr/bin/python3"
    channel: str | None = None
    username: str | None = None
    contact_template: str = "generic-contact"

    @property
    def enabled(self) -> bool:
        return bool(self.webhook_url)


@dataclass(frozen=True)
class NrpeSettings:
    main_config: str = "/etc/nagios/nrpe.cfg"
    include_dir: str = "/etc/nagios/nrpe.d"
    file: str = "saltmesh.cfg"
    pid_file: str = "/run/nagios/nrpe.pid"
    reload: str = "systemd"
    service: str = "nagios-nrpe-server"
    packages: tuple[str, ...] = ("nagios-nrpe-server", "monitoring-plugins")
    commands: tuple[tuple[str, str], ...] = ()
    allowed_hosts: tuple[str, ...] = ()  # extra addresses besides the Nagios servers


@dataclass(frozen=True)
class Settings:
    """``saltmesh:nagios`` with Debian 12 defaults."""

    main_config: str = "/etc/nagios4/nagios.cfg"
    conf_dir: str = "/etc/nagios4/conf.d/saltmesh"
    binary: str = "/usr/sbin/nagios4"
    reload: str = "systemd"  # systemd | signal | none
    service: str = "nagios4"
    pid_file: str | None = None  # default: lock_file of the main config
    timeout: int = 60
    group: str = "nagios"
    packages: tuple[str, ...] = ("nagios4", "nagios-nrpe-plugin", "python3-requests")
    host_template: str = "linux-server"
    service_template: str = "generic-service"
    servers: tuple[str, ...] = ()  # the Nagios servers: names in `servers` or IP addresses
    slack: SlackSettings = field(default_factory=SlackSettings)
    nrpe: NrpeSettings = field(default_factory=NrpeSettings)

    def as_dict(self) -> dict[str, Any]:
        """Plain data for Jinja (the SLS reads its paths from here: one copy of the defaults)."""

        def plain(obj: Any) -> Any:
            if hasattr(obj, "__dataclass_fields__"):
                return {k: plain(getattr(obj, k)) for k in obj.__dataclass_fields__}
            if isinstance(obj, tuple):
                return [plain(v) for v in obj]
            return obj

        out = plain(self)
        out["nrpe"]["commands"] = dict(self.nrpe.commands)
        out["slack"]["enabled"] = self.slack.enabled
        out["slack"].pop("webhook_url")  # a secret: never echoed in job returns
        return out


_SETTINGS_KEYS = (
    "main_config", "conf_dir", "binary", "reload", "service", "pid_file", "timeout", "group",
    "packages", "host_template", "service_template", "servers", "slack", "nrpe",
)  # fmt: skip
_SLACK_KEYS = (
    "webhook_url", "url_file", "script", "python", "channel", "username", "contact_template",
)  # fmt: skip
_NRPE_KEYS = (
    "main_config", "include_dir", "file", "pid_file", "reload", "service", "packages",
    "commands", "allowed_hosts",
)  # fmt: skip
RELOAD_METHODS = ("systemd", "signal", "none")


def _path(r: _Reader, data: Mapping[str, Any], key: str, path: str, default: str | None):
    value = r.string(data, key, path, default)
    if value is not None and value is not default and not _PATH_RE.match(value):
        r.bad(f"{path}:{key}", f"{value!r} must be an absolute path of [A-Za-z0-9_.+/-]")
        return default
    return value


def _strings(
    r: _Reader, data: Mapping[str, Any], key: str, path: str, default: tuple, pattern=_UNIT_RE
) -> tuple:
    value = data.get(key)
    if value is None:
        return default
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        r.bad(f"{path}:{key}", "must be a list of strings")
        return default
    for i, item in enumerate(value):
        if not pattern.match(item):
            r.bad(f"{path}:{key}:{i}", f"{item!r} has characters that are not allowed")
            return default
    return tuple(value)


def _unit(r: _Reader, data: Mapping[str, Any], key: str, path: str, default: str) -> str:
    value = r.string(data, key, path, default)
    if value is not default and not _UNIT_RE.match(value or ""):
        r.bad(f"{path}:{key}", f"{value!r} is not a valid name")
        return default
    return value


def _slack(r: _Reader, raw: Any, path: str) -> SlackSettings:
    data = r.mapping(raw, path)
    if data is None:
        return SlackSettings()
    r.keys(data, _SLACK_KEYS, path)
    d = SlackSettings()
    url = r.string(data, "webhook_url", path)
    if url is not None and not re.match(r"^https?://[^\s\"'\\]+$", url):
        r.bad(f"{path}:webhook_url", "must be an http(s) URL")
        url = None
    channel = r.string(data, "channel", path)
    if channel is not None and not _CHANNEL_RE.match(channel):
        r.bad(f"{path}:channel", f"{channel!r} is not a channel name like '#ops'")
        channel = None
    username = r.string(data, "username", path)
    if username is not None and not _CHANNEL_RE.match(username):
        r.bad(f"{path}:username", f"{username!r} must be [A-Za-z0-9_.-]")
        username = None
    return SlackSettings(
        webhook_url=url or None,
        url_file=_path(r, data, "url_file", path, d.url_file),
        script=_path(r, data, "script", path, d.script),
        python=_path(r, data, "python", path, d.python),
        channel=channel,
        username=username,
        contact_template=_unit(r, data, "contact_template", path, d.contact_template),
    )


def _nrpe(r: _Reader, raw: Any, path: str) -> NrpeSettings:
    data = r.mapping(raw, path)
    if data is None:
        return NrpeSettings()
    r.keys(data, _NRPE_KEYS, path)
    d = NrpeSettings()
    commands = []
    for name, line in sorted((r.mapping(data.get("commands"), f"{path}:commands") or {}).items()):
        cpath = f"{path}:commands:{name}"
        if not _NRPE_COMMAND_RE.match(name):
            r.bad(cpath, f"{name!r} is not a valid NRPE command name ([A-Za-z0-9_.-])")
        elif not isinstance(line, str) or not line.strip():
            r.bad(cpath, "must be a non-empty command line")
        elif re.search(r"[\x00-\x1f\x7f]", line):
            r.bad(cpath, "must not contain line breaks or control characters")
        else:
            commands.append((name, line.strip()))
    file = r.string(data, "file", path, d.file)
    if file is not d.file and not re.match(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.cfg$", file or ""):
        r.bad(f"{path}:file", f"{file!r} must be a plain file name ending in .cfg")
        file = d.file
    extra = []
    for i, item in enumerate(
        _strings(r, data, "allowed_hosts", path, (), re.compile(r"^[0-9A-Fa-f:./]+$"))
    ):
        try:
            extra.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            r.bad(f"{path}:allowed_hosts:{i}", f"{item!r} is not an IP address or network")
    return NrpeSettings(
        main_config=_path(r, data, "main_config", path, d.main_config),
        include_dir=_path(r, data, "include_dir", path, d.include_dir).rstrip("/") or "/",
        file=file,
        pid_file=_path(r, data, "pid_file", path, d.pid_file),
        reload=r.choice(data, "reload", path, RELOAD_METHODS, d.reload),
        service=_unit(r, data, "service", path, d.service),
        packages=_strings(r, data, "packages", path, d.packages),
        commands=tuple(commands),
        allowed_hosts=tuple(extra),
    )


def parse_settings(pillar: Mapping[str, Any]) -> Settings:
    """Read and check ``pillar['saltmesh']['nagios']``; raise PillarError naming each bad key."""
    r = _Reader()
    saltmesh = r.mapping(pillar.get("saltmesh"), "saltmesh") or {}
    path = "saltmesh:nagios"
    data = r.mapping(saltmesh.get("nagios"), path) or {}
    r.keys(data, _SETTINGS_KEYS, path)
    d = Settings()
    settings = Settings(
        main_config=_path(r, data, "main_config", path, d.main_config),
        conf_dir=(_path(r, data, "conf_dir", path, d.conf_dir) or d.conf_dir).rstrip("/"),
        binary=_path(r, data, "binary", path, d.binary),
        reload=r.choice(data, "reload", path, RELOAD_METHODS, d.reload),
        service=_unit(r, data, "service", path, d.service),
        pid_file=_path(r, data, "pid_file", path, None),
        timeout=r.integer(data, "timeout", path, 1, 3600, d.timeout),
        group=_unit(r, data, "group", path, d.group),
        packages=_strings(r, data, "packages", path, d.packages),
        host_template=_unit(r, data, "host_template", path, d.host_template),
        service_template=_unit(r, data, "service_template", path, d.service_template),
        servers=_strings(r, data, "servers", path, (), re.compile(r"^[A-Za-z0-9_.:-]+$")),
        slack=_slack(r, data.get("slack"), f"{path}:slack"),
        nrpe=_nrpe(r, data.get("nrpe"), f"{path}:nrpe"),
    )
    if settings.conf_dir in ("", "/"):
        r.bad(f"{path}:conf_dir", "must be a dedicated directory")
    if r.problems:
        raise PillarError(r.problems)
    return settings


# --------------------------------------------------------------------------- reading config


@dataclass(frozen=True)
class ParsedObject:
    kind: str
    directives: tuple[tuple[str, str], ...]
    source: str = ""

    def get(self, key: str) -> str | None:
        for k, v in self.directives:
            if k == key:
                return v
        return None


def parse_objects(text: str, source: str = "") -> list[ParsedObject]:
    """Tolerant reader of Nagios object files: ``define <kind> { key value ... }`` blocks.

    Only used to learn names (hosts, templates, groups) and to diff our own files; the
    validator of record is ``nagios -v``.
    """
    objects: list[ParsedObject] = []
    kind: str | None = None
    directives: list[tuple[str, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        line = re.split(r"(?<!\\);", line, maxsplit=1)[0].strip()  # inline comment
        if kind is None:
            m = re.match(r"^define\s+(\w+)\s*\{\s*(.*)$", line)
            if m:
                kind, directives = m.group(1), []
                line = m.group(2)
                if not line:
                    continue
            else:
                continue
        if line.startswith("}"):
            objects.append(ParsedObject(kind, tuple(directives), source))
            kind = None
            continue
        parts = line.split(None, 1)
        if parts:
            directives.append((parts[0], parts[1].strip() if len(parts) > 1 else ""))
    return objects


@dataclass(frozen=True)
class Known:
    """Names defined by the Nagios configuration outside the files saltmesh owns."""

    hosts: Mapping[str, str] = field(default_factory=dict)  # name -> file
    host_templates: frozenset[str] = frozenset()
    service_templates: frozenset[str] = frozenset()
    contact_templates: frozenset[str] = frozenset()
    hostgroups: frozenset[str] = frozenset()
    contacts: frozenset[str] = frozenset()
    commands: frozenset[str] = frozenset()


def scan_known(objects: Iterable[ParsedObject]) -> Known:
    hosts: dict[str, str] = {}
    templates: dict[str, set[str]] = {"host": set(), "service": set(), "contact": set()}
    names: dict[str, set[str]] = {"hostgroup": set(), "contact": set(), "command": set()}
    for obj in objects:
        tname = obj.get("name")
        if tname and obj.kind in templates:
            templates[obj.kind].add(tname)
        if obj.get("register") == "0":
            continue
        if obj.kind == "host" and obj.get("host_name"):
            hosts.setdefault(obj.get("host_name"), obj.source)
        key = {"hostgroup": "hostgroup_name", "contact": "contact_name", "command": "command_name"}
        if obj.kind in key and obj.get(key[obj.kind]):
            names[obj.kind].add(obj.get(key[obj.kind]))
    return Known(
        hosts=hosts,
        host_templates=frozenset(templates["host"]),
        service_templates=frozenset(templates["service"]),
        contact_templates=frozenset(templates["contact"]),
        hostgroups=frozenset(names["hostgroup"]),
        contacts=frozenset(names["contact"]),
        commands=frozenset(names["command"]),
    )


def parse_main_config(text: str) -> list[tuple[str, str]]:
    """``key=value`` lines of nagios.cfg / nrpe.cfg in order (repeated keys kept)."""
    out = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#;" or "=" not in line:
            continue
        key, value = line.split("=", 1)
        out.append((key.strip(), value.strip()))
    return out


# --------------------------------------------------------------------------- objects


@dataclass(frozen=True)
class NagiosObject:
    kind: str
    name: str  # identity: host name, "host/description" for services, ...
    directives: tuple[tuple[str, str], ...]  # canonical order
    file: str

    @property
    def key(self) -> str:
        return f"{self.kind} {self.name}"


class _Builder:
    def __init__(self, illegal_chars: str) -> None:
        self.r = _Reader()
        self.illegal = set(illegal_chars)
        self.objects: list[NagiosObject] = []

    def name(self, value: str, path: str, what: str) -> bool:
        bad = sorted({c for c in value if c in self.illegal})
        if not value or value != value.strip():
            self.r.bad(path, f"{what} {value!r} is empty or has leading/trailing spaces")
        elif bad:
            self.r.bad(path, f"{what} {value!r} contains characters Nagios rejects: {''.join(bad)}")
        elif _FORBIDDEN_VALUE.search(value):
            self.r.bad(path, f"{what} {value!r} contains ';', '#', '\\' or control characters")
        else:
            return True
        return False

    def value(self, value: str, path: str) -> bool:
        if _FORBIDDEN_VALUE.search(value):
            self.r.bad(
                path,
                f"{value!r} contains ';', '#', '\\' or a line break/control character, which "
                "would end or inject Nagios directives",
            )
            return False
        return True

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
        _services(b, server, settings, known, slack)
    # hostgroups referenced but defined nowhere else
    groups = sorted({g for s in inv.servers.values() for g in s.hostgroups} - known.hostgroups)
    for group in groups:
        b.add("hostgroup", group, "hostgroups.cfg", {"hostgroup_name": group, "alias": group})
    if slack:
        _slack_objects(b, settings, known)
    if r.problems:
        raise PillarError(r.problems)
    return sorted(b.objects, key=lambda o: (o.file, KIND_ORDER.index(o.kind), o.name))


def _services(b: _Builder, server: Server, settings: Settings, known: Known, slack: bool) -> None:
    r = b.r
    for desc, pairs in server.services:
        spath = f"servers:{server.name}:services:{desc}"
        if not b.name(desc, spath, "service description"):
            continue
        directives = {"host_name": server.name, "service_description": desc}
        for key, value in pairs:
            if key not in SERVICE_DIRECTIVES:
                r.bad(f"{spath}:{key}", f"unknown or reserved service directive {key!r}")
                continue
            if not b.value(value, f"{spath}:{key}"):
                continue
            directives[key] = _set_value(value) if key in SET_DIRECTIVES else value.strip()
        uses = [u.strip() for u in directives.get("use", settings.service_template).split(",")]
        for tpl in uses:
            if tpl not in known.service_templates:
                r.bad(f"{spath}:use", f"unknown service template {tpl!r}")
        directives["use"] = ",".join(uses)
        if slack:
            merged = directives.get("contacts", "") + "," + SLACK_CONTACT
            directives["contacts"] = _set_value(merged)
        b.add("service", f"{server.name}/{desc}", f"host_{server.name}.cfg", directives)


def _slack_objects(b: _Builder, settings: Settings, known: Known) -> None:
    s = settings.slack
    if s.contact_template not in known.contact_templates:
        b.r.bad(
            "saltmesh:nagios:slack:contact_template",
            f"unknown contact template {s.contact_template!r}",
        )
    base = [s.python, s.script, "--url-file", s.url_file]
    if s.channel:
        base += ["--channel", s.channel]
    if s.username:
        base += ["--username", s.username]
    common = '--type "$NOTIFICATIONTYPE$"'
    host = " ".join(
        base + ["--kind host", common, '--host "$HOSTNAME$"', '--state "$HOSTSTATE$"']
        + ['--output "$HOSTOUTPUT$"']
    )  # fmt: skip
    service = " ".join(
        base + ["--kind service", common, '--host "$HOSTNAME$"', '--service "$SERVICEDESC$"']
        + ['--state "$SERVICESTATE$"', '--output "$SERVICEOUTPUT$"']
    )  # fmt: skip
    for cmd, line in ((SLACK_HOST_COMMAND, host), (SLACK_SERVICE_COMMAND, service)):
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


# --------------------------------------------------------------------------- rendering


def render_object(obj: NagiosObject) -> str:
    body = "".join(f"    {k.ljust(30)} {v}".rstrip() + "\n" for k, v in obj.directives)
    return f"define {obj.kind} {{\n{body}}}\n"


def render_files(objects: Iterable[NagiosObject]) -> dict[str, bytes]:
    """{file name: bytes}, each file the header plus its objects in canonical order."""
    files: dict[str, list[str]] = {}
    for obj in sorted(objects, key=lambda o: (o.file, KIND_ORDER.index(o.kind), o.name)):
        files.setdefault(obj.file, []).append(render_object(obj))
    return {
        name: (HEADER + "\n" + "\n".join(parts)).encode() for name, parts in sorted(files.items())
    }


def is_owned(data: bytes) -> bool:
    return data.startswith(HEADER.encode())


def objects_of_files(files: Mapping[str, bytes]) -> dict[str, dict[str, str]]:
    """Object key -> directives, read back from rendered (owned) files."""
    out: dict[str, dict[str, str]] = {}
    for name, data in sorted(files.items()):
        for obj in parse_objects(data.decode(errors="replace"), name):
            ident = IDENTITY.get(obj.kind)
            if not ident:
                continue
            directives = dict(obj.directives)
            oname = "/".join(directives.get(k, "") for k in ident)
            out[f"{obj.kind} {oname}"] = directives
    return out


def diff_objects(
    old: Mapping[str, Mapping[str, str]], new: Mapping[str, Mapping[str, str]]
) -> dict:
    """``{"added": [...], "removed": [...], "updated": {key: {directive: {old, new}}}}``."""
    changes: dict[str, Any] = {}
    added = sorted(set(new) - set(old))
    removed = sorted(set(old) - set(new))
    updated = {}
    for key in sorted(set(old) & set(new)):
        fields = {}
        for d in sorted(set(old[key]) | set(new[key])):
            if old[key].get(d) != new[key].get(d):
                fields[d] = {"old": old[key].get(d), "new": new[key].get(d)}
        if fields:
            updated[key] = fields
    if added:
        changes["added"] = added
    if removed:
        changes["removed"] = removed
    if updated:
        changes["updated"] = updated
    return changes


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


# --------------------------------------------------------------------------- NRPE


def referenced_parents(pillar: Mapping[str, Any]) -> set[str]:
    """Every parent named in ``servers``: NRPE only needs addresses, so parents defined in
    hand-written Nagios config must not fail its inventory parse."""
    names: set[str] = set()
    servers = pillar.get("servers")
    for raw in servers.values() if isinstance(servers, Mapping) else ():
        value = raw.get("parents") if isinstance(raw, Mapping) else None
        if isinstance(value, str):
            value = value.split(",")
        if isinstance(value, list):
            names.update(v.strip() for v in value if isinstance(v, str))
    return names


def nrpe_allowed_hosts(inv: Inventory, settings: Settings) -> list[str]:
    """Sorted unique addresses of the Nagios servers (plus extra ones), for one NRPE line."""
    r = _Reader()
    addrs: set[ipaddress.IPv4Network | ipaddress.IPv6Network] = set()
    for i, item in enumerate(settings.servers):
        path = f"saltmesh:nagios:servers:{i}"
        if item in inv.servers:
            ip = inv.servers[item].ip
            if ip is None:
                r.bad(path, f"server {item!r} has address {inv.servers[item].address!r}; NRPE "
                      "allowed_hosts needs an IP address")  # fmt: skip
                continue
            addrs.add(ipaddress.ip_network(ip))
        else:
            try:
                addrs.add(ipaddress.ip_network(item, strict=False))
            except ValueError:
                r.bad(path, f"{item!r} is neither a server in servers nor an IP address")
    for extra in settings.nrpe.allowed_hosts:
        addrs.add(ipaddress.ip_network(extra))
    if not addrs and not r.problems:
        r.bad("saltmesh:nagios:servers", "list the Nagios servers so NRPE can allow them")
    if r.problems:
        raise PillarError(r.problems)
    ordered = sorted(addrs, key=lambda n: (n.version, n.network_address, n.prefixlen))
    return [str(n.network_address) if n.prefixlen == n.max_prefixlen else str(n) for n in ordered]


def render_nrpe(inv: Inventory, settings: Settings) -> bytes:
    lines = [NRPE_HEADER.rstrip("\n")]
    lines.append("allowed_hosts=" + ",".join(nrpe_allowed_hosts(inv, settings)))
    for name, line in settings.nrpe.commands:
        lines.append(f"command[{name}]={line}")
    return ("\n".join(lines) + "\n").encode()
