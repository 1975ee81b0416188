"""Batched ovs_port/ovs_bridge states (issue 11): one OVSDB transaction for a run's contiguous
port/bridge states, each state reporting exactly what it reports alone.

Every ``ovs-vsctl`` the minion runs is logged by a wrapper first on the PATH of ``salt-call``,
so the transactions are counted from outside saltmesh; the same SLS is also applied with
batching turned off (pillar ``saltmesh:ovs_batch: false``) and the returns and the OVS rows are
compared.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.integration.ovs.conftest import States, rows, sls

WRITES = {"add-br", "del-br", "add-port", "del-port", "add-bond", "set", "remove", "clear",
          "add", "create", "destroy"}  # fmt: skip
KEEP = ("name", "result", "comment", "changes")


class Counted(States):
    """``States`` through a salt-call whose ``ovs-vsctl`` is a logging wrapper."""

    def __init__(self, cli, ovs, log):
        super().__init__(cli, ovs)
        self.log = log

    def run(self, high, test=False):
        """Apply SLS text; every state carries ``__sls__`` as from a file (Salt's requisite
        failure message needs it)."""
        high = sls(high)
        for body in high.values():
            body["__sls__"] = "batch"
            body["__env__"] = "base"
        self.log.write_text("")
        return super().run(high, test=test)

    def calls(self) -> list[list[str]]:
        return [line.split() for line in self.log.read_text().splitlines()]

    def writes(self) -> list[list[str]]:
        return [c for c in self.calls() if WRITES.intersection(c)]


@pytest.fixture
def counted(salt_minion, ovs, prefix, tmp_path):
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "vsctl.log"
    wrapper = bindir / "ovs-vsctl"
    wrapper.write_text(
        f'#!/bin/sh\nprintf \'%s\\n\' "$*" >> "{log}"\nexec "{shutil.which("ovs-vsctl")}" "$@"\n'
    )
    wrapper.chmod(0o755)
    cli = salt_minion.salt_call_cli(timeout=300)
    cli.environ = {**cli.environ, "PATH": f"{bindir}:{os.environ['PATH']}"}
    yield Counted(cli, ovs, log)
    ovs.reset(prefix)


def _sls(p: str) -> str:
    """Two bridges and 30 ports: tunnels (some requiring their bridge), a patch pair across the
    bridges, an internal port with a VLAN tag."""
    out = [
        f"{p}a:\n  ovs_bridge.present:\n    - datapath_type: netdev\n",
        f"{p}b:\n  ovs_bridge.present:\n    - datapath_type: netdev\n    - fail_mode: secure\n"
        f"    - external_ids: {{saltmesh-mesh: m1}}\n",
    ]
    for i in range(27):
        br = f"{p}a" if i < 20 else f"{p}b"
        req = f"    - require:\n      - ovs_bridge: {br}\n" if i % 3 == 0 else ""
        out.append(
            f"{p}v{i:02d}:\n  ovs_port.present:\n    - bridge: {br}\n    - type: vxlan\n"
            f'    - options: {{remote_ip: 10.9.0.{i + 1}, key: "{5000 + i}"}}\n'
            f"    - protected: true\n{req}"
        )
    out.append(f"{p}pa:\n  ovs_port.present:\n    - bridge: {p}a\n    - type: patch\n"
               f"    - options: {{peer: {p}pb}}\n")  # fmt: skip
    out.append(f"{p}pb:\n  ovs_port.present:\n    - bridge: {p}b\n    - type: patch\n"
               f"    - options: {{peer: {p}pa}}\n")  # fmt: skip
    out.append(f"{p}i:\n  ovs_port.present:\n    - bridge: {p}a\n    - type: internal\n"
               "    - tag: 7\n")  # fmt: skip
    return "".join(out)


def _kept(results: list[dict]) -> list[dict]:
    """What a state reports (a cmd.run's pid left out)."""
    out = [{k: r[k] for k in KEEP} for r in results]
    for r in out:
        r["changes"] = {k: v for k, v in r["changes"].items() if k != "pid"}
    return out


@pytest.mark.smoke
def test_thirty_ports_two_bridges_one_transaction_same_returns_as_alone(
    counted, pillar, prefix, ovs
):
    sls = _sls(prefix)

    # the reference: batching off, one transaction per state
    pillar.set({"saltmesh": {"ovs_batch": False}})
    alone = counted.run(sls)
    assert len(alone) == 32 and all(r["result"] is True and r["changes"] for r in alone), alone
    assert len(counted.writes()) == 32
    alone_rows = rows(ovs, prefix)
    ovs.reset(prefix)
    pillar.clear()

    # test=True: the same prediction, nothing touched, no write
    before = counted.ovs_state()
    predicted = counted.run(sls, test=True)
    assert counted.ovs_state() == before and counted.writes() == []
    assert [r["changes"] for r in predicted] == [r["changes"] for r in alone]
    assert all(r["result"] is None for r in predicted), predicted

    # batched: ONE write for the 32 states, each return exactly as alone, the same rows
    batched = counted.run(sls)
    (write,) = counted.writes()
    assert write.count("add-port") == 30 and write.count("add-br") == 2
    assert _kept(batched) == _kept(alone)
    assert rows(ovs, prefix) == alone_rows

    # second apply: no changes, no write
    again = counted.run(sls)
    assert [r["changes"] for r in again] == [{}] * 32 and counted.writes() == []
    assert all(r["result"] is True for r in again), again


def _mixed(p: str, log) -> str:
    def port(n: str, extra: str = "") -> str:
        return (f"{p}{n}:\n  ovs_port.present:\n    - bridge: {p}a\n    - type: vxlan\n"
                f"    - options: {{remote_ip: 10.9.1.{len(n)}, key: \"{n}\"}}\n{extra}")  # fmt: skip

    return (
        f"{p}fail:\n  test.fail_without_changes: []\n"
        f"{p}a:\n  ovs_bridge.present:\n    - datapath_type: netdev\n"
        + port("1")
        + port("2", f"    - require:\n      - test: {p}fail\n")
        + port("3", "    - tag: 9999\n")
        + port("4")
        + f"{p}mark:\n  cmd.run:\n    - name: sh -c 'echo MARK >> {log}'\n"
        + port("5", f"    - require:\n      - cmd: {p}mark\n")
        + port("6")
    )


def test_failed_requisite_bad_chunk_and_an_ordering_barrier(counted, pillar, prefix, ovs):
    sls = _mixed(prefix, counted.log)
    pillar.set({"saltmesh": {"ovs_batch": False}})
    alone = counted.run(sls)
    alone_rows = rows(ovs, prefix)
    ovs.reset(prefix)
    pillar.clear()

    batched = counted.run(sls)
    assert _kept(batched) == _kept(alone)
    assert rows(ovs, prefix) == alone_rows
    by_name = {r["name"]: r for r in batched}
    # the port whose requisite failed was not applied; the invalid one failed alone, naming why
    assert by_name[f"{prefix}2"]["result"] is False and not by_name[f"{prefix}2"]["changes"]
    assert "requisite" in by_name[f"{prefix}2"]["comment"].lower()
    assert by_name[f"{prefix}3"]["result"] is False
    assert (
        "tag" in by_name[f"{prefix}3"]["comment"]
        and f"{prefix}3" in by_name[f"{prefix}3"]["comment"]
    )
    snap = counted.db.snapshot()
    assert f"{prefix}2" not in snap.ports and f"{prefix}3" not in snap.ports
    assert {f"{prefix}{n}" for n in "1456"} <= set(snap.ports)
    # two transactions, split by the cmd.run: the bridge, 1 and 4 before it, 5 and 6 after it
    log = [line.split() for line in counted.log.read_text().splitlines()]
    marks = [i for i, c in enumerate(log) if c == ["MARK"]]
    writes = [(i, c) for i, c in enumerate(log) if WRITES.intersection(c)]
    assert len(marks) == 1 and len(writes) == 2, log
    (i1, w1), (i2, w2) = writes
    assert i1 < marks[0] < i2
    assert {f"{prefix}1", f"{prefix}4", f"{prefix}a"} <= set(w1) and "add-br" in w1
    assert {f"{prefix}5", f"{prefix}6"} <= set(w2)
