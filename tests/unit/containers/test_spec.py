"""A ContainerSpec in Docker's terms: compare only what is set, create/update arguments."""

from __future__ import annotations

import pytest

from saltmesh.containers import spec as specs
from saltmesh.inventory.model import CONTAINER_KEYS
from tests.unit.containers.fakes import IMAGE, inspect_of, spec

FULL = dict(
    command=["sleep", "1"], entrypoint=["/bin/sh", "-c"], env={"A": "1", "PATH": "/x"},
    labels={"team": "web"}, ports={"80": "8080", "53/udp": "127.0.0.1:5353"},
    volumes=["/srv:/srv:ro"], restart="always", hostname="web", user="nobody", workdir="/tmp",
    memory="64m", cpus=0.5, networks=[{"bridge": "br0", "ip": "10.0.0.2/24"}],
)  # fmt: skip


@pytest.mark.parametrize("kw", [{}, FULL, {"env": ["A=1"]}, {"labels": {"from": "img"}}])
def test_created_container_compares_equal(kw):
    s = spec(**kw)
    diff = specs.diff_container(s, "d1", inspect_of(s, "d1"), IMAGE)
    assert diff.changes == {}


def test_unset_fields_are_not_compared():
    s = spec()
    data = inspect_of(spec(**FULL))  # a container with everything set
    assert specs.diff_container(s, None, data, IMAGE).changes == {}


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
    diff = specs.diff_container(want, None, inspect_of(have), IMAGE)
    assert list(diff.changes) == [field]
    assert (field in diff.update) is in_place and (field in diff.recreate) is not in_place


def test_removed_env_key_and_image_id_and_network_mode():
    have = spec(env={"A": "1", "B": "2"})
    diff = specs.diff_container(spec(env={"A": "1"}), None, inspect_of(have), IMAGE)
    assert diff.recreate == {"env": {"old": {"A": "1", "B": "2"}, "new": {"A": "1"}}}
    other = {**IMAGE, "Id": "sha256:new"}
    assert list(specs.diff_container(have, None, inspect_of(have), other).recreate) == ["image"]
    net = spec(networks=[{"bridge": "br0"}])
    diff = specs.diff_container(net, None, inspect_of(spec()), IMAGE)
    assert diff.recreate == {"network_mode": {"old": "bridge", "new": "none"}}


def test_host_label_change_recreates():
    s = spec()
    diff = specs.diff_container(s, "d2", inspect_of(s, "d1"), IMAGE)
    assert list(diff.recreate) == ["labels"]


def test_update_kwargs():
    s = spec(memory="64m", cpus=0.25, restart="on-failure")
    kw = specs.update_kwargs(s, {"memory": 1, "cpus": 1, "restart": 1})
    assert kw == {
        "mem_limit": 64 * 1024**2, "memswap_limit": -1, "cpu_period": 100000, "cpu_quota": 25000,
        "restart_policy": {"Name": "on-failure", "MaximumRetryCount": 0},
    }  # fmt: skip


def test_create_kwargs_shape():
    kw = specs.create_kwargs("web", spec(**FULL), "d1")
    assert kw["labels"] == {"team": "web", "saltmesh.managed": "true", "saltmesh.host": "d1"}
    assert kw["host_config"]["NetworkMode"] == "none"
    assert kw["host_config"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "", "HostPort": "8080"}],
        "53/udp": [{"HostIp": "127.0.0.1", "HostPort": "5353"}],
    }
    assert kw["ports"] == [("53", "udp"), ("80", "tcp")]
    assert kw["environment"] == ["A=1", "PATH=/x"] and kw["use_config_proxy"] is False


def test_spec_args_from_state_arguments():
    args = {"name": "web", "image": "i", "command": None, "env": None, "environment": {"A": "1"},
            "memory": "64m", "host": "d1", "ovsdb": None, "netns": "ns"}  # fmt: skip
    assert specs.spec_args(args) == {"image": "i", "env": {"A": "1"}, "memory": "64m"}
    assert specs.spec_args({"image": "i", "env": ["A=1"]}) == {"image": "i", "env": ["A=1"]}
    assert list(specs.spec_args({k: 1 for k in reversed(CONTAINER_KEYS)})) == list(CONTAINER_KEYS)


@pytest.mark.reliability
def test_recreate_carries_over_every_field_the_spec_omits():
    have = spec(**{k: v for k, v in FULL.items() if k != "networks"})
    data = inspect_of(have, "d1")
    bare = spec()
    kept = specs.carried_over(bare, data, IMAGE)
    assert specs.desired_values(kept, "d1", None) == specs.desired_values(have, "d1", None)
    for key in ("command", "entrypoint", "env", "labels", "volumes", "restart", "hostname",
                "user", "workdir", "memory", "cpus"):  # fmt: skip
        assert getattr(kept, key) == getattr(have, key), key
    # what the spec sets wins; a new container from the result compares equal to the old one
    assert specs.carried_over(spec(memory="96m"), data, IMAGE).memory == 96 * 1024**2
    assert specs.diff_container(kept, "d1", inspect_of(kept, "d1"), IMAGE).changes == {}


@pytest.mark.reliability
def test_recreate_does_not_freeze_image_or_docker_defaults():
    plain = inspect_of(spec(), "d1")  # Cmd, Env, Labels, Hostname: all the image's or Docker's
    plain["Config"]["Cmd"] = ["sh"]
    image = {**IMAGE, "Config": {**IMAGE["Config"], "Cmd": ["sh"]}}
    assert specs.carried_over(spec(), plain, image) == spec()
    # the image is gone: only host settings are carried (image defaults cannot be told apart)
    data = inspect_of(spec(env={"A": "1"}, memory="64m", command=["x"]), "d1")
    kept = specs.carried_over(spec(), data, None)
    assert (kept.env, kept.command, kept.memory) == (None, None, 64 * 1024**2)


def test_network_mode_bridge_keeps_dockers_network_and_plugs_ours_in_as_eth1():
    s = spec(network_mode="bridge", networks=[{"bridge": "br0", "ip": "10.1.0.2/24"}])
    assert [n.interface for n in s.networks] == ["eth1"]
    assert specs.create_kwargs("c1", s, None)["host_config"]["NetworkMode"] == "bridge"
    assert specs.diff_container(s, None, inspect_of(s), IMAGE).changes == {}
    # created by hand on Docker's default network ("default" in its inspect): the same
    assert specs.diff_container(s, None, inspect_of(spec()), IMAGE).changes == {}
    none = spec(networks=[{"bridge": "br0"}])
    diff = specs.diff_container(s, None, inspect_of(none), IMAGE)
    assert diff.recreate == {"network_mode": {"old": "none", "new": "bridge"}}


@pytest.mark.parametrize(
    ("data", "path", "message"),
    [
        ({"network_mode": "host"}, "container:network_mode", "one of"),
        (
            {"network_mode": "bridge", "networks": [{"bridge": "br0", "interface": "eth0"}]},
            "container:networks:0:interface",
            "eth0 is Docker's with network_mode: bridge",
        ),
    ],
)
def test_bad_network_mode(data, path, message):
    from saltmesh.errors import PillarError

    with pytest.raises(PillarError) as err:
        spec(**data)
    assert any(p == path and message in m for p, m in err.value.problems), err.value.problems
