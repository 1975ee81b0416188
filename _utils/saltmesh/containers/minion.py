"""Containers that are salt-minions: their config and key pair on the docker host (I/O).

A container declared with ``container:minion`` gets, under ``<minion_dir>/<name>/`` on its
docker host, a minion config (``minion.d/saltmesh.conf``: id, master, master_port) and an RSA
key pair (``pki/minion.pem`` 0600, ``pki/minion.pub``) made here once and never replaced. Both
are bind-mounted read-only into the container (:func:`binds`); the private key never leaves
the docker host. The public key is announced to the master, whose ``minion_keys.accept`` runner
accepts it for exactly the containers the pillar places on that docker host
(:mod:`saltmesh.containers.minion_keys`). A change of the config recreates the container: its
hash is the label :data:`CONFIG_LABEL`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from saltmesh import fileio
from saltmesh.constants import MINION_MOUNTS
from saltmesh.errors import SaltmeshError
from saltmesh.inventory import ContainerSpec
from saltmesh.inventory.model import MinionSpec

MINION_DIR = "/var/lib/saltmesh/minions"  # default of the minion option saltmesh:minion_dir
CONFIG_LABEL = "saltmesh.minion-config"
KEYS_EVENT = "saltmesh/containers/minion-keys"  # the event the reactor answers
CONFIG_FILE = "saltmesh.conf"
KEY_BITS = 2048
_HEADER = (
    "# Managed by saltmesh (container.placed on {host}). Do not edit: changes are overwritten.\n"
)


def config_values(minion: MinionSpec) -> dict[str, Any]:
    """The settings saltmesh writes, in file order."""
    values: dict[str, Any] = {"id": minion.id, "master": minion.master}
    if minion.master_port is not None:
        values["master_port"] = minion.master_port
    return values


def render_config(minion: MinionSpec, host: str) -> bytes:
    """``minion.d/saltmesh.conf``: YAML whose values are JSON scalars (never read as bools)."""
    lines = [f"{key}: {json.dumps(value)}" for key, value in config_values(minion).items()]
    return (_HEADER.format(host=host) + "\n".join(lines) + "\n").encode()


def read_values(data: bytes | None) -> dict[str, Any] | None:
    """The settings of a file :func:`render_config` wrote (None when there is none)."""
    if data is None:
        return None
    values: dict[str, Any] = {}
    for line in data.decode(errors="replace").splitlines():
        key, sep, value = line.partition(": ")
        if sep and not key.startswith("#"):
            try:
                values[key] = json.loads(value)
            except ValueError:
                values[key] = value
    return values


def config_hash(minion: MinionSpec, host: str) -> str:
    return hashlib.sha256(render_config(minion, host)).hexdigest()[:16]


def folder(base: str, name: str) -> Path:
    return Path(base) / name


def binds(base: str, name: str) -> tuple[str, ...]:
    """The read-only bind mounts of a minion container (``source:target:ro``)."""
    root = folder(base, name)
    sources = (root / "minion.d", root / "pki" / "minion.pem", root / "pki" / "minion.pub")
    return tuple(f"{src}:{target}:ro" for src, target in zip(sources, MINION_MOUNTS, strict=True))


def effective(spec: ContainerSpec, name: str, base: str, host: str) -> ContainerSpec:
    """``spec`` in Docker's terms: the minion's mounts added, its config hash as a label."""
    if spec.minion is None:
        return spec
    volumes = tuple(spec.volumes or ()) + tuple(
        b for b in binds(base, name) if b not in (spec.volumes or ())
    )
    labels = tuple(
        sorted({**dict(spec.labels or ()), CONFIG_LABEL: config_hash(spec.minion, host)}.items())
    )
    return dataclasses.replace(spec, volumes=volumes, labels=labels)


def pem_finger(pub: str) -> str:
    """The fingerprint ``salt-key -f <id>`` shows for this public key (sha256)."""
    body = "".join(pub.strip().splitlines()[1:-1]).encode()
    digest = hashlib.sha256(body).hexdigest()
    return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))


def _new_key_pair() -> tuple[bytes, bytes]:
    """(private PEM, public PEM) as Salt writes them (``salt.crypt.gen_keys``)."""
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
    except ImportError as err:  # Salt depends on it: only a broken install lacks it
        raise SaltmeshError(f"cannot make a minion key: {err}") from None
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    priv = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return priv, pub


def _read(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def ensure_files(
    base: str, name: str, minion: MinionSpec, host: str, test: bool
) -> tuple[dict[str, Any], str | None]:
    """Write the config and make the key pair of container ``name`` unless they are current.

    Returns (changes, public key text or None when there is no key yet, in test mode). The key
    pair is made once; an existing one is never replaced.
    """
    root = folder(base, name)
    changes: dict[str, Any] = {}
    conf = root / "minion.d" / CONFIG_FILE
    new = render_config(minion, host)
    old = _read(conf)
    if old != new:
        changes["minion_config"] = {"old": read_values(old), "new": config_values(minion)}
        if not test:
            os.makedirs(conf.parent, mode=0o755, exist_ok=True)
            fileio.write_atomic(str(conf), new, mode=0o644)
    pem, pub_path = root / "pki" / "minion.pem", root / "pki" / "minion.pub"
    pub = _read(pub_path)
    if _read(pem) is None or pub is None:
        if test:
            return {**changes, "minion_key": {"old": None, "new": "a new key pair"}}, None
        os.makedirs(pem.parent, mode=0o700, exist_ok=True)
        priv, pub = _new_key_pair()
        fileio.write_atomic(str(pem), priv, mode=0o600)
        fileio.write_atomic(str(pub_path), pub, mode=0o644)
        changes["minion_key"] = {"old": None, "new": pem_finger(pub.decode())}
    return changes, pub.decode()


@dataclass
class Prepared:
    """The declared containers in Docker's terms, and what their minion files needed."""

    specs: dict[str, ContainerSpec]
    changes: dict[str, dict[str, Any]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=dict)  # minion id -> public key
    failures: list[str] = field(default_factory=list)


def prepare(containers: Mapping[str, ContainerSpec], base: str, host: str, test: bool) -> Prepared:
    """Minion files for every minion container; a container whose files fail is left out."""
    out = Prepared(specs={})
    for name, spec in sorted(containers.items()):
        if spec.minion is None:
            out.specs[name] = spec
            continue
        try:
            changes, pub = ensure_files(base, name, spec.minion, host, test)
        except (OSError, SaltmeshError) as err:
            where = f"{err.filename}: " if isinstance(err, OSError) and err.filename else ""
            reason = err.strerror if isinstance(err, OSError) and err.strerror else err
            out.failures.append(f"{name}: minion files: {where}{reason}")
            continue
        out.specs[name] = effective(spec, name, base, host)
        if changes:
            out.changes[name] = changes
        if pub is not None:
            out.keys[spec.minion.id] = pub
    return out
