"""Access layer for image files on disk: a ``docker save`` archive's image ID, a file's sha256.

Read without any engine request, so ``image.present`` can tell whether a load or an import
would change anything.
"""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

from saltmesh.errors import SaltmeshError


def file_sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def saved_image_id(path: str) -> str:
    """The image ID inside a ``docker save`` tarball (sha256 of its config), without loading it."""
    with tarfile.open(path) as tar:
        member = tar.extractfile("manifest.json")
        if member is None:
            raise SaltmeshError(f"{path}: no manifest.json; not a docker save archive")
        manifest = json.load(io.TextIOWrapper(member, encoding="utf-8"))
        config = manifest[0]["Config"]
        data = tar.extractfile(config)
        if data is None:
            raise SaltmeshError(f"{path}: config {config} missing")
        return "sha256:" + hashlib.sha256(data.read()).hexdigest()
