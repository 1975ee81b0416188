"""The Nagios bad-input corpus (tests/reliability/corpus/nagios) through the real minion.

Each malformed pillar, applied with ``state.apply nagios.running`` (and ``nagios.nrpe`` when
the culprit is a ``saltmesh:nagios`` setting, which both read) through the master and the
minion daemon: one state runs and fails naming the culprit; nothing is installed, written or
reloaded; no traceback in the output or the minion log.
"""

from __future__ import annotations

import copy
import json

import pytest

from tests.integration.nagios.test_reliability import NRPE_ID
from tests.integration.nagios.test_running import OBJECTS_ID, snapshot
from tests.reliability.corpus import cases
from tests.support.minion_log import MinionLog

pytestmark = pytest.mark.reliability


def on_the_harness(pillar: dict, harness: dict) -> dict:
    """The case pointed at the private daemons: its saltmesh:nagios over the harness's."""
    pillar = copy.deepcopy(pillar)
    saltmesh = pillar.get("saltmesh")
    nagios = saltmesh.get("nagios") if isinstance(saltmesh, dict) else None
    if isinstance(nagios, dict):
        saltmesh["nagios"] = {**harness, **nagios}
    return pillar


@pytest.mark.parametrize(("expect", "pillar"), cases("nagios"))
def test_nagios_states_refuse_bad_pillar(
    expect, pillar, salt_cli, salt_minion, nagios, nrpe, nagios_settings
):
    data = on_the_harness(pillar, nagios_settings)
    before = snapshot(nagios.conf_dir), snapshot(nrpe.include_dir), nagios.pid()
    daemons = nagios.program_start(), nagios.cache_mtime(), nrpe.pid()
    log = MinionLog(salt_minion)
    runs = [("nagios.running", OBJECTS_ID)]
    if expect.startswith("saltmesh:nagios"):
        runs.append(("nagios.nrpe", NRPE_ID))
    for sls, sid in runs:
        ret = salt_cli.run(
            "state.apply", sls, f"pillar={json.dumps(data)}", minion_tgt=salt_minion.id
        )
        assert "Traceback" not in ret.stdout + ret.stderr, ret
        assert ret.returncode != 0 and isinstance(ret.data, dict), ret
        results = {r["__id__"]: r for r in ret.data.values()}
        assert list(results) == [sid], ret.data  # nothing installed or written before it
        assert results[sid]["result"] is False and results[sid]["changes"] == {}
        assert f"\n  {expect}: " in results[sid]["comment"], results[sid]["comment"]
    assert (snapshot(nagios.conf_dir), snapshot(nrpe.include_dir), nagios.pid()) == before
    assert (nagios.program_start(), nagios.cache_mtime(), nrpe.pid()) == daemons
    log.assert_clean()
