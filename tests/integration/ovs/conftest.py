"""OVS state tests: the session minion points at the private ``ovs`` instance.

``salt_states`` applies high data (the same structure as an SLS) through ``state.high`` and the
``cycle`` helper runs the standard proof on it: ``test=True`` predicts changes and touches
nothing, the real run reports exactly the predicted changes, a second run reports none.
"""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from dataclasses import asdict

import pytest
import yaml

from saltmesh.ovs.bridge import diff_bridge
from saltmesh.ovs.ovsdb import Ovsdb
from saltmesh.ovs.port import diff_port
from saltmesh.ovs.spec import PortSpec
from tests.conftest import state_ret
from tests.support.minion_log import MinionLog
from tests.support.ovs import seed_foreign


def pytest_collection_modifyitems(config, items):
    """Tests marked ``salt3007`` need Salt 3007's own openvswitch_* states: deselected (not
    skipped: a skip fails ``make test``) under any other Salt."""
    import salt.version

    if salt.version.__version__.startswith("3007."):
        return
    drop = [i for i in items if i.get_closest_marker("salt3007")]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = [i for i in items if not i.get_closest_marker("salt3007")]


def sls(text: str) -> dict:
    """An SLS document (YAML text) as high data for ``state.high``.

    ``order`` keeps the file order, as ``state.apply`` of an SLS file would (``state.high``
    alone sorts states by module and name).
    """
    high = yaml.safe_load(text)
    out = {}
    for n, (sid, body) in enumerate(high.items(), start=1):
        out[sid] = {}
        for key, args in body.items():
            mod, fun = key.split(".", 1)
            out[sid][mod] = [fun, *(args or []), {"order": n}]
    return out


class States:
    def __init__(self, salt_call_cli, ovs):
        self.cli = salt_call_cli
        self.ovs = ovs
        self.db = Ovsdb(ovs.db)

    def run(self, high: dict | str, test: bool = False) -> list[dict]:
        if isinstance(high, str):
            high = sls(high)
        ret = self.cli.run("state.high", json.dumps(high), test=test)
        assert ret.data, ret
        return state_ret(ret)

    def single(self, fun: str, name: str, test: bool = False, **kwargs) -> dict:
        ret = self.cli.run("state.single", fun, name=name, test=test, **kwargs)
        (res,) = state_ret(ret)
        return res

    def bridge(self, *names: str) -> None:
        """Set up netdev bridges directly (not through Salt: fast test setup)."""
        for name in names:
            self.db.transact(diff_bridge(name, self.db.snapshot(), datapath_type="netdev")[0])

    def port(self, name: str, bridge: str, **fields) -> None:
        """Set up a port directly through the core."""
        self.db.transact(
            diff_port(PortSpec(name=name, bridge=bridge, **fields), self.db.snapshot())[0]
        )

    def ovs_state(self) -> dict:
        """Everything a state may change, minus volatile runtime columns."""
        snap = self.db.snapshot()
        ifaces = {
            n: (i.type, i.options, i.external_ids, i.mtu_request, i.bfd, i.port)
            for n, i in snap.interfaces.items()
        }
        ovs_row = {k: snap.open_vswitch[k] for k in ("other_config", "external_ids")}
        return {
            "bridges": {n: asdict(b) for n, b in snap.bridges.items()},
            "ports": {n: asdict(p) for n, p in snap.ports.items()},
            "interfaces": ifaces,
            "ovs": ovs_row,
        }

    def cycle(self, high: dict | str, expect_changes: bool = True) -> list[dict]:
        """test=True (prediction, nothing touched) -> real run (== prediction) -> no-op run."""
        before = self.ovs_state()
        predicted = self.run(high, test=True)
        assert self.ovs_state() == before, "test=True changed OVS"
        for r in predicted:
            assert r["result"] is (None if r["changes"] else True), r
        real = self.run(high)
        for r in real:
            assert r["result"] is True, r
        assert [r["changes"] for r in real] == [r["changes"] for r in predicted]
        if expect_changes:
            assert any(r["changes"] for r in real), real
        again = self.run(high)
        assert [r["changes"] for r in again] == [{} for _ in again], again
        assert all(r["result"] is True for r in again), again
        return real


