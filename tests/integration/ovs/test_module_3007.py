"""Salt 3007's ``openvswitch`` execution module: ours answers as Salt 3007.15's own.

:func:`calls` is one session of every function of the module (reads, writes, bad arguments),
run with ``salt-call`` on a fresh prefix; the answers are normalised (the prefix as ``P``,
uuids as ``UUID``) and so are the rows they leave (``ROWS`` steps). The calls between two
``ROWS`` steps share one Python process (:func:`tests.support.salt_calls.salt_calls`: each
answers as its own salt-call would, Salt's start-up paid once).

* Under Salt 3007 (the smoke job), ``test_salt_3007_own_module`` runs the session on a minion
  without saltmesh (Salt's own module; ``core_minion``) and then on ours, on the same OVS: the
  answers and rows are :data:`RECORDED` (recorded from Salt 3007's run) and ours are the same
  except :data:`FIXED`.
* Under any Salt, ``test_ours_answers_as_salt_3007`` runs the session on ours and compares with
  :data:`RECORDED` the same way, and checks that nothing logged an ERROR line or a traceback.

Salt's ``port_create_vlan`` looks for the port's network device where the minion runs, ours
where ovs-vswitchd runs (``saltmesh:netns``): the session's device ``Pd`` exists in both.
"""

from __future__ import annotations

import copy
import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.integration.ovs.conftest import rows
from tests.support.minion_log import MinionLog
from tests.support.salt_calls import salt_calls

pytestmark = pytest.mark.smoke

RECORDED = Path(__file__).parent / "data" / "salt3007_module.json"
RECORD = os.environ.get("SALTMESH_RECORD_3007") == "1"  # rewrite RECORDED from Salt 3007's run
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

# Our answers where Salt 3007's differ (docs/ovs.md, "Fixed relative to 3007"): 3007's answer is
# asserted to be different, so each entry is a real fix.
FIXED = {
    "ports-empty": {"ok": True, "data": []},  # 3007: [""]
    "vxlan-no-dst-port": {"ok": True, "data": True},  # 3007: TypeError (None < int)
    "vxlan-bad-dst-port": {"ok": True, "data": False},  # 3007: dst_port silently left out
    "vlan-bad-id": {"ok": True, "data": False},  # 3007: TypeError ("x" <= int)
    "set-map": {"ok": True, "data": None},  # 3007: the dict written as JSON, rejected
    "get-map-set": {"ok": True, "data": {"mac-table-size": "2048"}},
}


