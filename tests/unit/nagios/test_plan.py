"""Planning on the throwaway tree: writes, removes, object changes, pre-check failures."""

from __future__ import annotations

import pytest

from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.nagios.render import HEADER
from tests.unit.nagios.config_tree import pillar, plan


def test_plan_lists_writes_removes_and_object_changes(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_old.cfg").write_bytes(HEADER.encode() + b"define host {\n host_name old\n}\n")
    p = plan(pillar(tree))
    assert p.writes == ["host_docker01.cfg", "host_web01.cfg"]
    assert p.removes == ["host_old.cfg"]
    assert p.changes == {"added": ["host docker01", "host web01"], "removed": ["host old"]}
    # gw (hand-written) is a valid parent; a duplicate of it is not
    data = pillar(tree)
    data["servers"]["gw"] = {"address": "10.0.0.12"}
    with pytest.raises(PillarError, match="already defined in"):
        plan(data)


def test_conf_dir_must_be_loaded(tree):
    data = pillar(tree)
    data["saltmesh"]["nagios"]["conf_dir"] = str(tree / "elsewhere")
    with pytest.raises(SaltmeshError, match="not inside any cfg_dir"):
        plan(data)


def test_removed_docker_host_is_named(tree):
    conf = tree / "conf.d" / "saltmesh"
    p = plan(pillar(tree))
    for name, data in p.rendered.items():
        (conf / name).write_bytes(data)
    data = pillar(tree)
    del data["servers"]["docker01"]
    with pytest.raises(PillarError, match="'docker01' is being removed from servers"):
        plan(data)
