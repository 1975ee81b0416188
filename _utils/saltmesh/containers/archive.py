"""Access layer for image files on disk: a ``docker save`` archive's image ID, a file's sha256.

Read without any engine request, so ``image.present`` can tell whether a load or an import
would change anything. Every problem with a file (missing, unreadable, not a tar archive, no
``manifest.json``, a manifest of the wrong shape) is a :class:`SaltmeshError` naming the file.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from typing import Any

from saltmesh.errors import SaltmeshError


def _unreadable(path: str, err: OSError) -> SaltmeshError:
    return SaltmeshError(f"{path}: cannot read it: {err.strerror or err}")


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    except OSError as err:
        raise _unreadable(path, err) from None
    return digest.hexdigest()


def _config_name(manifest: Any, path: str) -> str:
    """The config blob named by the first image of a ``manifest.json``."""
    try:
        config = manifest[0]["Config"]
    except (KeyError, IndexError, TypeError):
        config = None
    if not isinstance(config, str) or not config:
        raise SaltmeshError(
            f"{path}: manifest.json names no image config; not a docker save archive"
        )
    return config


def saved_image_id(path: str) -> str:
    """The image ID inside a ``docker save`` tarball (sha256 of its config), without loading it."""
    try:
        with tarfile.open(path) as tar:
            try:
                member = tar.extractfile("manifest.json")
            except KeyError:
                member = None
            if member is None:
                raise SaltmeshError(f"{path}: no manifest.json; not a docker save archive")
            try:
                manifest = json.load(io.TextIOWrapper(member, encoding="utf-8"))
            except ValueError as err:
                raise SaltmeshError(f"{path}: manifest.json is not valid JSON: {err}") from None
            config = _config_name(manifest, path)
            try:
                data = tar.extractfile(config)
            except KeyError:
                data = None
            if data is None:
                raise SaltmeshError(f"{path}: config {config} named by manifest.json is missing")
            return "sha256:" + hashlib.sha256(data.read()).hexdigest()
    except tarfile.TarError:
        raise SaltmeshError(f"{path}: not a tar archive (or a damaged one)") from None
    except OSError as err:
        raise _unreadable(path, err) from None
