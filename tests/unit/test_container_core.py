"""Pure parts of the container core: compare only what is set, names, attachment checks."""

from __future__ import annotations

import pytest

from saltmesh import attach, docker_core, inventory
from saltmesh.ovs.schema import Interface, Port, Snapshot

IMAGE = {"Id": "sha256:img", "Config": {"Env": ["PATH=/bin", "LANG=C"], "Labels": {"from": "img"}}}


def spec(**kw):
    return inventory.parse_container({"image": "local/bb:1", **kw})


def inspect_of(s, host=None, **over):
    """What the engine reports for a container created from create_kwargs(s)."""
    kw = docker_core.create_kwargs("c1", s, host)
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


FULL = dict(
    command=["sleep", "1"], entrypoint=["/bin/sh", "-c"], env={"A": "1", "PATH": "/x"},
    labels={"team": "web"}, ports={"80": "8080", "53/udp": "127.0.0.1:5353"},
    volumes=["/srv:/srv:ro"], restart="always", hostname="web", user="nobody", workdir="/tmp",
    memory="64m", cpus=0.5, networks=[{"bridge": "br0", "ip": "10.0.0.2/24"}],
)  # fmt: skip


@pytest.mark.parametrize("kw", [{}, FULL, {"env": ["A=1"]}, {"labels": {"from": "img"}}])
def test_created_container_compares_equal(kw):
    s = spec(**kw)
    diff = docker_core.diff_container(s, "d1", inspect_of(s, "d1"), IMAGE)
    assert diff.changes == {}


def test_unset_fields_are_not_compared():
    s = spec()
    data = inspect_of(spec(**FULL))  # a container with everything set
    assert docker_core.diff_container(s, None, data, IMAGE).changes == {}


@pytest.mark.parametrize(
    ("field", "value", "in_place"),
    [
        ("memory", "128m", True), ("cpus", 1.5, True), ("restart", "no", True),
        ("command", ["sleep", "2"], False), ("env", {"A": "2", "PATH": "/x"}, False),
        ("labels", {"team": "db"}, False), ("ports", {"80": "8081"}, False),
        ("volumes", ["/srv:/srv"], False), ("hostname", "db", False), ("user", "root", False),
        ("workdir", "/", False), ("entrypoint", ["sh"], False),
    ],
)  # fmt: skip
def test_each_field_drift(field, value, in_place):
    have = spec(**FULL)
    want = spec(**{**FULL, field: value})
    diff = docker_core.diff_container(want, None, inspect_of(have), IMAGE)
    assert list(diff.changes) == [field]
    assert (field in diff.update) is in_place and (field in diff.recreate) is not in_place


def test_removed_env_key_and_image_id_and_network_mode():
    have = spec(env={"A": "1", "B": "2"})
    diff = docker_core.diff_container(spec(env={"A": "1"}), None, inspect_of(have), IMAGE)
    assert diff.recreate == {"env": {"old": {"A": "1", "B": "2"}, "new": {"A": "1"}}}
    other = {**IMAGE, "Id": "sha256:new"}
    assert list(docker_core.diff_container(have, None, inspect_of(have), other).recreate) == [
        "image"
    ]
    net = spec(networks=[{"bridge": "br0"}])
    diff = docker_core.diff_container(net, None, inspect_of(spec()), IMAGE)
    assert diff.recreate == {"network_mode": {"old": "default", "new": "none"}}


def test_host_label_change_recreates():
    s = spec()
    diff = docker_core.diff_container(s, "d2", inspect_of(s, "d1"), IMAGE)
    assert list(diff.recreate) == ["labels"]


def test_update_kwargs():
    s = spec(memory="64m", cpus=0.25, restart="on-failure")
    kw = docker_core.update_kwargs(s, {"memory": 1, "cpus": 1, "restart": 1})
    assert kw == {
        "mem_limit": 64 * 1024**2, "memswap_limit": -1, "cpu_period": 100000, "cpu_quota": 25000,
        "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 0},
    }  # fmt: skip


def test_names_are_stable_and_short():
    a = attach.host_ifname("web01", "eth0")
    assert a == attach.host_ifname("web01", "eth0") and len(a.encode()) == 15
    assert a != attach.host_ifname("web01", "eth1") != attach.host_ifname("web02", "eth0")
    assert attach.peer_ifname("web01", "eth0")[3:] == a[3:]


def _snap(net, container="web01", pid=42, bridge=None):
    name = attach.host_ifname(container, net.interface)
    ext = attach.port_spec(container, net, pid).iface_external_ids
    return Snapshot(
        ports={name: Port(name, "u1", bridge=bridge or net.bridge,
                          external_ids={attach.EXT_CONTAINER: container})},
        interfaces={name: Interface(name, "u2", external_ids=dict(ext), port=name)},
    )  # fmt: skip


def test_attachment_check():
    net = spec(networks=[{"bridge": "br0", "ip": "10.0.0.2/24"}]).networks[0]
    name = attach.host_ifname("web01", "eth0")
    snap = _snap(net)
    assert attach.check("web01", net, 42, snap, {name}) is None
    assert attach.check("web01", net, 43, snap, {name}) == "container restarted"
    assert attach.check("web01", net, 42, snap, set()) == "host veth missing"
    assert attach.check("web01", net, 42, Snapshot(), {name}) == "not attached"
    moved = spec(networks=[{"bridge": "br0", "ip": "10.0.0.3/24"}]).networks[0]
    assert attach.check("web01", moved, 42, snap, {name}) == "settings changed"
    assert attach.owned_ports(snap) == {name: "web01"}


def test_engine_unreachable_explains(tmp_path):
    missing = tmp_path / "nope.sock"
    assert "does not exist" in docker_core.engine_unreachable(f"unix://{missing}")
    missing.write_text("")  # a file, not a listening socket
    assert "refuses connections" in docker_core.engine_unreachable(f"unix://{missing}")
    assert docker_core.engine_unreachable("tcp://127.0.0.1:2375") is None  # checked on first use


def test_engine_error_carries_message(tmp_path):
    with pytest.raises(docker_core.EngineError) as err:
        docker_core.Engine(f"unix://{tmp_path / 'nope.sock'}")
    assert str(err.value).startswith("Docker engine:")


def test_create_kwargs_shape():
    kw = docker_core.create_kwargs("web", spec(**FULL), "d1")
    assert kw["labels"] == {"team": "web", "saltmesh.managed": "true", "saltmesh.host": "d1"}
    assert kw["host_config"]["NetworkMode"] == "none"
    assert kw["host_config"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
    }
    assert kw["ports"] == [("53", "udp"), ("80", "tcp")]
    assert kw["environment"] == ["A=1", "PATH=/x"] and kw["use_config_proxy"] is False
