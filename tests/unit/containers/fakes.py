"""Test doubles of the container core's access layers: container specs and inspects."""

from __future__ import annotations

from saltmesh import inventory
from saltmesh.containers import spec as specs

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
        },
    }
    for key, value in over.items():
        section, _, field = key.partition("__")
        data[section][field] = value
    return data
