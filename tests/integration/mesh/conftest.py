"""The mesh lab: four simulated Docker hosts, each with its own OVS and its own minion."""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import yaml

from tests.support.lab import Lab
from tests.support.net import dpctl_rx_packets
from tests.support.ovs import have_ovs, seed_foreign

HOSTS = 4


class MeshLab:
    def __init__(self, lab, minions, salt_cli, salt_run_cli, pillar_tree):
        self.lab = lab
        self.hosts = lab.hosts
        self.minions = minions  # host name -> minion factory
        self.salt_cli = salt_cli
        self.salt_run_cli = salt_run_cli
        self.pillar_tree = pillar_tree

    def set_pillar(self, hosts, servers_extra=None, **mesh):
        """The mesh pillar for ``hosts``; ``servers_extra``: more ``servers`` entries (e.g.
        containers whose MACs the flow topology's rules name)."""
        servers = {
            h.name: {
                "node_type": "docker_host",
                "address": h.underlay_ip,
                "minion_id": self.minions[h.name].id,
                "use": ["linux-server"],
            }
            for h in hosts
        }
        servers.update(servers_extra or {})
        data = {
            "servers": servers,
            "saltmesh": {
                "mesh": {
                    "bridge": "br-mesh",
                    "datapath_type": "netdev",
                    "key": 5000,
                    "underlay_mtu": 1600,
                    **mesh,
                }
            },
        }
        (self.pillar_tree / "saltmesh_test.sls").write_text(yaml.safe_dump(data))
        ret = self.run_on(self.minions.values(), "saltutil.refresh_pillar", "wait=True")
        assert ret.returncode == 0, ret

    def run_on(self, minions, *args, **kwargs):
        """``salt -L <ids> <args>`` (the factory puts its target before the arguments)."""
        ids = ",".join(sorted(m.id for m in minions))
        return self.salt_cli.run(ids, *args, minion_tgt="-L", **kwargs)

    def tunnel_rx(self, hosts) -> int:
        """Packets ``hosts`` received on the underlay (tunnel traffic), from live counters."""
        return sum(dpctl_rx_packets(h.ovs.appctl("dpctl/show", "-s"), ("eth0",)) for h in hosts)

    def reset(self):
        for h in self.hosts:  # the mesh bridge, and the tunnel bridge of topology flow
            h.ovs.vsctl(
                "--if-exists", "del-br", "br-mesh", "--", "--if-exists", "del-br", "br-mesh-tun"
            )


def _stop_all(factories):
    with ThreadPoolExecutor(len(factories)) as pool:
        list(pool.map(lambda m: m.terminate(), factories))


@pytest.fixture(scope="session")
def mesh_lab(salt_master, salt_cli, salt_run_cli, pillar_tree, tmp_path_factory):
    if not have_ovs() or not shutil.which("nft"):
        pytest.skip("needs Open vSwitch and nftables")
    prefix = "smt" + uuid.uuid4().hex[:4]
    lab = Lab(prefix, tmp_path_factory.mktemp("lab"), HOSTS)
    minions = {}
    with contextlib.ExitStack() as stack:
        stack.callback(lab.stop)
        lab.start()
        for h in lab.hosts:
            # netns: containers placed on this host attach to its OVS (tests/integration/mesh/
            # test_placement_lab.py); only the docker module reads it
            minions[h.name] = salt_master.salt_minion_daemon(
                f"{prefix}-m{h.index}",
                overrides={"saltmesh": {"ovsdb": h.ovs.db, "netns": h.netns}},
            )
        # minions start and stop in parallel: each one mostly waits on its own handshake
        with ThreadPoolExecutor(len(minions)) as pool:
            list(pool.map(lambda m: m.start(), minions.values()))
        stack.callback(_stop_all, list(minions.values()))
        mesh_lab = MeshLab(lab, minions, salt_cli, salt_run_cli, pillar_tree)
        ret = mesh_lab.run_on(minions.values(), "saltutil.sync_all")
        assert ret.returncode == 0, ret
        ret = salt_run_cli.run("saltutil.sync_all")
        assert ret.returncode == 0, ret
        yield mesh_lab
        (pillar_tree / "saltmesh_test.sls").write_text("{}\n")


@pytest.fixture(scope="session")
def foreign_mesh(mesh_lab):
    """Foreign rows on every host, seeded before the first mesh test: a bridge with an internal
    port, a tunnel and a ``vxlan-<hex>`` look-alike, and an internal port on the underlay bridge
    ``br-phy``. They must come out of every state and every prune of the suite byte-identical
    (checked after each test and at the end)."""
    prefix = "smt" + uuid.uuid4().hex[:4] + "f"
    extra = ("--", "add-port", "br-phy", f"{prefix}up", "external_ids:owner=ops",
             "--", "set", "Interface", f"{prefix}up", "type=internal")  # fmt: skip
    foreign = {h.name: seed_foreign(h.ovs, prefix, extra) for h in mesh_lab.hosts}
    yield foreign
    for host, rows in foreign.items():
        rows.assert_untouched(f"on {host} by the mesh suite")


@pytest.fixture(autouse=True)
def _fresh_bridges(request):
    if "mesh_lab" not in request.fixturenames:
        yield
        return
    lab = request.getfixturevalue("mesh_lab")
    foreign = request.getfixturevalue("foreign_mesh")
    lab.reset()
    yield
    for host, rows in foreign.items():
        rows.assert_untouched(f"on {host} by {request.node.name}")
    with contextlib.suppress(subprocess.CalledProcessError):
        lab.reset()


@pytest.fixture(params=["vxlan", "gre", "geneve"])
def tunnel(request):
    return request.param
