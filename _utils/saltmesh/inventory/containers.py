"""Container specs and their network attachments, validated from pillar."""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Mapping
from typing import Any

from saltmesh.constants import ASIDE_SUFFIX, IFNAMSIZ, MINION_MOUNTS
from saltmesh.discovery.mac import derived_mac
from saltmesh.errors import PillarError
from saltmesh.inventory.model import (
    CONTAINER_KEYS,
    PRUNE_MODES,
    ContainerSettings,
    ContainerSpec,
    MinionSpec,
    NetworkAttachment,
    as_ip,
    with_,
)
from saltmesh.inventory.reader import NAME_RE, Reader
from saltmesh.units import parse_size

RESTART_POLICIES = ("no", "always", "unless-stopped", "on-failure")
_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.-]+$")
MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

_NETWORK_KEYS = (
    "bridge", "ip", "mac", "gateway", "vlan", "mtu", "interface", "pool", "dhcp", "rate", "burst",
)  # fmt: skip
RATE_MAX = 10_000_000  # kbps (10 Gbit/s): a linux-htb rate fits in 32 bits of bytes/s; burst: kb

MEMORY_MIN = 6 * 1024**2  # the smallest limit Docker accepts
CPUS_MIN, CPUS_MAX = 0.01, 1024.0  # a CFS quota of at least 1 ms per 100 ms period

# docker's reference grammar, simplified: [registry[:port]/]path[:tag][@algo:hex]
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_IMAGE_RE = re.compile(
    rf"^(?:[A-Za-z0-9.-]+(?::\d+)?/)?{_PATH}(?:/{_PATH})*(?::[\w][\w.-]{{0,127}})?"
    r"(?:@[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,})?$"
)
_CPORT_RE = re.compile(r"^(\d{1,5})(?:/(tcp|udp|sctp))?$")
_VOLUME_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]+$")
_VOLUME_MODES = {
    "ro", "rw", "z", "Z", "nocopy", "shared", "slave", "private", "rshared", "rslave",
    "rprivate", "consistent", "cached", "delegated",
}  # fmt: skip
_USER_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*(?::[A-Za-z0-9_][A-Za-z0-9_.-]*)?$")
_CONTAINER_HOSTNAME_RE = re.compile(
    r"^(?=.{1,63}$)[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*$"
)
_SETTINGS_KEYS = ("prune", "prune_max")
_MINION_KEYS = ("master", "master_port")
_MASTER_RE = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)


def container_name_problem(name: Any) -> str | None:
    """Why ``name`` cannot be a saltmesh container's Docker name, or None."""
    if not isinstance(name, str) or not NAME_RE.match(name) or len(name) < 2:
        return f"{name!r} is not a valid container name (2-63 letters, digits, '_', '.', '-')"
    if name.endswith(ASIDE_SUFFIX):
        return f"names ending in {ASIDE_SUFFIX} are reserved (a recreate's old container)"
    return None


def container_settings(r: Reader, raw: Any) -> ContainerSettings:
    """``saltmesh:containers``: pruning of managed containers a docker host no longer runs."""
    path = "saltmesh:containers"
    data = r.mapping(raw, path)
    if data is None:
        return ContainerSettings()
    r.keys(data, _SETTINGS_KEYS, path)
    prune = data.get("prune", True)
    if not (isinstance(prune, bool) or (isinstance(prune, str) and prune in PRUNE_MODES)):
        r.bad(f"{path}:prune", f"must be true, false or stop, got {prune!r}")
        prune = True
    return ContainerSettings(
        prune=prune, prune_max=r.integer(data, "prune_max", path, 0, 1_000_000)
    )


def ifname(r: Reader, value: Any, path: str) -> str | None:
    if not isinstance(value, str) or not value:
        r.bad(path, "must be a non-empty string")
        return None
    if len(value.encode()) > IFNAMSIZ:
        r.bad(path, f"{value!r} is {len(value.encode())} bytes; interface names fit in {IFNAMSIZ}")
        return None
    if not _IFNAME_RE.match(value):
        r.bad(path, f"{value!r} has characters not allowed in an interface name")
        return None
    return value


NETWORK_MODES = ("none", "bridge")  # bridge: Docker's default network stays, as eth0


