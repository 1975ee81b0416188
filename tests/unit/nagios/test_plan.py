"""Planning on the throwaway tree: writes, removes, object changes, pre-check failures."""

from __future__ import annotations

import pytest

from saltmesh.errors import PillarError, SaltmeshError
from saltmesh.nagios.objects import MainConfig
from saltmesh.nagios.plan import make_plan
from saltmesh.nagios.render import HEADER
from saltmesh.nagios.settings import parse_settings
from saltmesh.nagios.tree import Tree
from tests.unit.nagios import sample
from tests.unit.nagios.config_tree import pillar, plan


def test_plan_lists_writes_removes_and_object_changes(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_old.cfg").write_bytes(HEADER.encode() + b"define host {\n host_name old\n}\n")
    p = plan(pillar(tree))
    assert p.writes == ["host_docker01.cfg", "host_web01.cfg"]
    assert p.removes == ["host_old.cfg"]
    defaults = [f"service {h}/{d}" for h in ("docker01", "web01") for d in ("Salt minion", "Users")]
    assert p.changes == {
        "added": ["host docker01", "host web01", *defaults],
        "removed": ["host old"],
    }
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


MAIN = MainConfig.parse("/etc/nagios4/nagios.cfg", "cfg_dir=conf.d\n")


def _pure_plan(owned=None, foreign=(), covered=True, data=None):
    """make_plan on a tree described in memory: nothing on disk is read."""
    conf = "/etc/nagios4/conf.d/saltmesh"
    data = data or sample.pillar()
    data["saltmesh"]["nagios"]["conf_dir"] = conf
    tree = Tree(
        owned=dict(owned or {}),
        foreign_in_conf_dir=set(foreign),
        covering={"/etc/nagios4/conf.d": []} if covered else {},
    )
    return make_plan(parse_settings(data), data, MAIN, tree, sample.KNOWN)


def test_make_plan_from_memory_and_its_summaries():
    p = _pure_plan()
    assert p.writes == sorted(sample.render(sample.pillar())) and p.removes == []
    assert "host web01" in p.changes["added"]
    assert p.summary() == {
        "changes": p.changes,
        "write": p.writes,
        "remove": p.removes,
        "objects": p.objects,
    }
    assert p.texts()["hostgroups.cfg"].startswith(HEADER)
    # the same files already in place: nothing to do
    again = _pure_plan(owned=p.rendered)
    assert again.empty and again.changes == {}


def test_make_plan_reports_bytes_only_changes_as_rewritten():
    p = _pure_plan()
    owned = dict(p.rendered)
    owned["slack.cfg"] = owned["slack.cfg"].replace(b"    contact_name", b"  contact_name")
    again = _pure_plan(owned=owned)
    assert again.writes == ["slack.cfg"]
    assert again.changes == {"rewritten": ["slack.cfg"]}


def test_make_plan_prechecks():
    with pytest.raises(SaltmeshError, match="not inside any cfg_dir of /etc/nagios4/nagios.cfg"):
        _pure_plan(covered=False)
    with pytest.raises(SaltmeshError, match="did not write but needs: slack.cfg"):
        _pure_plan(foreign={"slack.cfg", "other.cfg"})
