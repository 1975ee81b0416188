"""The Nagios part of the bad-input corpus (tests/reliability/corpus/nagios/*.yaml).

Each case is a malformed pillar and the pillar path its error must name. It goes through the
Nagios pipeline's pure validation (settings, inventory and builder, the NRPE file): a
PillarError naming that path, nothing else. Then through ``deploy.apply`` on a throwaway
Nagios tree: it fails the same way before anything is written, not even the lock file.
"""

from __future__ import annotations

import copy
import os
from pathlib import Path

import pytest
import yaml

from saltmesh.errors import PillarError
from saltmesh.nagios import deploy, nrpe
from saltmesh.nagios.objects import Known
from saltmesh.nagios.plan import objects_from_pillar
from saltmesh.nagios.settings import parse_settings
from tests.reliability.corpus import ROOT, cases

pytestmark = pytest.mark.reliability

CORPUS = ROOT / "nagios"
CASES = cases("nagios")  # pytest params (expect, pillar), ids nagios/<case>
# What the hand-written part of the Nagios configuration defines (the ``tree`` fixture's
# Debian templates and its host ``gw``).
KNOWN = Known(
    hosts={"gw": "/etc/nagios4/conf.d/other/gw.cfg"},
    host_templates=frozenset({"linux-server", "generic-host", "windows-server"}),
    service_templates=frozenset({"generic-service", "local-service"}),
    contact_templates=frozenset({"generic-contact"}),
    hostgroups=frozenset({"linux-servers"}),
)


def test_cases_are_well_formed():
    files = sorted(CORPUS.glob("*.yaml"))
    assert len(files) == len(CASES) >= 12
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert text.startswith("# ") and text.split("\n", 1)[0][2:].strip(), path.name
        assert set(yaml.safe_load(text)) == {"expect", "pillar"}, path.name


def pipeline(pillar: dict) -> None:
    """Every pure check of nagios.running and nagios.nrpe, in their order."""
    settings = parse_settings(pillar)
    objects_from_pillar(settings, pillar, KNOWN)
    nrpe.render_pillar(settings, pillar)


@pytest.mark.parametrize(("expect", "pillar"), CASES)
def test_case_fails_naming_its_path(expect, pillar):
    with pytest.raises(PillarError) as err:
        pipeline(pillar)
    paths = [p for p, _ in err.value.problems]
    assert expect in paths, err.value
    assert f"\n  {expect}: " in str(err.value)


def test_the_good_pillar_passes():
    """The corpus' cases are one defect away from this pillar (so each fails for its reason)."""
    pipeline(
        {
            "servers": {
                "web01": {
                    "node_type": "server",
                    "address": "10.0.0.11",
                    "parents": "gw",
                    "alias": "Web $HOSTADDRESS$ (front)",
                    "services": {"HTTP": {"check_command": "check_http!-u /$ARG1$"}},
                }
            },
            "saltmesh": {"nagios": {"servers": ["10.0.0.5"]}},
        }
    )


def _snapshot(root: Path) -> dict[str, bytes]:
    out = {}
    for dirpath, _, names in os.walk(root):
        for name in names:
            path = Path(dirpath, name)
            out[str(path.relative_to(root))] = path.read_bytes()
    return out


@pytest.mark.parametrize("test", [False, True])
def test_cases_fail_before_anything_is_written(tree, test):
    before = _snapshot(tree)
    for case in CASES:
        expect, pillar = copy.deepcopy(case.values)
        saltmesh = pillar.get("saltmesh")
        nagios = saltmesh.get("nagios") if isinstance(saltmesh, dict) else None
        if isinstance(nagios, dict):  # point the case at the throwaway tree
            nagios.setdefault("main_config", str(tree / "nagios.cfg"))
            nagios.setdefault("conf_dir", str(tree / "conf.d" / "saltmesh"))
            nagios.setdefault("reload", "none")
        with pytest.raises(PillarError) as err:
            deploy.apply(parse_settings(pillar), pillar, test=test)
            nrpe.render_pillar(parse_settings(pillar), pillar)
        assert expect in [p for p, _ in err.value.problems], (case.id, err.value)
        assert _snapshot(tree) == before, case.id
    assert not (tree / "conf.d" / ".saltmesh.lock").exists()
