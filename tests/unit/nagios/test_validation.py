"""The scratch main config ``nagios -v`` checks, and the validator's verdict."""

from __future__ import annotations

from saltmesh.nagios.render import HEADER
from saltmesh.nagios.validation import scratch_config
from tests.unit.nagios.config_tree import pillar, plan


def test_scratch_config_swaps_our_dir_for_the_stage(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_x.cfg").write_bytes(HEADER.encode())
    p = plan(pillar(tree))
    text = scratch_config(p, "/tmp/STAGE")
    assert f"cfg_file={tree}/objects/commands.cfg" in text
    assert f"cfg_file={tree}/conf.d/other/gw.cfg" in text
    assert f"cfg_dir={tree}/conf.d\n" not in text
    assert "host_x.cfg" not in text
    assert text.endswith("cfg_dir=/tmp/STAGE\n")
    assert "cfg_dir=/etc/nagios-plugins/config" in text
