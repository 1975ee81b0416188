"""The ``saltmesh:nagios`` pillar: Debian 12 defaults, checks, and keyword overrides (pure)."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from saltmesh.errors import PillarError
from saltmesh.inventory.reader import Reader
from saltmesh.inventory.servers import parse_services
from saltmesh.nagios import defaults
from saltmesh.nagios.directives import name_problem, service_directive_problem

RELOAD_METHODS = ("systemd", "signal", "none")
# Settings a caller (execution module keyword, state argument) may override over the pillar.
OVERRIDES = ("main_config", "conf_dir", "binary", "reload", "service", "pid_file", "timeout")

_PATH_RE = re.compile(r"^/[A-Za-z0-9_.+/-]*$")
_UNIT_RE = re.compile(r"^[A-Za-z0-9_.@-]+$")
_CHANNEL_RE = re.compile(r"^[#@]?[A-Za-z0-9_.-]{1,80}$")
_URL_RE = re.compile(r"^https?://[^\s\"'\\]+$")
_NRPE_COMMAND_RE = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_NRPE_FILE_RE = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9_.-]*\.cfg$")
_SERVER_RE = re.compile(r"^[A-Za-z0-9_.:-]+$")
_ADDRESS_RE = re.compile(r"^[0-9A-Fa-f:./]+$")


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
    # the default commands (saltmesh.nagios.defaults) under the pillar's, sorted by name
    commands: tuple[tuple[str, str], ...] = defaults.NRPE_COMMANDS
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
    # services of every host and container: (description, directives), sorted
    default_services: tuple[tuple[str, tuple[tuple[str, str], ...]], ...] = defaults.SERVICES

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
        out["default_services"] = {desc: dict(pairs) for desc, pairs in self.default_services}
        out["slack"]["enabled"] = self.slack.enabled
        out["slack"].pop("webhook_url")  # a secret: never echoed in job returns
        return out


_SETTINGS_KEYS = (
    "main_config", "conf_dir", "binary", "reload", "service", "pid_file", "timeout", "group",
    "packages", "host_template", "service_template", "servers", "slack", "nrpe",
    "default_services",
)  # fmt: skip
_SLACK_KEYS = (
    "webhook_url", "url_file", "script", "python", "channel", "username", "contact_template",
)  # fmt: skip
_NRPE_KEYS = (
    "main_config", "include_dir", "file", "pid_file", "reload", "service", "packages",
    "commands", "allowed_hosts",
)  # fmt: skip


def with_overrides(pillar: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``pillar`` with the given :data:`OVERRIDES` set under ``saltmesh:nagios``.

    Other keys and ``None`` values are ignored; the pillar itself is not modified. A
    ``saltmesh`` or ``saltmesh:nagios`` that is not a mapping is left as it is, for
    :func:`parse_settings` to name.
    """
    data = dict(pillar)
    extra = {k: v for k, v in overrides.items() if k in OVERRIDES and v is not None}
    saltmesh = data.get("saltmesh") or {}
    nagios = saltmesh.get("nagios") or {} if isinstance(saltmesh, Mapping) else None
    if extra and isinstance(nagios, Mapping):
        data["saltmesh"] = {**saltmesh, "nagios": {**nagios, **extra}}
    return data


def _matching(
    r: Reader, data: Mapping[str, Any], key: str, path: str, pattern, why: str, default=None
):
    """A string that matches ``pattern``, else ``default`` and a problem (``why`` may name the
    value as ``{!r}``)."""
    value = r.string(data, key, path, default)
    if value is not default and not pattern.match(value or ""):
        r.bad(f"{path}:{key}", why.format(value))
        return default
    return value


def _path(r: Reader, data: Mapping[str, Any], key: str, path: str, default: str | None):
    why = "{!r} must be an absolute path of [A-Za-z0-9_.+/-]"
    return _matching(r, data, key, path, _PATH_RE, why, default)


def _unit(r: Reader, data: Mapping[str, Any], key: str, path: str, default: str) -> str:
    return _matching(r, data, key, path, _UNIT_RE, "{!r} is not a valid name", default)


