"""The only Docker client of saltmesh: compare a ContainerSpec with the engine, change only diffs.

Reads are cheap and bounded: one ``/version`` when the client connects, one sparse
``/containers/json`` listing (filtered on our label) when a whole host is reconciled, one
``/images/<name>/json`` per distinct image and one ``/containers/<name>/json`` per managed
container. Nothing is written (and no temporary container is ever created) unless a compared
field differs, and ``test`` mode never writes.

Only what the spec sets is compared (``None`` = not managed). Memory, CPUs and the restart policy
are updated in place; any other difference recreates the container, and the change record names
the fields that forced it: ``{field: {"old": ..., "new": ...}}``.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import io
import json
import os
import socket
import tarfile
import threading
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from saltmesh.errors import CommandError, SaltmeshError
from saltmesh.inventory import ContainerSpec, Inventory

try:
    import docker
    import docker.errors
    import requests.exceptions

    HAS_DOCKER = True
except ImportError:  # pragma: no cover - exercised by __virtual__
    HAS_DOCKER = False

MANAGED_LABEL = "saltmesh.managed"
HOST_LABEL = "saltmesh.host"
SOURCE_LABEL = "saltmesh.source-sha256"
DEFAULT_URL = "unix:///var/run/docker.sock"
IN_PLACE = ("memory", "cpus", "restart")
CPU_PERIOD = 100_000


class EngineError(SaltmeshError):
    """The Docker engine refused a request or could not be reached; carries its message."""


# --------------------------------------------------------------------------- engine access


def engine_unreachable(url: str | None) -> str | None:
    """Why the engine at ``url`` cannot be reached (a socket connect, no API request), or None."""
    url = url or os.environ.get("DOCKER_HOST") or DEFAULT_URL
    if not url.startswith("unix://"):
        return None  # tcp/ssh engines are checked on first use
    path = url[len("unix://") :]
    if not os.path.exists(path):
        return f"Docker engine socket {path} does not exist (is dockerd running?)"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.settimeout(2)
        sock.connect(path)
    except OSError as err:
        return f"Docker engine socket {path} refuses connections: {err}"
    finally:
        sock.close()
    return None


def _engine_message(err: Exception) -> str:
    if HAS_DOCKER and isinstance(err, docker.errors.APIError):
        return f"Docker engine: {err.explanation or err}"
    return f"Docker engine: {err}"


class Engine:
    """A thin counted wrapper around ``docker.APIClient`` that turns engine errors into EngineError."""

    def __init__(self, url: str | None = None, timeout: int = 60, version: str | None = None):
        """``version``: the API version if already known (skips the ``/version`` request)."""
        if not HAS_DOCKER:
            raise EngineError("the docker Python SDK is not installed (pip install docker)")
        self._images: dict[str, dict | None] = {}
        self._lock = threading.Lock()
        try:
            self.api = docker.APIClient(
                base_url=url or os.environ.get("DOCKER_HOST") or DEFAULT_URL,
                version=version or "auto",
                timeout=timeout,
            )
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            raise EngineError(_engine_message(err)) from None
        self.requests = 0 if version else 1  # /version, sent by version="auto"
        self.api.hooks["response"].append(self._count)

    @property
    def version(self) -> str:
        return self.api.api_version

    def _count(self, response, *args, **kwargs):
        with self._lock:
            self.requests += 1
        return response

    def call(self, method: str, *args, **kwargs) -> Any:
        try:
            return getattr(self.api, method)(*args, **kwargs)
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            raise EngineError(_engine_message(err)) from None

    def inspect_container(self, name: str) -> dict | None:
        try:
            return self.api.inspect_container(name)
        except docker.errors.NotFound:
            return None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            raise EngineError(_engine_message(err)) from None

    def inspect_image(self, name: str, cached: bool = True) -> dict | None:
        if cached and name in self._images:
            return self._images[name]
        try:
            data = self.api.inspect_image(name)
        except docker.errors.NotFound:
            data = None
        except (docker.errors.DockerException, requests.exceptions.RequestException) as err:
            raise EngineError(_engine_message(err)) from None
        self._images[name] = data
        return data

    def inspect_containers(self, names: list[str], workers: int = 8) -> dict[str, dict | None]:
        """Inspect several containers concurrently (the engine serves requests in parallel)."""
        if len(names) <= 1:
            return {name: self.inspect_container(name) for name in names}
        with ThreadPoolExecutor(max_workers=min(workers, len(names))) as pool:
            return dict(zip(names, pool.map(self.inspect_container, names), strict=True))

    def managed(self) -> list[dict]:
        """The sparse listing of every container carrying our label (running or not)."""
        return self.call("containers", all=True, filters={"label": f"{MANAGED_LABEL}=true"})

    def close(self) -> None:
        self.api.close()


# --------------------------------------------------------------------------- pure comparison


def managed_labels(spec: ContainerSpec, host: str | None) -> dict[str, str]:
    """The labels saltmesh puts on a container, user labels first."""
    labels = dict(spec.labels or ())
    labels[MANAGED_LABEL] = "true"
    if host:
        labels[HOST_LABEL] = host
    return labels


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


def _restart_name(value: str | None) -> str:
    return value or "no"


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
        want["restart"] = _restart_name(spec.restart)
    if spec.networks:
        want["network_mode"] = "none"
    return want


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
    have["restart"] = _restart_name((hcfg.get("RestartPolicy") or {}).get("Name"))
    have["network_mode"] = hcfg.get("NetworkMode")
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
    """Pure: which set fields differ, split into in-place updates and recreate reasons."""
    want = desired_values(spec, host, (image or {}).get("Id"))
    have = actual_values(spec, host, inspect, image)
    out = ContainerDiff()
    for key, value in want.items():
        if have.get(key) != value:
            target = out.update if key in IN_PLACE else out.recreate
            target[key] = {"old": have.get(key), "new": value}
    return out


def update_kwargs(spec: ContainerSpec, update: Mapping[str, Any]) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    if "memory" in update:
        kwargs.update(mem_limit=spec.memory, memswap_limit=-1)
    if "cpus" in update:
        kwargs.update(cpu_period=CPU_PERIOD, cpu_quota=int(round((spec.cpus or 0) * CPU_PERIOD)))
    if "restart" in update:
        kwargs["restart_policy"] = {"Name": spec.restart or "no", "MaximumRetryCount": 0}
    return kwargs


def create_kwargs(name: str, spec: ContainerSpec, host: str | None) -> dict[str, Any]:
    """Pure: the arguments of ``APIClient.create_container`` for ``spec``."""
    host_config: dict[str, Any] = {}
    if spec.volumes is not None:
        host_config["Binds"] = list(spec.volumes)
    if spec.ports is not None:
        host_config["PortBindings"] = _bindings(spec.ports)
    if spec.restart is not None:
        host_config["RestartPolicy"] = {"Name": spec.restart, "MaximumRetryCount": 0}
    if spec.memory is not None:
        host_config.update(Memory=spec.memory, MemorySwap=-1)
    if spec.cpus is not None:
        host_config.update(CpuPeriod=CPU_PERIOD, CpuQuota=int(round(spec.cpus * CPU_PERIOD)))
    if spec.networks:
        host_config["NetworkMode"] = "none"
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


# --------------------------------------------------------------------------- reconcile


@dataclass
class Outcome:
    """What happened (or would happen, in test mode) to one object."""

    name: str
    changes: dict[str, Any] = field(default_factory=dict)
    comment: str = ""
    result: bool = True


def state_ret(name: str, out: Mapping[str, Any], test: bool) -> dict[str, Any]:
    """A Salt state return from an ``Outcome`` dict; ``result`` None for test-mode changes."""
    result = None if test and out["changes"] and out["result"] else out["result"]
    return {"name": name, "result": result, "changes": out["changes"], "comment": out["comment"]}


def _state_of(inspect: Mapping[str, Any] | None) -> str | None:
    return None if inspect is None else (inspect.get("State") or {}).get("Status")


def is_managed(inspect_or_summary: Mapping[str, Any]) -> bool:
    labels = (inspect_or_summary.get("Config") or {}).get("Labels")
    if labels is None:
        labels = inspect_or_summary.get("Labels") or {}
    return labels.get(MANAGED_LABEL) == "true"


def resolve_image(engine: Engine, spec: ContainerSpec, test: bool) -> tuple[dict | None, str]:
    """Image inspect data for spec.image; pulls it when missing (not in test mode)."""
    image = engine.inspect_image(spec.image)
    if image is not None or test:
        return image, ""
    pull_image(engine, spec.image)
    image = engine.inspect_image(spec.image, cached=False)
    if image is None:
        raise EngineError(f"image {spec.image} is still missing after a pull")
    return image, f"pulled image {spec.image}"


def ensure_running(
    engine: Engine,
    name: str,
    spec: ContainerSpec,
    host: str | None = None,
    test: bool = False,
    inspect: Mapping[str, Any] | None | bool = False,
    after_start: Callable[[dict, bool], dict] | None = None,
) -> Outcome:
    """Make container ``name`` run ``spec``. ``inspect=False`` means: not read yet.

    ``after_start(inspect, test)`` (the OVS attachment) runs when the container is running or
    would be, and returns its own changes, merged under ``networks``.
    """
    out = Outcome(name)
    if inspect is False:
        inspect = engine.inspect_container(name)
    if inspect is not None and not is_managed(inspect):
        out.result = False
        out.comment = f"A container named {name} exists but is not managed by saltmesh; not touched"
        return out
    image, pulled = resolve_image(engine, spec, test)
    notes = [pulled] if pulled else []
    if inspect is not None:
        diff = diff_container(spec, host, inspect, image)
        if image is None:  # test mode, image not pulled yet: assume it will differ
            diff.recreate["image"] = {"old": inspect.get("Image"), "new": spec.image}
        if diff.recreate:
            out.changes.update(diff.changes)
            fields = ", ".join(sorted(diff.recreate))
            notes.append(f"recreated ({fields} differ)")
            if not test:
                engine.call("remove_container", inspect["Id"], force=True, v=False)
            inspect = None
        elif diff.update:
            out.changes.update(diff.update)
            notes.append(f"updated in place ({', '.join(sorted(diff.update))})")
            if not test:
                engine.call("update_container", inspect["Id"], **update_kwargs(spec, diff.update))
    if inspect is None:
        if not out.changes:
            out.changes["created"] = name
            notes.append("created")
        if not test:
            created = engine.call("create_container", **create_kwargs(name, spec, host))
            engine.call("start", created["Id"])
            inspect = engine.inspect_container(created["Id"])
        else:
            inspect = {"Id": None, "Name": f"/{name}", "State": {"Status": "created", "Pid": 0}}
    status = _state_of(inspect)
    if status != "running" and inspect.get("Id"):
        out.changes.setdefault("state", {"old": status, "new": "running"})
        notes.append("started")
        if not test:
            engine.call("start", inspect["Id"])
            inspect = engine.inspect_container(inspect["Id"])
    if after_start is not None and spec.networks:
        net_changes = after_start(inspect, test)
        if net_changes:
            out.changes["networks"] = net_changes
            notes.append("network attachment " + ("would be " if test else "") + "restored")
    if test and out.changes:
        out.comment = f"Container {name} would be " + "; ".join(notes)
    elif out.changes:
        out.comment = f"Container {name} " + "; ".join(notes)
    else:
        out.comment = f"Container {name} is running as requested"
    return out


def ensure_stopped(engine: Engine, name: str, test: bool, stop_timeout: int = 10) -> Outcome:
    out = Outcome(name)
    inspect = engine.inspect_container(name)
    if inspect is None:
        out.comment = f"Container {name} does not exist"
        return out
    if not is_managed(inspect):
        out.result = False
        out.comment = f"Container {name} is not managed by saltmesh; not touched"
        return out
    status = _state_of(inspect)
    if status in ("running", "paused", "restarting"):
        out.changes["state"] = {"old": status, "new": "exited"}
        if not test:
            engine.call("stop", inspect["Id"], timeout=stop_timeout)
        out.comment = f"Container {name} {'would be ' if test else ''}stopped"
    else:
        out.comment = f"Container {name} is already {status}"
    return out


def ensure_absent(engine: Engine, name: str, test: bool, inspect: Any = False) -> Outcome:
    out = Outcome(name)
    if inspect is False:
        inspect = engine.inspect_container(name)
    if inspect is None:
        out.comment = f"Container {name} is absent"
        return out
    if not is_managed(inspect):
        out.result = False
        out.comment = f"Container {name} is not managed by saltmesh; not removed"
        return out
    out.changes["removed"] = name
    if not test:
        engine.call("remove_container", inspect["Id"], force=True, v=False)
    out.comment = f"Container {name} {'would be ' if test else ''}removed"
    return out


# --------------------------------------------------------------------------- images


def pull_image(engine: Engine, ref: str) -> None:
    """Pull ``ref`` (``repo[:tag]`` or ``repo@digest``); raises with the engine's message."""
    repo, tag = ref, None
    if "@" not in ref and ":" in ref.rsplit("/", 1)[-1]:
        repo, tag = ref.rsplit(":", 1)
    for event in engine.call("pull", repo, tag=tag or "latest", stream=True, decode=True):
        if isinstance(event, dict) and event.get("error"):
            raise EngineError(f"Docker engine: pull {ref}: {event['error']}")


