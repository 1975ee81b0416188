"""Shared fixtures: a real Salt master and minion (pytest-salt-factories), private OVS daemons.

Daemons are session-scoped: every integration test shares one master, one minion and one OVS
instance, and tests isolate themselves with unique names (the ``prefix`` fixture).
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
import uuid
from pathlib import Path

import pytest
import yaml

from tests.support import wheel
from tests.support.ovs import have_ovs, ovs_in_netns

REPO = Path(__file__).resolve().parent.parent


def pytest_unconfigure(config):
    # Salt's deferred log handlers flush at interpreter exit into streams pytest has closed;
    # those records were already shown through the factories' log server.
    logging.raiseExceptions = False


def pytest_collection_modifyitems(config, items):
    """Skip whatever needs root or daemons when they are missing, with the reason."""
    for item in items:
        if "integration" in item.path.parts and os.geteuid() != 0:
            item.add_marker(pytest.mark.skip(reason="integration tests run as root"))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With SALTMESH_NO_SKIP=1 (``make test``, CI) a skipped integration test is a failure:
    a missing daemon or package must not turn a proof into a silent pass."""
    outcome = yield
    report = outcome.get_result()
    if report.skipped and "integration" in item.path.parts and os.environ.get("SALTMESH_NO_SKIP"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else report.longrepr
        report.outcome = "failed"
        report.longrepr = f"skipped, and SALTMESH_NO_SKIP is set: {reason}"


@pytest.fixture(scope="session")
def salt_factories_config() -> dict:
    """salt-factories writes its daemon and CLI scripts once per ``root_dir`` and reuses them
    (``saltfactories.utils.cli_scripts.generate_script`` skips an existing file), and each
    script pins the site-packages of the interpreter that wrote it. With the default root
    (``/tmp``) a Salt 3007 session would run the daemons of whichever venv wrote
    ``/tmp/scripts`` first: a root per interpreter keeps each job on its own Salt."""
    root = (
        Path(tempfile.gettempdir())
        / f"smt-sf-{hashlib.sha256(sys.prefix.encode()).hexdigest()[:8]}"
    )
    root.mkdir(exist_ok=True)
    return {"root_dir": root}


@pytest.fixture
def prefix() -> str:
    """A short unique prefix for names a test creates on shared daemons (bridges, containers)."""
    return "smt" + uuid.uuid4().hex[:5]


@pytest.fixture(scope="session")
def state_tree(tmp_path_factory) -> Path:
    """file_roots for the master: the SLS tree plus the _* folders, as a user would set it up.

    Symlinks keep the repo's .venv and tests out of the fileserver's walk.
    """
    root = tmp_path_factory.mktemp("file_roots")
    for name in ("_modules", "_states", "_runners", "_returners", "_engines", "_pillar", "_utils"):
        (root / name).symlink_to(REPO / name)
    return root


@pytest.fixture(scope="session")
def pillar_tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("pillar_roots")
    (root / "top.sls").write_text("base:\n  '*':\n    - saltmesh_test\n")
    (root / "saltmesh_test.sls").write_text("{}\n")
    return root


@pytest.fixture(scope="session")
def wheel_site(tmp_path_factory) -> Path:
    """The pip route: a real wheel of the checkout installed with ``pip install --target``."""
    return wheel.build_site(tmp_path_factory.mktemp("wheel"))


@pytest.fixture(scope="session")
def ovs(tmp_path_factory):
    """One private OVS instance (userspace datapath) in a network namespace of its own.

    Each userspace vswitchd owns an ``ovs-netdev`` device in its namespace, so two of them in
    one namespace collide; a namespace per instance keeps concurrent sessions apart.
    """
    if not have_ovs():
        pytest.skip("Open vSwitch binaries not installed")
    with ovs_in_netns(tmp_path_factory.mktemp("ovs"), f"smt{uuid.uuid4().hex[:6]}-ovs") as inst:
        yield inst


@pytest.fixture(scope="session")
def salt_master(salt_factories, state_tree, pillar_tree):
    config = {
        "file_roots": {"base": [str(REPO / "salt"), str(state_tree)]},
        "pillar_roots": {"base": [str(pillar_tree)]},
        "runner_dirs": [],
        "fileserver_followsymlinks": True,
    }
    factory = salt_factories.salt_master_daemon(
        "smt-master-" + uuid.uuid4().hex[:6], overrides=config
    )
    with factory.started():
        yield factory


@pytest.fixture(scope="session")
def salt_minion(salt_master, ovs):
    config = {"saltmesh": {"ovsdb": ovs.db, "netns": ovs.netns}}
    factory = salt_master.salt_minion_daemon("smt-minion-" + uuid.uuid4().hex[:6], overrides=config)
    with factory.started():
        ret = factory.salt_call_cli().run("saltutil.sync_all")
        assert ret.returncode == 0, ret
        yield factory


@pytest.fixture(scope="session")
def salt_call_cli(salt_minion):
    return salt_minion.salt_call_cli(timeout=300)


@pytest.fixture(scope="session")
def salt_run_cli(salt_master):
    return salt_master.salt_run_cli(timeout=300)


@pytest.fixture(scope="session")
def salt_cli(salt_master):
    return salt_master.salt_cli(timeout=300)


class Pillar:
    """Writes the test pillar and refreshes the given minions, so states see it."""

    def __init__(self, tree: Path, salt_cli, minion_ids: list[str]):
        self.tree = tree
        self.salt_cli = salt_cli
        self.minion_ids = minion_ids

    def set(self, data: dict) -> None:
        (self.tree / "saltmesh_test.sls").write_text(yaml.safe_dump(data, sort_keys=False))
        for mid in self.minion_ids:
            ret = self.salt_cli.run("saltutil.refresh_pillar", "wait=True", minion_tgt=mid)
            assert ret.returncode == 0, ret

    def clear(self) -> None:
        self.set({})


@pytest.fixture
def pillar(pillar_tree, salt_cli, salt_minion):
    p = Pillar(pillar_tree, salt_cli, [salt_minion.id])
    yield p
    p.clear()


def state_ret(ret) -> list[dict]:
    """The state results of a salt-call/salt run, in order."""
    data = ret.data
    if isinstance(data, dict) and all(isinstance(v, dict) and "result" in v for v in data.values()):
        return sorted(data.values(), key=lambda r: r.get("__run_num__", 0))
    raise AssertionError(f"not a state return: {ret}")


def state_of(ret, sid: str) -> dict:
    """The result of the state with ID ``sid`` in a salt-call/salt run."""
    found = [r for r in state_ret(ret) if r.get("__id__") == sid]
    assert len(found) == 1, f"no single state {sid!r} in {ret}"
    return found[0]


def placement_steps(ret) -> dict[tuple[str, str], dict]:
    """``{(phase, minion): its container.placed result}`` of a ``state.orchestrate
    orch.placement`` run (the minion's other state, mesh.discovery's, left out); every phase
    and every state must have succeeded."""
    assert ret.returncode == 0, ret.stdout
    (steps,) = ret.data["data"].values()
    out = {}
    for key, step in steps.items():
        assert step["result"] is not False, step
        for minion, states in (step["changes"].get("ret") or {}).items():
            assert all(r["result"] is not False for r in states.values()), states
            ids = ("saltmesh-containers", "saltmesh-containers-prune")
            (one,) = [r for r in states.values() if r["__id__"] in ids]
            out[(key.split("_|-")[1], minion)] = one
    return out


def changed(ret) -> list[dict]:
    return [r for r in state_ret(ret) if r["changes"]]


@pytest.fixture(scope="session")
def which():
    return shutil.which
