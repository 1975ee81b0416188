"""The Nagios configuration on disk: what the main config loads, and which files saltmesh owns.

Reads files only; what they mean is decided in :mod:`saltmesh.nagios.objects` and
:mod:`saltmesh.nagios.render`.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from saltmesh.errors import SaltmeshError
from saltmesh.nagios.objects import Known, MainConfig, parse_objects, scan_known
from saltmesh.nagios.render import is_owned


def read_main_config(path: str) -> MainConfig:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError as err:
        raise SaltmeshError(f"cannot read Nagios main config {path}: {err.strerror}") from None
    return MainConfig.parse(path, text)


def _walk_cfg_dir(root: str) -> Iterator[str]:
    """Files Nagios loads from a cfg_dir: recursive, ``*.cfg``, entries starting with '.' skipped."""
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            full = os.path.join(dirpath, name)
            if not name.startswith(".") and name.endswith(".cfg") and os.path.isfile(full):
                yield full


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


@dataclass
class Tree:
    """What the main config loads, split into the files saltmesh owns and everything else."""

    external: list[str] = field(default_factory=list)  # absolute paths, in load order
    owned: dict[str, bytes] = field(default_factory=dict)  # file name in conf_dir -> bytes
    foreign_in_conf_dir: set[str] = field(default_factory=set)
    # cfg_dir roots that contain conf_dir -> the files they load besides saltmesh's
    covering: dict[str, list[str]] = field(default_factory=dict)

    @property
    def covered(self) -> bool:
        """conf_dir is inside a cfg_dir, so Nagios loads it."""
        return bool(self.covering)


def scan_tree(main: MainConfig, conf_dir: str) -> Tree:
    tree = Tree()
    conf_dir = os.path.normpath(conf_dir)
    if os.path.isdir(conf_dir):
        for entry in sorted(os.listdir(conf_dir)):
            full = os.path.join(conf_dir, entry)
            if entry.startswith(".") or not entry.endswith(".cfg") or not os.path.isfile(full):
                continue
            data = Path(full).read_bytes()
            if is_owned(data):
                tree.owned[entry] = data
            else:
                tree.foreign_in_conf_dir.add(entry)

    def ours(path: str) -> bool:
        return os.path.dirname(path) == conf_dir and os.path.basename(path) in tree.owned

    for key, value in main.entries:
        if key == "cfg_file":
            path = main.resolve(value)
            if not ours(path):
                tree.external.append(path)
        elif key == "cfg_dir":
            root = main.resolve(value)
            files = [p for p in _walk_cfg_dir(root) if not ours(p)]
            if _inside(conf_dir, root):
                tree.covering[root] = files
            tree.external.extend(files)
    return tree


def read_known(tree: Tree) -> Known:
    """Names the files outside saltmesh's define (unreadable files are skipped)."""
    parsed = []
    for path in tree.external:
        with contextlib.suppress(OSError):
            parsed.extend(parse_objects(Path(path).read_text(errors="replace"), path))
    return scan_known(parsed)