def _split_ref(ref: str) -> tuple[str, str]:
    if ":" in ref.rsplit("/", 1)[-1]:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, "latest"


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def saved_image_id(path: str) -> str:
    """The image ID inside a ``docker save`` tarball (sha256 of its config), without loading it."""
    with tarfile.open(path) as tar:
        member = tar.extractfile("manifest.json")
        if member is None:
            raise SaltmeshError(f"{path}: no manifest.json; not a docker save archive")
        manifest = json.load(io.TextIOWrapper(member, encoding="utf-8"))
        config = manifest[0]["Config"]
        data = tar.extractfile(config)
        if data is None:
            raise SaltmeshError(f"{path}: config {config} missing")
        return "sha256:" + hashlib.sha256(data.read()).hexdigest()


def ensure_image(
    engine: Engine,
    name: str,
    test: bool,
    load: str | None = None,
    rootfs: str | None = None,
    pull: str = "missing",
) -> Outcome:
    """Make image ``name`` present from a ``docker save`` tarball, a rootfs tarball or a registry.

    Changes are reported only when the image ID under ``name`` changes.
    """
    out = Outcome(name)
    have = engine.inspect_image(name, cached=False)
    old_id = have["Id"] if have else None
    if load and rootfs:
        raise SaltmeshError("give either load or rootfs, not both")
    if load:
        new_id = saved_image_id(load)
        if new_id == old_id:
            out.comment = f"Image {name} is present ({old_id[:19]})"
            return out
        if not test:
            with open(load, "rb") as fh:
                engine.call("load_image", fh.read(), quiet=True)
            loaded = engine.inspect_image(new_id, cached=False)
            if loaded is None:
                raise EngineError(f"{load} did not provide image {new_id}")
            repo, tag = _split_ref(name)
            engine.call("tag", new_id, repo, tag=tag)
    elif rootfs:
        digest = file_sha256(rootfs)
        labels = ((have or {}).get("Config") or {}).get("Labels") or {}
        if labels.get(SOURCE_LABEL) == digest:
            out.comment = f"Image {name} is present, imported from this {rootfs}"
            return out
        new_id = f"imported from {rootfs}"
        if not test:
            repo, tag = _split_ref(name)
            engine.call(
                "import_image_from_file",
                rootfs,
                repository=repo,
                tag=tag,
                changes=[f"LABEL {SOURCE_LABEL}={digest}"],
            )
            new_id = engine.inspect_image(name, cached=False)["Id"]
    else:
        if old_id and pull != "always":
            out.comment = f"Image {name} is present ({old_id[:19]})"
            return out
        new_id = "pulled from registry"
        if not test:
            pull_image(engine, name)
            new_id = engine.inspect_image(name, cached=False)["Id"]
            if new_id == old_id:
                out.comment = f"Image {name} is up to date ({old_id[:19]})"
                return out
    out.changes["image_id"] = {"old": old_id, "new": new_id}
    out.comment = f"Image {name} {'would be ' if test else ''}{'updated' if old_id else 'added'}"
    return out