def _strings(
    r: Reader, data: Mapping[str, Any], key: str, path: str, default: tuple, pattern=_UNIT_RE
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


def _section(r: Reader, raw: Any, path: str, keys: tuple[str, ...]) -> Mapping[str, Any] | None:
    """The mapping at ``path``, its keys checked; None (and a problem) when it is not one."""
    data = r.mapping(raw, path)
    if data is not None:
        r.keys(data, keys, path)
    return data


def _slack(r: Reader, raw: Any, path: str) -> SlackSettings:
    d = SlackSettings()
    data = _section(r, raw, path, _SLACK_KEYS)
    if data is None:
        return d
    url = _matching(r, data, "webhook_url", path, _URL_RE, "must be an http(s) URL")
    return SlackSettings(
        webhook_url=url or None,
        url_file=_path(r, data, "url_file", path, d.url_file),
        script=_path(r, data, "script", path, d.script),
        python=_path(r, data, "python", path, d.python),
        channel=_matching(
            r, data, "channel", path, _CHANNEL_RE, "{!r} is not a channel name like '#ops'"
        ),
        username=_matching(r, data, "username", path, _CHANNEL_RE, "{!r} must be [A-Za-z0-9_.-]"),
        contact_template=_unit(r, data, "contact_template", path, d.contact_template),
    )


def _nrpe_commands(r: Reader, raw: Any, path: str) -> tuple[tuple[str, str], ...]:
    """The default commands with the pillar's over them: same name wins, ``null`` drops one."""
    commands = dict(defaults.NRPE_COMMANDS)
    for name, line in sorted((r.mapping(raw, path) or {}).items()):
        cpath = f"{path}:{name}"
        if not _NRPE_COMMAND_RE.match(name):
            r.bad(cpath, f"{name!r} is not a valid NRPE command name ([A-Za-z0-9_.-])")
        elif line is None:
            commands.pop(name, None)
        elif not isinstance(line, str) or not line.strip():
            r.bad(cpath, "must be a non-empty command line (or null to drop the command)")
        elif re.search(r"[\x00-\x1f\x7f]", line):
            r.bad(cpath, "must not contain line breaks or control characters")
        else:
            commands[name] = line.strip()
    return tuple(sorted(commands.items()))


def _default_services(r: Reader, data: Mapping[str, Any], path: str) -> tuple:
    """``default_services``: absent, the built-in ones; else exactly those given (``{}``: none).

    Checked here, not only by the builder, so a bad entry fails ``nagios.nrpe`` too; what needs
    the Nagios configuration (templates, extra illegal characters) is the builder's.
    """
    if "default_services" not in data:
        return defaults.SERVICES
    path = f"{path}:default_services"
    out = []
    for desc, pairs in parse_services(r, data["default_services"], path):
        if pairs is None:  # null: not a default (as on a server, where it leaves one out)
            continue
        problem = name_problem(desc, "service description")
        if problem:
            r.bad(f"{path}:{desc}", problem)
            continue
        for key, value in pairs:
            problem = service_directive_problem(key, value)
            if problem:
                r.bad(f"{path}:{desc}:{key}", problem)
        out.append((desc, pairs))
    return tuple(out)


def _networks(r: Reader, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...]:
    out = []
    for i, item in enumerate(_strings(r, data, key, path, (), _ADDRESS_RE)):
        try:
            out.append(str(ipaddress.ip_network(item, strict=False)))
        except ValueError:
            r.bad(f"{path}:{key}:{i}", f"{item!r} is not an IP address or network")
    return tuple(out)


def _nrpe(r: Reader, raw: Any, path: str) -> NrpeSettings:
    d = NrpeSettings()
    data = _section(r, raw, path, _NRPE_KEYS)
    if data is None:
        return d
    why = "{!r} must be a plain file name ending in .cfg"
    return NrpeSettings(
        main_config=_path(r, data, "main_config", path, d.main_config),
        include_dir=_path(r, data, "include_dir", path, d.include_dir).rstrip("/") or "/",
        file=_matching(r, data, "file", path, _NRPE_FILE_RE, why, d.file),
        pid_file=_path(r, data, "pid_file", path, d.pid_file),
        reload=r.choice(data, "reload", path, RELOAD_METHODS, d.reload),
        service=_unit(r, data, "service", path, d.service),
        packages=_strings(r, data, "packages", path, d.packages),
        commands=_nrpe_commands(r, data.get("commands"), f"{path}:commands"),
        allowed_hosts=_networks(r, data, "allowed_hosts", path),
    )


def parse_settings(pillar: Mapping[str, Any]) -> Settings:
    """Read and check ``pillar['saltmesh']['nagios']``; raise PillarError naming each bad key."""
    r = Reader()
    saltmesh = r.mapping(pillar.get("saltmesh"), "saltmesh") or {}
    path = "saltmesh:nagios"
    data = _section(r, saltmesh.get("nagios"), path, _SETTINGS_KEYS) or {}
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
        servers=_strings(r, data, "servers", path, (), _SERVER_RE),
        slack=_slack(r, data.get("slack"), f"{path}:slack"),
        nrpe=_nrpe(r, data.get("nrpe"), f"{path}:nrpe"),
        default_services=_default_services(r, data, path),
    )
    if settings.conf_dir in ("", "/"):
        r.bad(f"{path}:conf_dir", "must be a dedicated directory")
    if r.problems:
        raise PillarError(r.problems)
    return settings


def returner_settings(webhook_url: Any, channel: Any) -> tuple[str, str | None]:
    """(webhook URL, channel) for the ``saltmesh_slack`` returner, which reads them with
    ``config.get`` (minion config or pillar): checked like the pillar, PillarError naming
    ``saltmesh:nagios:slack:<key>`` when one is bad or the URL is missing."""
    r = Reader()
    path = "saltmesh:nagios:slack"
    given = {k: v for k, v in (("webhook_url", webhook_url), ("channel", channel)) if v != ""}
    slack = _slack(r, {k: v for k, v in given.items() if v is not None}, path)
    if not slack.webhook_url and not r.problems:
        r.bad(f"{path}:webhook_url", "is not set")
    if r.problems:
        raise PillarError(r.problems)
    return slack.webhook_url, slack.channel
