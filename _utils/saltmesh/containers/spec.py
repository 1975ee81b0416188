"""A ContainerSpec in Docker's terms (pure): compare it with an inspect, build API arguments.

Only what the spec sets is compared (``None`` = not managed). Memory, CPUs and the restart
policy can be updated in place; any other difference (``dns``/``dns_search`` included: Docker
writes resolv.conf at create) recreates the container, and the change
record names the fields that forced it: ``{field: {"old": ..., "new": ...}}``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from saltmesh.containers.labels import managed_labels
from saltmesh.inventory import ContainerSpec
from saltmesh.inventory.model import CONTAINER_KEYS

IN_PLACE = ("memory", "cpus", "restart")
CPU_PERIOD = 100_000


def spec_args(args: Mapping[str, Any]) -> dict[str, Any]:
    """The ``container:`` mapping from state arguments: the spec keys that are set.

    ``environment`` (the Docker SDK's name) stands for ``env``.
    """
    args = dict(args)
    if args.get("environment") is not None:
        args["env"] = args["environment"]
    return {key: args[key] for key in CONTAINER_KEYS if args.get(key) is not None}


def _split_port(container_port: str) -> str:
    return container_port if "/" in container_port else f"{container_port}/tcp"


def _bindings(ports: tuple[tuple[str, str], ...]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for cport, host in ports:
        host_ip, _, host_port = str(host).rpartition(":")
        out.setdefault(_split_port(cport), []).append({"HostIp": host_ip, "HostPort": host_port})
    return out


def _norm_bindings(bindings: Mapping[str, Any] | None) -> list[str]:
    return sorted(
        f"{cport}->{b.get('HostIp') or ''}:{b.get('HostPort') or ''}"
        for cport, items in (bindings or {}).items()
        for b in items or ()
    )


def _env_dict(env: list[str] | None) -> dict[str, str]:
    return dict(item.split("=", 1) if "=" in item else (item, "") for item in env or ())


def _restart_policy(name: str | None) -> dict[str, Any]:
    return {"Name": name or "no", "MaximumRetryCount": 0}


def _cpu_quota(cpus: float | None) -> int:
    return int(round((cpus or 0) * CPU_PERIOD))


def desired_values(spec: ContainerSpec, host: str | None, image_id: str | None) -> dict[str, Any]:
    """The comparable form of every field the spec sets (unset fields are absent)."""
    want: dict[str, Any] = {"image": image_id or spec.image}
    if spec.command is not None:
        want["command"] = list(spec.command)
    if spec.entrypoint is not None:
        want["entrypoint"] = list(spec.entrypoint)
    if spec.env is not None:
        want["env"] = dict(spec.env)
    want["labels"] = managed_labels(spec, host)
    if spec.ports is not None:
        want["ports"] = _norm_bindings(_bindings(spec.ports))
    if spec.volumes is not None:
        want["volumes"] = sorted(spec.volumes)
    for key in ("hostname", "user", "workdir", "memory", "cpus"):
        if getattr(spec, key) is not None:
            want[key] = getattr(spec, key)
    if spec.restart is not None:
        want["restart"] = spec.restart or "no"
    for key in ("dns", "dns_search"):
        if getattr(spec, key) is not None:
            want[key] = list(getattr(spec, key))
    mode = network_mode(spec)
    if mode is not None:
        want["network_mode"] = mode
    return want


def network_mode(spec: ContainerSpec) -> str | None:
    """Docker's NetworkMode for ``spec``: its own, else ``none`` when saltmesh plugs its
    networks in, else Docker's default (not managed)."""
    return spec.network_mode or ("none" if spec.networks else None)


def actual_values(
    spec: ContainerSpec,
    host: str | None,
    inspect: Mapping[str, Any],
    image: Mapping[str, Any] | None,
) -> dict[str, Any]:
    """The comparable form of the container's fields, for the keys ``desired_values`` returns."""
    cfg = inspect.get("Config") or {}
    hcfg = inspect.get("HostConfig") or {}
    img_cfg = (image or {}).get("Config") or {}
    have: dict[str, Any] = {"image": inspect.get("Image")}
    have["command"] = list(cfg.get("Cmd") or [])
    have["entrypoint"] = list(cfg.get("Entrypoint") or [])
    env = _env_dict(cfg.get("Env"))
    image_env = _env_dict(img_cfg.get("Env"))
    if spec.env is not None:
        # keys we set must match; any other key must be the image's own value
        wanted = dict(spec.env)
        have["env"] = {k: v for k, v in env.items() if k in wanted or image_env.get(k) != v}
    wanted_labels = managed_labels(spec, host)
    image_labels = img_cfg.get("Labels") or {}
    labels = {
        k: v
        for k, v in (cfg.get("Labels") or {}).items()
        if k in wanted_labels or image_labels.get(k) != v
    }
    if spec.labels is None:  # only our own labels are managed
        labels = {k: v for k, v in labels.items() if k.startswith("saltmesh.")}
    have["labels"] = labels
    have["ports"] = _norm_bindings(hcfg.get("PortBindings"))
    have["volumes"] = sorted(hcfg.get("Binds") or [])
    have["hostname"] = cfg.get("Hostname")
    have["user"] = cfg.get("User")
    have["workdir"] = cfg.get("WorkingDir")
    have["memory"] = hcfg.get("Memory") or None
    quota, period = hcfg.get("CpuQuota") or 0, hcfg.get("CpuPeriod") or CPU_PERIOD
    have["cpus"] = round(quota / period, 3) if quota > 0 else None
    have["restart"] = (hcfg.get("RestartPolicy") or {}).get("Name") or "no"
    have["dns"] = list(hcfg.get("Dns") or [])
    have["dns_search"] = list(hcfg.get("DnsSearch") or [])
    mode = hcfg.get("NetworkMode")
    have["network_mode"] = "bridge" if mode == "default" else mode  # "default": older engines
    return have


@dataclass
class ContainerDiff:
    recreate: dict[str, dict[str, Any]] = field(default_factory=dict)
    update: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def changes(self) -> dict[str, dict[str, Any]]:
        return {**self.update, **self.recreate}


def diff_container(
    spec: ContainerSpec,
    host: str | None,
    inspect: Mapping[str, Any],
    image: Mapping[str, Any] | None,
) -> ContainerDiff:
    """Which set fields differ, split into in-place updates and recreate reasons."""
    want = desired_values(spec, host, (image or {}).get("Id"))
    have = actual_values(spec, host, inspect, image)
    out = ContainerDiff()
    for key, value in want.items():
        if have.get(key) != value:
            target = out.update if key in IN_PLACE else out.recreate
            target[key] = {"old": have.get(key), "new": value}
    return out


def _binding_pairs(bindings: Mapping[str, Any] | None) -> tuple[tuple[str, str], ...]:
    """``PortBindings`` back in the spec's form: ``(container_port, "[host_ip:]host_port")``."""
    out = []
    for cport, items in sorted((bindings or {}).items()):
        for b in items or ():
            host_ip, host_port = b.get("HostIp") or "", b.get("HostPort") or ""
            out.append((cport, f"{host_ip}:{host_port}" if host_ip else host_port))
    return tuple(out)


def _own_pairs(values: Mapping[str, str], inherited: Mapping[str, str]) -> tuple | None:
    """Entries not inherited unchanged from the image, as sorted pairs (None when there are none)."""
    own = sorted((k, v) for k, v in values.items() if inherited.get(k) != v)
    return tuple(own) or None


def carried_over(
    spec: ContainerSpec, inspect: Mapping[str, Any], image: Mapping[str, Any] | None
) -> ContainerSpec:
    """``spec`` completed with what the container it replaces has and the spec does not set.

    A recreate must not reset what the state did not set: every field the spec omits keeps the
    old container's value, unless that value is only the image's (or Docker's) default, which
    the new container gets anyway (so an image upgrade still brings its new defaults).
    ``image`` is the inspect of the old container's image; when it is gone (None), what may
    come from an image (command, entrypoint, env, labels, user, workdir) cannot be told apart
    and only the host settings are carried over.
    """
    cfg = inspect.get("Config") or {}
    hcfg = inspect.get("HostConfig") or {}
    img = (image or {}).get("Config") or {}
    found: dict[str, Any] = {}
    for key, docker_key in (("command", "Cmd"), ("entrypoint", "Entrypoint")):
        value = cfg.get(docker_key)
        if value and list(value) != list(img.get(docker_key) or []):
            found[key] = tuple(value)
    found["env"] = _own_pairs(_env_dict(cfg.get("Env")), _env_dict(img.get("Env")))
    labels = {k: v for k, v in (cfg.get("Labels") or {}).items() if not k.startswith("saltmesh.")}
    found["labels"] = _own_pairs(labels, img.get("Labels") or {})
    found["ports"] = _binding_pairs(hcfg.get("PortBindings")) or None
    found["volumes"] = tuple(hcfg.get("Binds") or ()) or None
    restart = (hcfg.get("RestartPolicy") or {}).get("Name")
    found["restart"] = restart if restart and restart != "no" else None
    if cfg.get("Hostname") and cfg["Hostname"] != str(inspect.get("Id") or "")[:12]:
        found["hostname"] = cfg["Hostname"]
    for key, docker_key in (("user", "User"), ("workdir", "WorkingDir")):
        if cfg.get(docker_key) and cfg[docker_key] != img.get(docker_key):
            found[key] = cfg[docker_key]
    if image is None:
        for key in ("command", "entrypoint", "env", "labels", "user", "workdir"):
            found.pop(key, None)
    found["memory"] = hcfg.get("Memory") or None
    quota, period = hcfg.get("CpuQuota") or 0, hcfg.get("CpuPeriod") or CPU_PERIOD
    found["cpus"] = round(quota / period, 3) if quota > 0 else None
    found["dns"] = tuple(hcfg.get("Dns") or ()) or None
    found["dns_search"] = tuple(hcfg.get("DnsSearch") or ()) or None
    keep = {
        key: value
        for key, value in found.items()
        if value is not None and getattr(spec, key) is None
    }
    return dataclasses.replace(spec, **keep)


def update_kwargs(spec: ContainerSpec, update: Mapping[str, Any]) -> dict[str, Any]:
    """The arguments of ``APIClient.update_container`` for the in-place fields in ``update``."""
    kwargs: dict[str, Any] = {}
    if "memory" in update:
        kwargs.update(mem_limit=spec.memory, memswap_limit=-1)
    if "cpus" in update:
        kwargs.update(cpu_period=CPU_PERIOD, cpu_quota=_cpu_quota(spec.cpus))
    if "restart" in update:
        kwargs["restart_policy"] = _restart_policy(spec.restart)
    return kwargs


def create_kwargs(name: str, spec: ContainerSpec, host: str | None) -> dict[str, Any]:
    """The arguments of ``APIClient.create_container`` for ``spec``."""
    host_config: dict[str, Any] = {}
    if spec.volumes is not None:
        host_config["Binds"] = list(spec.volumes)
    if spec.ports is not None:
        host_config["PortBindings"] = _bindings(spec.ports)
    if spec.restart is not None:
        host_config["RestartPolicy"] = _restart_policy(spec.restart)
    if spec.memory is not None:
        host_config.update(Memory=spec.memory, MemorySwap=-1)
    if spec.cpus is not None:
        host_config.update(CpuPeriod=CPU_PERIOD, CpuQuota=_cpu_quota(spec.cpus))
    if spec.dns is not None:
        host_config["Dns"] = list(spec.dns)
    if spec.dns_search is not None:
        host_config["DnsSearch"] = list(spec.dns_search)
    if network_mode(spec) is not None:
        host_config["NetworkMode"] = network_mode(spec)
    kwargs: dict[str, Any] = {
        "image": spec.image,
        "name": name,
        "detach": True,
        "labels": managed_labels(spec, host),
        "host_config": host_config,
        "use_config_proxy": False,
    }
    if spec.command is not None:
        kwargs["command"] = list(spec.command)
    if spec.entrypoint is not None:
        kwargs["entrypoint"] = list(spec.entrypoint)
    if spec.env is not None:
        kwargs["environment"] = [f"{k}={v}" for k, v in spec.env]
    if spec.ports is not None:
        kwargs["ports"] = sorted({tuple(_split_port(p).split("/")) for p, _ in spec.ports})
    for key, arg in (("hostname", "hostname"), ("user", "user"), ("workdir", "working_dir")):
        if getattr(spec, key) is not None:
            kwargs[arg] = getattr(spec, key)
    return kwargs
