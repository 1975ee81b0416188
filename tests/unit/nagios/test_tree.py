"""Scanning the config tree on disk: owned files, foreign files, what the main config loads."""

from __future__ import annotations

from saltmesh.nagios.render import HEADER
from saltmesh.nagios.tree import read_main_config, scan_tree


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