def calls(p: str) -> list[tuple]:
    """``(label, function, args...)`` or ``("ROWS", label)``; ``key=value`` args are kwargs."""
    b, f, nob = f"{p}b", f"{p}f", f"{p}nob"
    return [
        ("exists-missing", "bridge_exists", b),
        ("create", "bridge_create", b),
        ("create-strict-again", "bridge_create", b, "may_exist=False"),
        ("create-again", "bridge_create", b),
        ("fake-no-vlan", "bridge_create", f, f"parent={b}"),
        ("fake-no-parent", "bridge_create", f, "vlan=10"),
        ("fake", "bridge_create", f, f"parent={b}", "vlan=10"),
        ("fake-no-such-parent", "bridge_create", f"{p}x", f"parent={nob}", "vlan=10"),
        ("fake-bad-vlan", "bridge_create", f"{p}y", f"parent={b}", "vlan=5000"),
        ("bridge-list", "bridge_list"),
        ("exists-fake", "bridge_exists", f),
        ("parent-fake", "bridge_to_parent", f),
        ("parent-real", "bridge_to_parent", b),
        ("parent-missing", "bridge_to_parent", nob),
        ("vlan-fake", "bridge_to_vlan", f),
        ("vlan-real", "bridge_to_vlan", b),
        ("vlan-missing", "bridge_to_vlan", nob),
        ("ports-empty", "port_list", b),
        ("ports-missing", "port_list", nob),
        ("add-internal", "port_add", b, f"{p}i", "internal=True"),
        ("add-again", "port_add", b, f"{p}i"),
        ("add-may-exist", "port_add", b, f"{p}i", "may_exist=True"),
        ("add-no-bridge", "port_add", nob, f"{p}z"),
        ("vlan-new", "port_create_vlan", b, f"{p}l", "30", "internal=True"),
        ("vlan-retag", "port_create_vlan", b, f"{p}l", "31", "internal=True"),
        ("vlan-out-of-range", "port_create_vlan", b, f"{p}l", "4096", "internal=True"),
        ("vlan-bad-id", "port_create_vlan", b, f"{p}l", "x", "internal=True"),
        ("vlan-no-bridge", "port_create_vlan", nob, f"{p}m", "30", "internal=True"),
        ("vlan-no-netdev", "port_create_vlan", b, f"{p}nd", "30"),
        ("vlan-netdev", "port_create_vlan", b, f"{p}d", "40"),
        ("vlan-of-fake", "port_create_vlan", b, f"{p}t", "10", "internal=True"),
        ("ports", "port_list", b),
        ("ports-fake", "port_list", f),
        ("tag", "port_get_tag", f"{p}l"),
        ("tag-none", "port_get_tag", f"{p}i"),
        ("tag-missing", "port_get_tag", f"{p}nop"),
        ("gre", "port_create_gre", b, f"{p}g", "200", "10.99.1.2"),
        ("gre-rekey", "port_create_gre", b, f"{p}g", "201", "10.99.1.2"),
        ("gre-bad-key", "port_create_gre", b, f"{p}g2", "id=-1", "remote=10.99.1.2"),
        ("gre-bad-remote", "port_create_gre", b, f"{p}g2", "1", "not-an-ip"),
        ("gre-no-bridge", "port_create_gre", nob, f"{p}g2", "1", "10.99.1.2"),
        ("vxlan", "port_create_vxlan", b, f"{p}v", "5000", "10.99.1.4", "dst_port=4790"),
        ("vxlan-no-dst-port", "port_create_vxlan", b, f"{p}vn", "5001", "10.99.1.5"),
        ("vxlan-bad-dst-port", "port_create_vxlan", b, f"{p}v", "5000", "10.99.1.4", "dst_port=70000"),
        ("options-gre", "interface_get_options", f"{p}g"),
        ("options-vxlan", "interface_get_options", f"{p}v"),
        ("options-none", "interface_get_options", f"{p}i"),
        ("options-missing", "interface_get_options", f"{p}nop"),
        ("type-internal", "interface_get_type", f"{p}i"),
        ("type-gre", "interface_get_type", f"{p}g"),
        ("type-system", "interface_get_type", f"{p}d"),
        ("type-missing", "interface_get_type", f"{p}nop"),
        ("ROWS", "ports-made"),
        ("get-empty", "db_get", "Bridge", b, "fail_mode"),
        ("set", "db_set", "Bridge", b, "fail_mode", "secure"),
        ("get", "db_get", "Bridge", b, "fail_mode"),
        ("get-int", "db_get", "Port", f"{p}l", "tag"),
        ("get-uuid", "db_get", "Port", f"{p}l", "interfaces"),
        ("get-map", "db_get", "Interface", f"{p}g", "options"),
        ("get-bool", "db_get", "Port", f, "fake_bridge"),
        ("get-missing", "db_get", "Bridge", nob, "fail_mode"),
        ("get-missing-ok", "db_get", "Bridge", nob, "fail_mode", "if_exists=True"),
        ("get-bad-column", "db_get", "Bridge", b, "nocolumn"),
        ("set-int", "db_set", "Interface", f"{p}i", "mtu_request", "1400"),
        ("get-int-set", "db_get", "Interface", f"{p}i", "mtu_request"),
        ("set-list", "db_set", "Port", f"{p}l", "trunks", "[1, 2]"),
        ("get-list", "db_get", "Port", f"{p}l", "trunks"),
        ("set-map", "db_set", "Bridge", b, "other_config", '{"mac-table-size": "2048"}'),
        ("get-map-set", "db_get", "Bridge", b, "other_config"),
        ("set-missing", "db_set", "Bridge", nob, "fail_mode", "secure"),
        ("set-missing-ok", "db_set", "Bridge", nob, "fail_mode", "secure", "if_exists=True"),
        ("set-bad-value", "db_set", "Bridge", b, "fail_mode", "bogus"),
        ("ROWS", "db-set"),
        ("remove", "port_remove", b, f"{p}i"),
        ("remove-strict-missing", "port_remove", b, f"{p}i", "if_exists=False"),
        ("remove-missing", "port_remove", b, f"{p}i"),
        ("remove-any-bridge", "port_remove", "br=", f"port={p}g"),
        ("ports-after", "port_list", b),
        ("delete-fake", "bridge_delete", f),
        ("delete-missing", "bridge_delete", nob),
        ("delete-missing-strict", "bridge_delete", nob, "if_exists=False"),
        ("delete", "bridge_delete", b),
        ("exists-deleted", "bridge_exists", b),
        ("bridge-list-empty", "bridge_list"),
    ]  # fmt: skip


def answer(ret) -> dict:
    """What a salt-call gave: the error it printed (an exception), else whether it exited 0
    (3007's exit status is that of the failed ovs-vsctl) and its data."""
    starts = ("Error running", "Passed invalid arguments")
    errors = [line for line in ret.stderr.splitlines() if line.startswith(starts)]
    if errors:
        return {"error": errors[-1]}
    return {"ok": ret.returncode == 0, "data": ret.data}


def normalise(value: dict, p: str) -> dict:
    """An answer with ``P`` for ``p``, ``UUID`` for uuids, other tests' names left out."""
    data = value.get("data")
    if isinstance(data, list) and all(isinstance(v, str) for v in data):  # bridge_list
        value = {**value, "data": [v for v in data if v.startswith(p) or not v.startswith("smt")]}
    return json.loads(UUID_RE.sub("UUID", json.dumps(value).replace(p, "P")))


