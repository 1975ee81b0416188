"""The NRPE include file saltmesh owns: ``allowed_hosts`` and ``command[...]`` lines (pure).

NRPE has no config check of its own and exits on a bad config at reload, so everything it
would choke on is checked here before the file is written.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Mapping
from typing import Any

from saltmesh import inventory
from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.inventory import Inventory
from saltmesh.inventory.reader import Reader
from saltmesh.nagios.objects import MainConfig
from saltmesh.nagios.render import diff_objects
from saltmesh.nagios.settings import NrpeSettings, Settings

NRPE_HEADER = "# Managed by saltmesh (nagios_nrpe.managed). Do not edit: changes are overwritten.\n"


def nrpe_path(s: NrpeSettings) -> str:
    """The file saltmesh owns in NRPE's include_dir."""
    return os.path.join(s.include_dir, s.file)


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
    r = Reader()
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


def render_pillar(settings: Settings, pillar: Mapping[str, Any]) -> bytes:
    """The NRPE file for this pillar; parents need not be defined (NRPE only wants addresses)."""
    inv = inventory.parse(pillar, external_hosts=referenced_parents(pillar))
    return render_nrpe(inv, settings)


def _nrpe_entries(data: bytes | None) -> tuple[str | None, dict[str, str]]:
    allowed, commands = None, {}
    for line in (data or b"").decode(errors="replace").splitlines():
        if line.startswith("allowed_hosts="):
            allowed = line.split("=", 1)[1]
        m = re.match(r"^command\[([^\]]+)\]=(.*)$", line)
        if m:
            commands[m.group(1)] = m.group(2)
    return allowed, commands


def nrpe_diff(old: bytes | None, new: bytes) -> dict[str, Any]:
    """``{"allowed_hosts": {"old", "new"}, "commands": {added, removed, updated}}``; a change
    neither shows is ``{"rewritten": True}``."""
    old_allowed, old_cmds = _nrpe_entries(old)
    new_allowed, new_cmds = _nrpe_entries(new)
    changes: dict[str, Any] = {}
    if old_allowed != new_allowed:
        changes["allowed_hosts"] = {"old": old_allowed, "new": new_allowed}
    cmd_changes = diff_objects(
        {k: {"command_line": v} for k, v in old_cmds.items()},
        {k: {"command_line": v} for k, v in new_cmds.items()},
    )
    if cmd_changes:
        changes["commands"] = cmd_changes
    if not changes and old != new:
        changes["rewritten"] = True
    return changes


def check_nrpe_main(main: MainConfig, s: NrpeSettings) -> None:
    """Our file must be read (include_dir) and nothing after it may replace allowed_hosts."""
    index = None
    for i, (key, value) in enumerate(main.entries):
        if key == "include_dir" and main.resolve(value) == os.path.normpath(s.include_dir):
            index = i
    if index is None:
        raise SaltmeshError(
            f"{s.main_config} has no include_dir={s.include_dir}: NRPE would not read it"
        )
    later = [v for k, v in main.entries[index + 1 :] if k == "allowed_hosts"]
    if later:
        raise SaltmeshError(
            f"{s.main_config} sets allowed_hosts after include_dir={s.include_dir}; that line "
            "would replace the one saltmesh writes"
        )