def _network(r: Reader, raw: Any, path: str, index: int) -> NetworkAttachment | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, _NETWORK_KEYS, path)
    bridge = ifname(r, data.get("bridge"), f"{path}:bridge")
    ip = None
    if data.get("ip") is not None:
        text = r.string(data, "ip", path)
        try:
            ip = ipaddress.ip_interface(text) if text else None
            if text and "/" not in text:
                r.bad(f"{path}:ip", f"{text!r} needs a prefix length, e.g. {text}/24")
                ip = None
        except ValueError:
            r.bad(f"{path}:ip", f"{text!r} is not an IP address with prefix (a.b.c.d/nn)")
    mac = r.string(data, "mac", path)
    if mac is not None:
        mac = mac.lower()
        if not MAC_RE.match(mac):
            r.bad(f"{path}:mac", f"{mac!r} is not a MAC address")
            mac = None
        elif int(mac[:2], 16) & 1:
            r.bad(f"{path}:mac", f"{mac!r} is a multicast address")
            mac = None
    gateway = None
    if data.get("gateway") is not None:
        text = r.string(data, "gateway", path)
        gateway = as_ip(text or "")
        if gateway is None:
            r.bad(f"{path}:gateway", f"{text!r} is not an IP address")
        elif ip is not None and gateway not in ip.network:
            r.bad(f"{path}:gateway", f"{gateway} is outside {ip.network}")
    pool = r.string(data, "pool", path)
    if pool is not None:
        if not NAME_RE.match(pool):
            r.bad(f"{path}:pool", f"{pool!r} is not a pool name")
            pool = None
        for key in ("ip", "mac"):
            if data.get(key) is not None:
                r.bad(f"{path}:{key}", f"the pool {pool} gives the {key}; remove one of them")
    dhcp = r.boolean(data, "dhcp", path, False)
    if dhcp:
        for key in ("ip", "pool"):
            if data.get(key) is not None:
                r.bad(f"{path}:{key}", f"dhcp: true gives the address; remove {key} or dhcp")
    interface = data.get("interface", f"eth{index}")
    interface = ifname(r, interface, f"{path}:interface")
    if interface == "lo":
        r.bad(f"{path}:interface", "'lo' is the container's loopback; choose another name")
        interface = None
    rate, burst = _rate(r, data, path)
    return NetworkAttachment(
        bridge=bridge or "",
        ip=ip,
        mac=mac,
        gateway=gateway,
        vlan=r.integer(data, "vlan", path, 1, 4094),
        mtu=r.integer(data, "mtu", path, 68, 65535),
        interface=interface or "eth0",
        pool=pool,
        dhcp=dhcp,
        rate=rate,
        burst=burst,
    )


def _rate(r: Reader, data: Mapping[str, Any], path: str) -> tuple[int | None, int | None]:
    """``rate`` (kbps) and ``burst`` (kb): positive integers; a burst needs a rate."""
    rate, burst = (r.integer(data, key, path, 1, RATE_MAX) for key in ("rate", "burst"))
    if data.get("burst") is not None and data.get("rate") is None:
        r.bad(f"{path}:burst", "needs a rate (kbps) as well")
    return rate, burst if rate else None


def _memory(r: Reader, value: Any, path: str) -> int | None:
    if value is None:
        return None
    size = value if isinstance(value, int) and not isinstance(value, bool) else parse_size(value)
    if size is None:
        r.bad(path, f"{value!r} is not a size like 256m or 1g")
        return None
    if size < MEMORY_MIN:
        r.bad(path, f"{value!r} is below Docker's minimum of 6m")
        return None
    return size


def _image(r: Reader, data: Mapping[str, Any], path: str) -> str | None:
    image = r.string(data, "image", path)
    if not image:
        r.bad(f"{path}:image", "is required")
    elif not _IMAGE_RE.match(image):
        r.bad(
            f"{path}:image", f"{image!r} is not an image reference (repo[:tag][@digest], lowercase)"
        )
        return None
    return image