def cli_args(fun: str, *args: str) -> tuple[list[str], dict[str, str]]:
    """A call of :func:`calls` as ``cli.run``'s arguments: ``key=value`` ones as kwargs."""
    kwargs = dict(a.split("=", 1) for a in args if "=" in a and not a.startswith("{"))
    rest = [a for a in args if a not in {f"{k}={v}" for k, v in kwargs.items()}]
    return [f"openvswitch.{fun}", *rest], kwargs


def session(cli, ovs, p: str) -> dict:
    """Every call of :func:`calls` on ``cli``'s minion: ``{"answers": {...}, "rows": {...}}``.

    The calls between two ``ROWS`` steps run in one process (:func:`salt_calls`), each as its
    own salt-call would."""
    out: dict = {"answers": {}, "rows": {}}
    todo: list[tuple] = []
    for label, *call in [*calls(p), ("ROWS", None)]:  # None: the end, no rows read
        if label != "ROWS":
            todo.append((label, cli_args(*call)))
            continue
        rets = salt_calls(cli, [c for _, c in todo]) if todo else []
        for (done, _), ret in zip(todo, rets, strict=True):
            out["answers"][done] = normalise(answer(ret), p)
        todo = []
        if call[0] is not None:
            out["rows"][call[0]] = rows(ovs, p)
    return out


def ours_expected(recorded: dict) -> dict:
    """Salt 3007's session with our fixes: :data:`FIXED` answers, and the rows they change."""
    want = copy.deepcopy(recorded)
    for label, ours in FIXED.items():
        assert want["answers"][label] != ours, f"{label}: 3007 answers the same, not a fix"
        want["answers"][label] = ours
    for step in want["rows"].values():
        names = step["Bridge"]["Pb"]["ports"][1]
        names.append("Pvn")
        names.sort()
        step["Port"]["Pvn"] = {**step["Port"]["Pv"], "name": "Pvn", "interfaces": "Pvn"}
        step["Interface"]["Pvn"] = {
            **step["Interface"]["Pv"],
            "name": "Pvn",
            "options": ["map", [["key", "5001"], ["remote_ip", "10.99.1.5"]]],
        }
    want["answers"]["ports-after"]["data"].append("Pvn")
    want["rows"]["db-set"]["Bridge"]["Pb"]["other_config"] = ["map", [["mac-table-size", "2048"]]]
    return want


def assert_same(ours: dict, want: dict) -> None:
    """Each answer and each ``ROWS`` step as expected (the differing ones named)."""
    wrong = {
        k: {"ours": v, "want": want["answers"].get(k)}
        for k, v in ours["answers"].items()
        if v != want["answers"].get(k)
    }
    assert wrong == {}
    assert ours["answers"].keys() == want["answers"].keys()
    assert ours["rows"] == want["rows"]


@pytest.fixture
def netdev(ovs, prefix):
    """A network device ``<prefix>d`` (a veth) in this namespace and in the OVS's."""
    name = f"{prefix}d"
    for ns in ([], ["-n", ovs.netns]):
        subprocess.run(
            ["ip", *ns, "link", "add", name, "type", "veth", "peer", "name", f"{prefix}e"],
            check=True,
        )
    yield name
    for ns in ([], ["-n", ovs.netns]):
        subprocess.run(["ip", *ns, "link", "del", name], check=False, capture_output=True)


@pytest.mark.salt3007
def test_salt_3007_own_module(core_minion, salt_call_cli, ovs, prefix, netdev):
    # the session minion (synced) runs ours, the core minion Salt's own
    fun = "openvswitch.bridge_list"
    assert "New in version 2016.3.0" in core_minion.run("sys.doc", fun).data[fun]
    assert "New in version" not in salt_call_cli.run("sys.doc", fun).data[fun]
    dig = core_minion.stub / "dig"  # Salt 3007's tunnel functions need a dig binary
    dig.write_text("#!/bin/sh\nexit 0\n")
    dig.chmod(0o755)

    theirs = session(core_minion, ovs, prefix)
    ovs.reset(prefix)
    if RECORD:
        RECORDED.write_text(json.dumps(theirs, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(RECORDED.read_text())
    assert theirs == recorded
    ours = session(salt_call_cli, ovs, prefix)
    ovs.reset(prefix)
    assert_same(ours, ours_expected(recorded))


def test_ours_answers_as_salt_3007(salt_call_cli, salt_minion, ovs, prefix, netdev):
    log = MinionLog(salt_minion)
    try:
        ours = session(salt_call_cli, ovs, prefix)
    finally:
        ovs.reset(prefix)
    assert_same(ours, ours_expected(json.loads(RECORDED.read_text())))
    # an expected False, a bad argument, a failed write: no ERROR line, no traceback
    assert log.errors() == []
    assert log.tracebacks() == []
