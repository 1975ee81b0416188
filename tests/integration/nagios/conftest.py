"""Session daemons for the Nagios tests: nagios4, NRPE and a Slack webhook recorder."""

from __future__ import annotations

import sys

import pytest

from tests.conftest import REPO
from tests.support.nagios import (
    NagiosInstance,
    NrpeInstance,
    SlackRecorder,
    have_nagios,
    have_nrpe,
)


@pytest.fixture(scope="session")
def nagios(tmp_path_factory):
    if not have_nagios():
        pytest.skip("nagios4 (and Debian's /etc/nagios4/objects) not installed")
    inst = NagiosInstance(tmp_path_factory.mktemp("nagios")).start()
    yield inst
    # the ownership guarantee over the whole suite: hand-written files survived every state
    problems = inst.foreign_problems()
    inst.stop()
    assert not problems, f"files saltmesh does not own were touched: {problems}"


@pytest.fixture(scope="session")
def nrpe():
    if not have_nrpe():
        pytest.skip("nagios-nrpe-server / nagios-nrpe-plugin not installed")
    inst = NrpeInstance().start()
    yield inst
    inst.stop()


@pytest.fixture(scope="session")
def slack():
    rec = SlackRecorder().start()
    yield rec
    rec.stop()


@pytest.fixture(scope="session")
def returners_synced(state_tree, salt_call_cli):
    """Expose _returners on the master's file_roots and sync them to the minion."""
    link = state_tree / "_returners"
    if not link.exists():
        link.symlink_to(REPO / "_returners")
    ret = salt_call_cli.run("saltutil.sync_returners")
    assert ret.returncode == 0, ret
    return ret.data


@pytest.fixture
def nagios_settings(nagios, slack, nrpe, tmp_path):
    """``saltmesh:nagios`` pointing the SLS at the private daemons (reload by signal)."""
    return {
        "main_config": str(nagios.cfg),
        "conf_dir": str(nagios.conf_dir),
        "reload": "signal",
        "packages": ["nagios4"],
        "servers": ["127.0.0.1"],
        "slack": {
            "webhook_url": slack.url,
            "url_file": str(nagios.root / "slack.url"),
            "script": str(nagios.root / "bin" / "slack-notify"),
            "python": sys.executable,
            "channel": "#ops",
        },
        "nrpe": {
            "main_config": str(nrpe.cfg),
            "include_dir": str(nrpe.include_dir),
            "pid_file": str(nrpe.pid_file),
            "reload": "signal",
            "packages": ["nagios-nrpe-server"],
            "commands": {
                # replaces the default command of that name (saltmesh.nagios.defaults)
                "check_users": "/usr/lib/nagios/plugins/check_users -w 50 -c 100",
                "saltmesh_hello": "/usr/lib/nagios/plugins/check_dummy 0 hello-from-saltmesh",
            },
        },
    }
