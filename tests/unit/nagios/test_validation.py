"""The scratch main config ``nagios -v`` checks, and the validator's verdict."""

from __future__ import annotations

from saltmesh.nagios.render import HEADER
from saltmesh.nagios.validation import scratch_config, verdict
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


def test_scratch_config_keeps_other_lines_and_resolves_resource_file(tree):
    with open(tree / "nagios.cfg", "a") as fh:
        fh.write("; a comment\nresource_file=resource.cfg\nlog_file=/var/log/x.log\n")
    text = scratch_config(plan(pillar(tree)), "/tmp/STAGE")
    assert "; a comment\n" in text and "log_file=/var/log/x.log\n" in text
    assert f"resource_file={tree}/resource.cfg\n" in text
    assert "nagios_user=root\n" in text


STAGE, LIVE = "/tmp/saltmesh-nagios-abc/stage", "/etc/nagios4/conf.d/saltmesh"


def test_verdict_ok_needs_exit_zero_and_no_errors():
    good = "Nagios Core 4.4.6\nWarning: Host 'x' has no services\nTotal Warnings: 1\nTotal Errors:   0\n"
    assert verdict(0, good, STAGE, LIVE) == (
        True,
        ["Warning: Host 'x' has no services", "Total Errors:   0"],
    )
    # nagioscore#119: an exit status of 0 alone is not trusted
    ok, lines = verdict(0, "Total Errors:   2\n", STAGE, LIVE)
    assert not ok
    ok, _ = verdict(1, good, STAGE, LIVE)
    assert not ok


def test_verdict_names_live_paths_and_falls_back_to_the_tail():
    out = (
        f"Error: Could not find any host matching 'ghost' (config file '{STAGE}/host_a.cfg')\n"
        "Total Errors:   1\n"
    )
    ok, lines = verdict(1, out, STAGE, LIVE)
    assert not ok
    assert lines == [
        f"Error: Could not find any host matching 'ghost' (config file '{LIVE}/host_a.cfg')",
        "Total Errors:   1",
    ]
    # no Error line: the last lines of the output say what went wrong
    tail = "\n".join(f"line {i}" for i in range(30)) + "\n"
    ok, lines = verdict(1, tail, STAGE, LIVE)
    assert not ok and lines == [f"line {i}" for i in range(15, 30)]
