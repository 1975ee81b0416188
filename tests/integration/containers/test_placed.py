"""container.placed / state.sls containers: pillar-driven containers attached to OVS."""

from __future__ import annotations

import pytest

from tests.conftest import state_of, state_ret
from tests.support import docker as d
from tests.support.net import received

pytestmark = pytest.mark.usefixtures("docker_ok")


def placed(cli, host, test=False):
    ret = cli.run(
        "state.single", "container.placed", name="containers", host=host.name, test=test, **host.kw
    )
    assert ret.returncode in (0, 1), ret
    (one,) = state_ret(ret)
    return one


def container(image, parent, ip, mac, bridge, **extra):
    return {
        "node_type": "container",
        "address": ip.split("/")[0],
        "parents": parent,
        "container": {
            "image": image,
            "networks": [{"bridge": bridge, "ip": ip, "mac": mac, "mtu": 1450}],
            **extra,
        },
    }


def servers(minion_id, hosts, **containers):
    out = {
        h.name: {
            "node_type": "docker_host",
            "address": f"10.250.0.{i + 1}",
            "minion_id": minion_id if i == 0 else f"{h.name}-minion",
        }
        for i, h in enumerate(hosts)
    }
    out.update(containers)
    return {"servers": out}


def exec_in(name, *argv):
    return d.docker("exec", name, *argv, check=False)


def test_attach_ping_restart_orphans(
    salt_call_cli, salt_minion, pillar, busybox, prefix, bridge, docker_hosts
):
    host_a = docker_hosts[0]
    c1, c2 = f"{prefix}c1", f"{prefix}c2"
    httpd = ["httpd", "-f", "-p", "80", "-h", "/www"]
    pillar.set(
        servers(
            salt_minion.id,
            docker_hosts,
            **{
                c1: container(busybox, host_a.name, "10.77.0.11/24", "02:77:00:00:00:11", bridge,
                              command=d.SLEEPER),
                c2: container(busybox, host_a.name, "10.77.0.12/24", "02:77:00:00:00:12", bridge,
                              command=httpd, env={"ROLE": "web"}),
            },
        )
    )  # fmt: skip

    pred = placed(salt_call_cli, host_a, test=True)
    assert pred["result"] is None and sorted(pred["changes"]) == [c1, c2]
    assert d.containers(prefix) == [] and host_a.ovs.ports(bridge) == []

    ret = placed(salt_call_cli, host_a)
    assert ret["result"] is True, ret
    assert ret["changes"] == pred["changes"]
    assert ret["changes"][c1]["created"] == c1
    assert ret["changes"][c1]["networks"]["eth0"]["new"]["ip"] == "10.77.0.11/24"
    assert d.containers(prefix) == [c1, c2]
    assert d.inspect(c1)["HostConfig"]["NetworkMode"] == "none"
    assert len(host_a.ovs.ports(bridge)) == 2
    ifaces = {r["name"]: dict(r["external_ids"][1]) for r in host_a.ovs.table("Interface")}
    owners = sorted(ext.get("saltmesh-container", "") for ext in ifaces.values())
    assert [o for o in owners if o] == [c1, c2]
    assert all(len(n) <= 15 for n in ifaces)

    assert placed(salt_call_cli, host_a)["changes"] == {}

    # L3 and TCP through the userspace bridge (checksum offload is off inside)
    assert received(exec_in(c1, "ping", "-c", "2", "-W", "2", "10.77.0.12")) == 2
    assert "hello from saltmesh" in exec_in(
        c1, "wget", "-q", "-O", "-", "http://10.77.0.12/index.html"
    )
    assert exec_in(c1, "ip", "link", "show", "eth0").count("02:77:00:00:00:11") == 1

    # docker restart loses the attachment; the next run restores it
    d.docker("restart", "-t", "1", c2)
    assert received(exec_in(c1, "ping", "-c", "1", "-W", "1", "10.77.0.12")) == 0
    pred = placed(salt_call_cli, host_a, test=True)
    assert pred["changes"] == {
        c2: {"networks": {"eth0": {"old": "container restarted", "new": pred["changes"][c2]["networks"]["eth0"]["new"]}}}
    }  # fmt: skip
    ret = placed(salt_call_cli, host_a)
    assert ret["changes"] == pred["changes"]
    assert "hello from saltmesh" in exec_in(
        c1, "wget", "-q", "-O", "-", "http://10.77.0.12/index.html"
    )
    assert placed(salt_call_cli, host_a)["changes"] == {}

    # an orphan port: our external_ids, container gone -> removed; foreign ports stay
    ghost, foreign = "vsm000000000000", f"{prefix}f"
    host_a.ovs.vsctl(
        "add-port", bridge, ghost, "--", "set", "Interface", ghost, "type=internal",
        "--", "set", "Port", ghost, f"external_ids:saltmesh-container={prefix}ghost",
        "--", "add-port", bridge, foreign, "--", "set", "Interface", foreign, "type=internal",
    )  # fmt: skip
    pred = placed(salt_call_cli, host_a, test=True)
    assert pred["changes"] == {"orphan_ports": {"removed": [ghost]}}
    assert ghost in host_a.ovs.ports(bridge)
    assert placed(salt_call_cli, host_a)["changes"] == pred["changes"]
    assert ghost not in host_a.ovs.ports(bridge) and foreign in host_a.ovs.ports(bridge)

    # c2 leaves the pillar: container and port go, c1 untouched
    c1_id = d.inspect(c1)["Id"]
    data = servers(salt_minion.id, docker_hosts, **{c1: container(
        busybox, host_a.name, "10.77.0.11/24", "02:77:00:00:00:11", bridge, command=d.SLEEPER)})  # fmt: skip
    pillar.set(data)
    ret = placed(salt_call_cli, host_a)
    assert ret["changes"][c2] == {"removed": c2}
    assert len(ret["changes"]["orphan_ports"]["removed"]) == 1
    assert d.containers(prefix) == [c1] and d.inspect(c1)["Id"] == c1_id
    assert placed(salt_call_cli, host_a)["changes"] == {}


