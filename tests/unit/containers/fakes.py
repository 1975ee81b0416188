"""Test doubles for the container core: specs and inspects, an in-memory engine and attacher."""

from __future__ import annotations

import itertools
from typing import Any

from saltmesh import inventory
from saltmesh.containers import engine
from saltmesh.containers import spec as specs
from saltmesh.containers.labels import labels_of
from saltmesh.errors import CommandError, SaltmeshError

IMAGE = {"Id": "sha256:img", "Config": {"Env": ["PATH=/bin", "LANG=C"], "Labels": {"from": "img"}}}


def spec(**kw):
    return inventory.parse_container({"image": "local/bb:1", **kw})


def inspect_of(s, host=None, **over):
    """What the engine reports for a container created from create_kwargs(s)."""
    kw = specs.create_kwargs("c1", s, host)
    hc = kw["host_config"]
    merged = {"PATH": "/bin", "LANG": "C"}  # the engine merges the image env with ours
    merged.update(e.split("=", 1) for e in kw.get("environment", []))
    env = [f"{k}={v}" for k, v in merged.items()]
    data = {
        "Id": "abc",
        "Image": "sha256:img",
        "State": {"Status": "running", "Pid": 42},
        "Config": {
            "Cmd": kw.get("command", ["sh"]),
            "Entrypoint": kw.get("entrypoint"),
            "Env": env,
            "Labels": {"from": "img", **kw["labels"]},
            "Hostname": kw.get("hostname", "abc"),
            "User": kw.get("user", ""),
            "WorkingDir": kw.get("working_dir", ""),
        },
        "HostConfig": {
            "Binds": hc.get("Binds"),
            "PortBindings": hc.get("PortBindings", {}),
            "RestartPolicy": hc.get("RestartPolicy", {"Name": "no"}),
            "Memory": hc.get("Memory", 0),
            "CpuQuota": hc.get("CpuQuota", 0),
            "CpuPeriod": hc.get("CpuPeriod", 0),
            "NetworkMode": hc.get("NetworkMode", "default"),
            "Dns": hc.get("Dns", []),
            "DnsSearch": hc.get("DnsSearch", []),
        },
    }
    for key, value in over.items():
        section, _, field = key.partition("__")
        data[section][field] = value
    return data


class FakeEngine:
    """Containers and images in dicts; every write is recorded in ``writes``."""

    READS = ("containers", "events")

    def __init__(self, images=None, containers=None):
        self.images: dict[str, dict] = dict(images or {})
        self.containers: dict[str, dict] = {}  # name -> inspect
        self.writes: list[tuple[str, tuple, dict]] = []
        self.pids = itertools.count(100)
        self.fail: dict[str, str] = {}  # method -> engine message
        self.fail_start: dict[str, str] = {}  # container Id -> engine message, every start
        for name, data in (containers or {}).items():
            self.containers[name] = {"Name": f"/{name}", **data, "Id": data.get("Id") or name}
        self.requests = 0

    def _find(self, ref: str) -> tuple[str, dict] | None:
        for name, data in self.containers.items():
            if ref in (name, data["Id"]):
                return name, data
        return None

    def inspect_container(self, name: str) -> dict | None:
        found = self._find(name)
        return None if found is None else found[1]

    def inspect_containers(self, names):
        return {name: self.inspect_container(name) for name in names}

    def inspect_image(self, name: str, cached: bool = True) -> dict | None:
        found = self.images.get(name)  # like the engine, ``repo`` means ``repo:latest``
        return self.images.get(f"{name}:latest") if found is None else found

    def managed(self):
        return [
            s for s in self.call("containers", all=True) if labels_of(s).get("saltmesh.managed")
        ]

    def load_image_file(self, path):
        self.call("load_image", path)

    def call(self, method: str, *args, **kwargs) -> Any:
        if method in self.fail:
            raise engine.EngineError(f"Docker engine: {self.fail[method]}")
        if method == "containers":
            return [
                {
                    "Id": data["Id"],
                    "Names": [f"/{name}"],
                    "Labels": labels_of(data),
                    "State": (data.get("State") or {}).get("Status"),
                    "Image": data.get("Image"),
                }
                for name, data in self.containers.items()
            ]
        self.writes.append((method, args, kwargs))
        return getattr(self, f"_{method}", lambda *a, **k: None)(*args, **kwargs)

    def _create_container(self, image, name, labels, **kwargs):
        if name in self.containers:
            raise engine.EngineError("Docker engine: Conflict. The container name is in use")
        data = {
            "Id": f"id-{name}",
            "Name": f"/{name}",
            "Image": self.images[image]["Id"],
            "State": {"Status": "created", "Pid": 0},
            "Config": {"Labels": labels},
        }
        self.containers[name] = data
        return {"Id": data["Id"]}

    def _rename(self, ref, name):
        if name in self.containers:
            raise engine.EngineError("Docker engine: Conflict. The container name is in use")
        old, data = self._find(ref)
        data["Name"] = f"/{name}"
        self.containers[name] = self.containers.pop(old)

    def _start(self, ref):
        data = self._find(ref)[1]
        if data["Id"] in self.fail_start:
            raise engine.EngineError(f"Docker engine: {self.fail_start[data['Id']]}")
        data["State"] = {"Status": "running", "Pid": next(self.pids)}

    def _stop(self, ref, timeout=None):
        self._find(ref)[1]["State"] = {"Status": "exited", "Pid": 0}

    def _remove_container(self, ref, force=False, v=False):
        del self.containers[self._find(ref)[0]]

    def _pull(self, repo, tag=None, stream=False, decode=False):
        self.images[f"{repo}:{tag}"] = {"Id": f"sha256:{repo}-{tag}", "Config": {}}
        return iter([{"status": "Downloaded"}])

    def _remove_image(self, name, force=False):
        del self.images[name]

    def written(self) -> list[str]:
        return [method for method, _, _ in self.writes]


class FakeAttacher:
    """Records what the core asks of the OVS side; ``bridges`` exist, ``ports`` are owned."""

    def __init__(self, bridges=("br0",), ports=None, unreachable=False):
        self.bridges = set(bridges)
        self.ports = dict(ports or {})  # port -> container
        self.unreachable = unreachable
        self.ensured: list[tuple[str, int, bool]] = []

    def _read(self):
        if self.unreachable:
            raise CommandError(["ovs-vsctl"], 1, "database connection failed")

    def validate(self, container, networks):
        for net in networks:
            self._read()
            if net.bridge not in self.bridges:
                raise SaltmeshError(f"container {container}: bridge {net.bridge} does not exist")

    def ensure(self, container, networks, pid, test):
        self.validate(container, networks)
        self.ensured.append((container, pid, test))
        return {
            net.interface: {"old": "not attached", "new": {"bridge": net.bridge}}
            for net in networks
        }

    def ports_of(self, container):
        self._read()
        return [p for p, c in self.ports.items() if c == container]

    def detach(self, ports, test):
        removed = sorted(set(ports))
        if not test:
            for port in removed:
                del self.ports[port]
        return removed

    def prune(self, keep, test):
        self._read()
        return self.detach([p for p, c in self.ports.items() if c not in keep], test)
