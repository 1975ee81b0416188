"""saltmesh.loader: the pip route's entry point and the SLS tree's path."""

from pathlib import Path

import pytest

from saltmesh import loader

REPO = Path(__file__).resolve().parent.parent.parent


def test_sls_root_of_a_checkout_is_its_salt_folder():
    assert loader.sls_root() == str(REPO / "salt")


def test_sls_root_prefers_the_tree_inside_the_package(tmp_path, monkeypatch):
    pkg = tmp_path / "site" / "saltmesh"
    (pkg / "_sls").mkdir(parents=True)
    (pkg / "_sls" / "top.sls").write_text("base: {}\n")
    monkeypatch.setattr(loader, "_HERE", pkg)
    assert loader.sls_root() == str(pkg / "_sls")


def test_sls_root_fails_where_there_is_none(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "_HERE", tmp_path / "extmods" / "utils" / "saltmesh")
    with pytest.raises(FileNotFoundError, match="no saltmesh SLS tree"):
        loader.sls_root()