def test_move_between_parents(
    salt_call_cli, salt_minion, pillar, busybox, prefix, bridge, docker_hosts
):
    host_a, host_b = docker_hosts
    name = f"{prefix}m"

    def declare(parent):
        pillar.set(servers(salt_minion.id, docker_hosts, **{name: container(
            busybox, parent.name, "10.77.1.5/24", "02:77:00:00:01:05", bridge, command=d.SLEEPER)}))  # fmt: skip

    declare(host_a)
    assert placed(salt_call_cli, host_a)["changes"][name]["created"] == name
    assert placed(salt_call_cli, host_b)["changes"] == {}
    assert len(host_a.ovs.ports(bridge)) == 1

    declare(host_b)
    pred = placed(salt_call_cli, host_a, test=True)
    assert pred["changes"][name] == {"removed": name}
    assert d.containers(prefix) == [name]
    ret = placed(salt_call_cli, host_a)
    assert ret["changes"] == pred["changes"]
    assert d.containers(prefix) == [] and host_a.ovs.ports(bridge) == []
    ret = placed(salt_call_cli, host_b)
    assert ret["changes"][name]["created"] == name
    assert d.inspect(name)["Config"]["Labels"]["saltmesh.host"] == host_b.name
    assert len(host_b.ovs.ports(bridge)) == 1
    assert placed(salt_call_cli, host_a)["changes"] == {}
    assert placed(salt_call_cli, host_b)["changes"] == {}


def test_state_sls_containers_and_bad_pillar(salt_call_cli, salt_minion, pillar, busybox, prefix):
    host, name = f"{prefix}h", f"{prefix}s1"
    good = {
        "servers": {
            host: {
                "node_type": "docker_host",
                "address": "10.251.0.1",
                "minion_id": salt_minion.id,
            },
            name: {
                "node_type": "container",
                "address": "10.251.1.1",
                "parents": host,
                "container": {"image": busybox, "command": d.SLEEPER, "env": {"A": "1"}},
            },
        }
    }
    pillar.set(good)
    one = state_of(salt_call_cli.run("state.sls", "containers"), "saltmesh-containers")
    assert one["result"] is True and one["changes"] == {name: {"created": name}}, one
    assert "A=1" in d.inspect(name)["Config"]["Env"]
    one = state_of(salt_call_cli.run("state.sls", "containers"), "saltmesh-containers")
    assert one["changes"] == {}

    bad = {"servers": {**good["servers"]}}
    bad["servers"][f"{prefix}b1"] = {
        "node_type": "container", "address": "10.251.1.2", "parents": "nosuchhost",
        "container": {"image": busybox},
    }  # fmt: skip
    bad["servers"][f"{prefix}b2"] = {
        "node_type": "container", "address": "10.251.1.3", "parents": host,
        "container": {"image": busybox, "networks": [
            {"bridge": "br-x", "ip": "10.9.0.1/24"}, {"bridge": "br-x", "ip": "10.9.0.1/24"}]},
    }  # fmt: skip
    bad["servers"][name]["container"]["env"] = {"A": "2"}
    pillar.set(bad)
    before = d.inspect(name)["Id"]
    one = state_of(salt_call_cli.run("state.sls", "containers"), "saltmesh-containers")
    assert one["result"] is False
    assert f"servers:{prefix}b1:parents:0: unknown parent 'nosuchhost'" in one["comment"]
    assert f"servers:{prefix}b2:container:networks:1:ip" in one["comment"]
    assert "Traceback" not in one["comment"]
    assert d.containers(prefix) == [name] and d.inspect(name)["Id"] == before

    # the container leaves the pillar: removed from its host
    pillar.set({"servers": {host: good["servers"][host]}})
    one = state_of(salt_call_cli.run("state.sls", "containers"), "saltmesh-containers")
    assert one["changes"] == {name: {"removed": name}}
    assert d.containers(prefix) == []
