"""Images on one engine: present from a ``docker save`` archive, a rootfs tarball or a registry.

Changes are reported only when the image ID under the name changes; ``test`` mode only reads.
"""

from __future__ import annotations

from saltmesh.containers.archive import file_sha256, saved_image_id
from saltmesh.containers.engine import Engine, EngineError
from saltmesh.containers.outcome import Outcome, would
from saltmesh.errors import SaltmeshError

SOURCE_LABEL = "saltmesh.source-sha256"


def split_ref(ref: str) -> tuple[str, str | None]:
    """``repo[:tag]`` -> ``(repo, tag or None)``; a ``repo@digest`` reference is not split."""
    if "@" not in ref and ":" in ref.rsplit("/", 1)[-1]:
        repo, tag = ref.rsplit(":", 1)
        return repo, tag
    return ref, None


def pull_image(engine: Engine, ref: str) -> None:
    """Pull ``ref`` (``repo[:tag]`` or ``repo@digest``); raises with the engine's message."""
    repo, tag = split_ref(ref)
    for event in engine.call("pull", repo, tag=tag or "latest", stream=True, decode=True):
        if isinstance(event, dict) and event.get("error"):
            raise EngineError(f"Docker engine: pull {ref}: {event['error']}")


def _tag(engine: Engine, image: str, name: str) -> None:
    repo, tag = split_ref(name)
    engine.call("tag", image, repo, tag=tag or "latest")


def image_id(engine: Engine, ref: str, after: str) -> str:
    """The ID of image ``ref`` now; EngineError when the engine shows none (after ``after``)."""
    found = (engine.inspect_image(ref, cached=False) or {}).get("Id")
    if not found:
        raise EngineError(f"Docker engine: no image {ref} after {after}")
    return found


def _short(image: str | None) -> str:
    return (image or "no ID")[:19]


def ensure_image(
    engine: Engine,
    name: str,
    test: bool,
    load: str | None = None,
    rootfs: str | None = None,
    pull: str = "missing",
    fetched: bool = True,
    source_sha256: str | None = None,
) -> Outcome:
    """Make image ``name`` present from a ``docker save`` tarball, a rootfs tarball or a registry.

    Changes are reported only when the image ID under ``name`` changes. ``fetched=False`` (test
    mode only): ``load``/``rootfs`` names a file not fetched to this minion yet (a ``salt://``
    URL), so it is not read; ``source_sha256``, when known, is the rootfs file's sha256.
    """
    if load and rootfs:
        raise SaltmeshError("give either load or rootfs, not both")
    if not fetched and not test:
        raise SaltmeshError(f"{load or rootfs}: not fetched to this minion")
    have = engine.inspect_image(name, cached=False)
    old_id = (have or {}).get("Id")
    if load:
        new_id = saved_image_id(load) if fetched else f"loaded from {load}"
        if new_id == old_id:
            return Outcome(name, comment=f"Image {name} is present ({_short(old_id)})")
        if not test:
            engine.load_image_file(load)
            if engine.inspect_image(new_id, cached=False) is None:
                raise EngineError(f"{load} did not provide image {new_id}")
            _tag(engine, new_id, name)
    elif rootfs:
        digest = file_sha256(rootfs) if fetched else source_sha256
        labels = ((have or {}).get("Config") or {}).get("Labels") or {}
        if digest is not None and labels.get(SOURCE_LABEL) == digest:
            return Outcome(name, comment=f"Image {name} is present, imported from this {rootfs}")
        new_id = f"imported from {rootfs}"
        if not test:
            repo, tag = split_ref(name)
            engine.call(
                "import_image_from_file",
                rootfs,
                repository=repo,
                tag=tag or "latest",
                changes=[f"LABEL {SOURCE_LABEL}={digest}"],
            )
            new_id = image_id(engine, name, f"importing {rootfs}")
    else:
        if old_id and pull != "always":
            return Outcome(name, comment=f"Image {name} is present ({_short(old_id)})")
        new_id = "pulled from registry"
        if not test:
            pull_image(engine, name)
            new_id = image_id(engine, name, "a successful pull")
            if new_id == old_id:
                return Outcome(name, comment=f"Image {name} is up to date ({_short(old_id)})")
    verb = "updated" if have else "added"
    return Outcome(
        name,
        changes={"image_id": {"old": old_id, "new": new_id}},
        comment=f"Image {name} {would(test)}{verb}",
    )


def ensure_image_absent(engine: Engine, name: str, test: bool, force: bool = False) -> Outcome:
    have = engine.inspect_image(name, cached=False)
    if have is None:
        return Outcome(name, comment=f"Image {name} is absent")
    if not test:
        engine.call("remove_image", name, force=force)
    return Outcome(
        name,
        changes={"removed": {"old": have.get("Id"), "new": None}},
        comment=f"Image {name} {would(test)}removed",
    )