def ensure_image_absent(engine: Engine, name: str, test: bool, force: bool = False) -> Outcome:
    out = Outcome(name)
    have = engine.inspect_image(name, cached=False)
    if have is None:
        out.comment = f"Image {name} is absent"
        return out
    out.changes["removed"] = {"old": have["Id"], "new": None}
    if not test:
        engine.call("remove_image", name, force=force)
    out.comment = f"Image {name} {'would be ' if test else ''}removed"
    return out


# --------------------------------------------------------------------------- a whole host


@contextlib.contextmanager
def host_lock(path: str | None) -> Iterator[None]:
    """Serialise writers on one docker host (the state run and the re-attach engine)."""
    if not path:
        yield
        return
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def declared(
    inv: Inventory, minion_id: str, host: str | None = None
) -> tuple[str | None, dict[str, ContainerSpec]]:
    """This minion's docker host (or ``host``) and the containers whose parent it is.

    ``(None, {})`` when the minion is no docker_host in the inventory.
    """
    if host is None:
        server = inv.server_for_minion(minion_id)
        if server is None or server.node_type != "docker_host":
            return None, {}
        host = server.name
    elif host not in inv.servers or inv.servers[host].node_type != "docker_host":
        raise SaltmeshError(f"{host} is not a docker_host in the servers pillar")
    return host, {s.name: s.container for s in inv.containers_on(host) if s.container}


