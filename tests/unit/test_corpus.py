"""Every malformed pillar of the corpus fails validation, naming its culprit, with no traceback.

The same corpus drives the integration test that applies it through states and runners
(tests/integration/test_corpus.py).
"""

import pytest

from saltmesh import inventory
from saltmesh.errors import PillarError
from saltmesh.mesh import planner
from saltmesh.placement import fleet, hashing
from tests.reliability.corpus import cases

pytestmark = pytest.mark.reliability


def validate(pillar):
    """What a state or runner does before touching anything."""
    inv = inventory.parse(pillar)
    planner.plan_fleet(inv)
    hashing.plan(pillar)
    fleet.plan(pillar)


@pytest.mark.parametrize(
    ("expect", "pillar"), cases("inventory", "containers", "mesh", "placement", "discovery")
)
def test_corpus_case_names_its_culprit(expect, pillar):
    with pytest.raises(PillarError) as err:
        validate(pillar)
    paths = [path for path, _ in err.value.problems]
    assert expect in paths, err.value
    assert expect in str(err.value)


def test_corpus_is_large_enough():
    assert len(cases()) >= 40