def _ports(r: Reader, data: Mapping[str, Any], path: str) -> tuple | None:
    ports = r.str_map(data, "ports", path)
    for cport, host in ports or ():
        m = _CPORT_RE.match(cport)
        if not m or not 1 <= int(m.group(1)) <= 65535:
            r.bad(f"{path}:ports:{cport}", "container port must be 1-65535[/tcp|/udp|/sctp]")
            continue
        host_ip, _, host_port = host.rpartition(":")
        ip_ok = not host_ip or as_ip(host_ip.strip("[]")) is not None
        port_ok = (host_port == "" and host_ip) or (
            host_port.isdigit() and 1 <= int(host_port) <= 65535
        )
        if not (ip_ok and port_ok):
            r.bad(f"{path}:ports:{cport}", f"{host!r} is not [host_ip:]host_port")
    return ports


def _volumes(r: Reader, data: Mapping[str, Any], path: str) -> tuple[str, ...] | None:
    volumes = data.get("volumes")
    if volumes is None:
        return None
    if not (isinstance(volumes, list) and all(isinstance(v, str) for v in volumes)):
        r.bad(f"{path}:volumes", "must be a list of 'source:target[:mode]' strings")
        return None
    for i, volume in enumerate(volumes):
        parts = volume.split(":")
        source, target = parts[0], parts[1] if len(parts) > 1 else ""
        modes = parts[2].split(",") if len(parts) == 3 else []
        if (
            len(parts) not in (2, 3)
            or not (source.startswith("/") or _VOLUME_NAME_RE.match(source))
            or not target.startswith("/")
            or any(mode not in _VOLUME_MODES for mode in modes)
            or any(c in volume for c in "\n\r\0")
        ):
            r.bad(f"{path}:volumes:{i}", f"{volume!r} is not 'source:/target[:mode]'")
    return tuple(volumes)


def _pairs_checked(r: Reader, data: Mapping[str, Any], key: str, path: str) -> tuple | None:
    """``env``/``labels``: keys that Docker keeps as given (no '=', not empty; ours reserved)."""
    pairs = r.str_map(data, key, path)
    for k, _ in pairs or ():
        if not k or "=" in k or any(c in k for c in "\n\r\0"):
            r.bad(f"{path}:{key}:{k}", "keys must be non-empty, without '=' or line breaks")
        elif key == "labels" and k.startswith("saltmesh."):
            r.bad(f"{path}:{key}:{k}", "labels starting with 'saltmesh.' are saltmesh's own")
    return pairs


def _argv(r: Reader, data: Mapping[str, Any], key: str, path: str) -> tuple[str, ...] | None:
    argv = r.argv(data, key, path)
    if argv is not None and any("\0" in arg for arg in argv):
        r.bad(f"{path}:{key}", "must not contain NUL")
        return None
    return argv


def _checked(r: Reader, data: Mapping[str, Any], key: str, path: str, regex, what: str):
    value = r.string(data, key, path)
    if value is not None and not regex.match(value):
        r.bad(f"{path}:{key}", f"{value!r} is not {what}")
        return None
    return value


def _dns(r: Reader, data: Mapping[str, Any], path: str) -> tuple[tuple[str, ...] | None, ...]:
    """``dns`` (resolver IPs) and ``dns_search`` (domains): Docker's ``--dns``/``--dns-search``."""
    out: list[tuple[str, ...] | None] = []
    for key, check, what in (
        ("dns", lambda v: as_ip(v) is not None, "an IP address"),
        ("dns_search", lambda v: bool(_MASTER_RE.match(v)), "a domain name"),
    ):
        value = data.get(key)
        if isinstance(value, str):
            value = [value]
        if value is None:
            out.append(None)
        elif not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            r.bad(f"{path}:{key}", "must be a string or a list of strings")
            out.append(None)
        else:
            for i, item in enumerate(value):
                if not check(item):
                    r.bad(f"{path}:{key}:{i}", f"{item!r} is not {what}")
            out.append(tuple(value))
    return tuple(out)


def _cpus(r: Reader, data: Mapping[str, Any], path: str) -> float | None:
    cpus = data.get("cpus")
    if cpus is None:
        return None
    if isinstance(cpus, bool) or not isinstance(cpus, (int, float)):
        r.bad(f"{path}:cpus", "must be a number")
        return None
    if not CPUS_MIN <= cpus <= CPUS_MAX:
        r.bad(f"{path}:cpus", f"{cpus} is out of range {CPUS_MIN:g}..{CPUS_MAX:g}")
        return None
    return float(cpus)