@pytest.fixture
def states(salt_call_cli, ovs, prefix):
    s = States(salt_call_cli, ovs)
    yield s
    ovs.reset(prefix)


@pytest.fixture
def veth_pairs(ovs, prefix):
    """Create veth pairs ``<prefix><suffix>`` <-> ``<prefix><suffix>p`` (both up) in the session
    OVS's network namespace, where its ovs-vswitchd can open them; removed after."""
    made: list[str] = []

    def make(*suffixes: str) -> list[str]:
        names = [f"{prefix}{s}" for s in suffixes]
        for name in names:
            subprocess.run(["ip", "-n", ovs.netns, "link", "add", name, "type", "veth", "peer",
                            "name", f"{name}p"], check=True)  # fmt: skip
            made.append(name)
            for end in (name, f"{name}p"):
                subprocess.run(["ip", "-n", ovs.netns, "link", "set", end, "up"], check=True)
        return names

    yield make
    for name in made:
        subprocess.run(["ip", "-n", ovs.netns, "link", "del", name], check=False,
                       capture_output=True)  # fmt: skip


@pytest.fixture
def minion_log(salt_minion):
    """The minion log from the start of the test on."""
    return MinionLog(salt_minion)


@pytest.fixture(scope="session")
def foreign_ovs(ovs):
    """Foreign rows on the session OVS, seeded before the first OVS test: they must come out of
    every state of the suite byte-identical (checked after each test and at the end)."""
    foreign = seed_foreign(ovs, "smt" + uuid.uuid4().hex[:4] + "f")
    yield foreign
    foreign.assert_untouched("by the OVS suite")


@pytest.fixture(autouse=True)
def _foreign_rows_untouched(request):
    """After every test that used the session OVS: the foreign rows are exactly as seeded."""
    if "ovs" not in request.fixturenames:
        yield
        return
    foreign = request.getfixturevalue("foreign_ovs")
    yield
    foreign.assert_untouched(f"by {request.node.name}")


def rows(ovs, p: str) -> dict:
    """The prefix's Bridge/Port/Interface rows, every configuration column, ``P`` for ``p``."""
    got = ovs.config_rows("Bridge", "Port", "Interface")
    mine = {t: {n: r for n, r in got[t].items() if n.startswith(p)} for t in got}
    return json.loads(json.dumps(mine).replace(p, "P"))


@pytest.fixture(scope="module")
def core_minion(salt_master, ovs, tmp_path_factory):
    """A minion with none of saltmesh's modules: its ``openvswitch`` module and
    ``openvswitch_*`` states are Salt's own (module scope: a minion per test module using it).

    Salt 3007's ``openvswitch`` module runs plain ``ovs-vsctl`` (no ``--db``): the minion's
    ``OVS_RUNDIR`` points that at the session OVS. Its ``dig`` module only checks that a ``dig``
    binary exists (``dig.check_ip`` is pure Python): ``bin/dig`` on its PATH, created by the test
    when wanted, stands in for one.
    """
    stub = tmp_path_factory.mktemp("bin")
    env = {"OVS_RUNDIR": str(ovs.dir), "PATH": f"{stub}:{os.environ['PATH']}"}
    factory = salt_master.salt_minion_daemon("smt-core-" + uuid.uuid4().hex[:6])  # never synced
    # copies: the factories manager's own environ dict is shared by every daemon and CLI
    factory.environ = {**factory.environ, **env}
    with factory.started():
        cli = factory.salt_call_cli(timeout=300)
        cli.environ = {**cli.environ, **env}
        assert cli.run("test.version").data.startswith("3007.")
        doc = cli.run("sys.state_doc", "openvswitch_port.present").data
        assert "Ensures that the named port exists on bridge" in doc["openvswitch_port.present"]
        cli.stub = stub
        yield cli
