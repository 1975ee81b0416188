"""Scanning the config tree on disk: owned files, foreign files, what the main config loads."""

from __future__ import annotations

import pytest

from saltmesh.errors import SaltmeshError
from saltmesh.nagios.render import HEADER
from saltmesh.nagios.tree import read_known, read_main_config, scan_tree


def test_scan_tree_splits_owned_and_foreign(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_old.cfg").write_bytes(HEADER.encode() + b"define host {\n host_name old\n}\n")
    (conf / "mine.cfg").write_text("define host {\n host_name handmade\n}\n")
    main = read_main_config(str(tree / "nagios.cfg"))
    t = scan_tree(main, str(conf))
    assert t.covered
    assert set(t.owned) == {"host_old.cfg"}
    assert t.foreign_in_conf_dir == {"mine.cfg"}
    assert str(conf / "mine.cfg") in t.external
    assert str(tree / "objects" / "commands.cfg") in t.external
    assert not any(".hidden" in p for p in t.external)


def test_scan_tree_records_what_each_covering_cfg_dir_loads(tree):
    conf = tree / "conf.d" / "saltmesh"
    (conf / "host_a.cfg").write_bytes(HEADER.encode())
    (conf / "handmade.cfg").write_text("# not ours\n")
    (conf / "notes.txt").write_text("not loaded")
    t = scan_tree(read_main_config(str(tree / "nagios.cfg")), str(conf) + "/")
    assert t.covering == {
        str(tree / "conf.d"): [
            str(tree / "conf.d" / "other" / "gw.cfg"),  # load order: sorted, depth first
            str(conf / "handmade.cfg"),
        ]
    }
    assert "/etc/nagios-plugins/config" not in t.covering  # loaded, but not around conf_dir
    # not covered: conf_dir outside every cfg_dir
    assert not scan_tree(
        read_main_config(str(tree / "nagios.cfg")), str(tree / "elsewhere")
    ).covered


def test_read_known_skips_unreadable_files(tree):
    t = scan_tree(read_main_config(str(tree / "nagios.cfg")), str(tree / "conf.d" / "saltmesh"))
    t.external.append(str(tree / "missing.cfg"))
    known = read_known(t)
    assert dict(known.hosts) == {"gw": str(tree / "conf.d" / "other" / "gw.cfg")}


def test_read_main_config_names_the_file(tree):
    main = read_main_config(str(tree / "nagios.cfg"))
    assert main.get("nagios_user") == "root"
    assert main.resolve("objects/commands.cfg") == str(tree / "objects" / "commands.cfg")
    with pytest.raises(SaltmeshError, match=f"cannot read Nagios main config {tree}/nope.cfg"):
        read_main_config(str(tree / "nope.cfg"))