def _summary_name(summary: Mapping[str, Any]) -> str:
    names = summary.get("Names") or ["/"]
    return names[0].lstrip("/")


def ensure_placed(
    engine: Engine,
    containers: Mapping[str, ContainerSpec],
    host: str,
    test: bool,
    attacher: Any = None,
) -> Outcome:
    """Run exactly ``containers`` (name -> spec) on docker host ``host``.

    Reads: one container listing, one inspect per declared container that exists, one image
    inspect per distinct image, one OVS snapshot. Managed containers labelled with ``host``
    that are not declared are removed, and so are OVS ports of containers not declared here.
    Every read and check happens before the first write.
    """
    out = Outcome(host)
    listing = {_summary_name(s): s for s in engine.call("containers", all=True)}
    problems = []
    for name in sorted(containers):
        summary = listing.get(name)
        if summary is not None and not is_managed(summary):
            problems.append(f"container {name} exists but is not managed by saltmesh")
    if attacher is not None:
        for name, spec in sorted(containers.items()):
            try:
                attacher.validate(name, spec.networks)
            except SaltmeshError as err:
                problems.append(str(err))
    if problems:
        out.result = False
        out.comment = "Nothing changed: " + "; ".join(problems)
        return out

    failures = []
    found = engine.inspect_containers([name for name in sorted(containers) if name in listing])
    for image in sorted({spec.image for spec in containers.values()}):
        engine.inspect_image(image)  # cached for ensure_running
    for name, spec in sorted(containers.items()):
        inspect = found.get(name)

        def attach(data: dict, test_: bool, name: str = name, spec: ContainerSpec = spec):
            pid = int((data.get("State") or {}).get("Pid") or 0)
            return attacher.ensure(name, spec.networks, pid, test_)

        try:
            one = ensure_running(
                engine, name, spec, host, test, inspect, after_start=attach if attacher else None
            )
        except SaltmeshError as err:
            failures.append(f"{name}: {err}")
            continue
        if not one.result:
            failures.append(one.comment)
        if one.changes:
            out.changes[name] = one.changes
    gone = sorted(
        name
        for name, summary in listing.items()
        if name not in containers
        and is_managed(summary)
        and (summary.get("Labels") or {}).get(HOST_LABEL) == host
    )
    for name in gone:
        try:
            summary = listing[name]
            inspect = {"Id": summary["Id"], "Config": {"Labels": summary.get("Labels") or {}}}
            one = ensure_absent(engine, name, test, inspect=inspect)
        except SaltmeshError as err:
            failures.append(f"{name}: {err}")
            continue
        out.changes[name] = one.changes
    if attacher is not None:
        try:
            removed = attacher.prune(set(containers), test)
        except CommandError:
            if any(spec.networks for spec in containers.values()):
                raise
            removed = []  # no container needs OVS and none is reachable: nothing to prune
        if removed:
            out.changes["orphan_ports"] = {"removed": removed}
    verb = "would change" if test else "changed"
    parts = [f"{len(containers)} containers declared for {host}"]
    if out.changes:
        parts.append(f"{verb}: {', '.join(sorted(out.changes))}")
    else:
        parts.append("all as requested")
    if failures:
        out.result = False
        parts.append("FAILED: " + "; ".join(failures))
    out.comment = "; ".join(parts)
    return out