def _minion(r: Reader, data: Mapping[str, Any], path: str) -> MinionSpec | None:
    """``container:minion``: the master this container's salt-minion talks to."""
    if data.get("minion") is None:
        return None
    path = f"{path}:minion"
    raw = r.mapping(data["minion"], path)
    if raw is None:
        return None
    r.keys(raw, _MINION_KEYS, path)
    master = r.string(raw, "master", path)
    if not master:
        r.bad(f"{path}:master", "is required (the master's address, as the container reaches it)")
        return None
    if as_ip(master) is None and (
        not _MASTER_RE.match(master) or master.replace(".", "").isdigit()
    ):
        r.bad(f"{path}:master", f"{master!r} is neither an IP address nor a host name")
        return None
    return MinionSpec(master=master, master_port=r.integer(raw, "master_port", path, 1, 65535))


def container_spec(r: Reader, raw: Any, path: str) -> ContainerSpec | None:
    data = r.mapping(raw, path)
    if data is None:
        return None
    r.keys(data, CONTAINER_KEYS, path)
    image = _image(r, data, path)
    network_mode = r.choice(data, "network_mode", path, NETWORK_MODES)
    first = 1 if network_mode == "bridge" else 0  # eth0 is Docker's then
    networks = []
    raw_nets = data.get("networks") or []
    if not isinstance(raw_nets, list):
        r.bad(f"{path}:networks", "must be a list")
        raw_nets = []
    for i, item in enumerate(raw_nets):
        net = _network(r, item, f"{path}:networks:{i}", i + first)
        if net is not None and first and net.interface == "eth0":
            r.bad(f"{path}:networks:{i}:interface", "eth0 is Docker's with network_mode: bridge")
        elif net is not None:
            networks.append(net)
    seen_if: set[str] = set()
    for i, net in enumerate(networks):
        if net.interface in seen_if:
            r.bad(f"{path}:networks:{i}:interface", f"{net.interface!r} is used twice")
        seen_if.add(net.interface)
    minion = _minion(r, data, path)
    for i, volume in enumerate(data.get("volumes") or [] if minion else []):
        parts = str(volume).split(":")
        if len(parts) > 1 and parts[1].rstrip("/") in MINION_MOUNTS:
            r.bad(f"{path}:volumes:{i}", f"{parts[1]} is where saltmesh mounts the minion's own")
    dns, dns_search = _dns(r, data, path)
    workdir = r.string(data, "workdir", path)
    if workdir is not None and not workdir.startswith("/"):
        r.bad(f"{path}:workdir", f"{workdir!r} must be an absolute path")
        workdir = None
    return ContainerSpec(
        image=image or "",
        command=_argv(r, data, "command", path),
        entrypoint=_argv(r, data, "entrypoint", path),
        env=_pairs_checked(r, data, "env", path),
        labels=_pairs_checked(r, data, "labels", path),
        ports=_ports(r, data, path),
        volumes=_volumes(r, data, path),
        restart=r.choice(data, "restart", path, RESTART_POLICIES),
        hostname=_checked(r, data, "hostname", path, _CONTAINER_HOSTNAME_RE, "a host name"),
        user=_checked(r, data, "user", path, _USER_RE, "a user[:group] name or id"),
        workdir=workdir,
        memory=_memory(r, data.get("memory"), f"{path}:memory"),
        cpus=_cpus(r, data, path),
        networks=tuple(networks),
        network_mode=network_mode,
        minion=minion,
        dns=dns,
        dns_search=dns_search,
    )


def parse_container(raw: Mapping[str, Any], path: str = "container") -> ContainerSpec:
    """Validate one container spec (the ``container:`` mapping of a server) on its own."""
    r = Reader()
    spec = container_spec(r, raw, path)
    if r.problems or spec is None:
        raise PillarError(r.problems or [(path, "invalid container spec")])
    return spec


def dhcp_macs(name: str, spec: ContainerSpec) -> ContainerSpec:
    """``spec`` with every ``dhcp: true`` network that has no ``mac`` given the MAC derived from
    the container's name (its stable DHCP identity, the same on every host and every attach)."""
    if not any(net.dhcp and not net.mac for net in spec.networks):
        return spec
    nets = tuple(
        with_(net, mac=derived_mac(name)) if net.dhcp and not net.mac else net
        for net in spec.networks
    )
    return with_(spec, networks=nets)
