"""
image: Docker images from a registry, a ``docker save`` tarball or a rootfs tarball.

Changes are reported only when the image ID behind the name changes.

.. code-block:: yaml

    local/busybox:latest:
      image.present:
        - rootfs: /srv/images/busybox-rootfs.tar

    registry.example.com/app:1.2:
      image.present

    old/image:1:
      image.absent
"""

from salt.exceptions import CommandExecutionError

from saltmesh import stateret

__virtualname__ = "image"


def __virtual__():
    if "saltmesh_docker.ensure_image" in __salt__:
        return __virtualname__
    return (False, "image: the saltmesh_docker execution module is not available")


def _state(name, call, **kwargs):
    """Call the execution module; its outcome (or error) as a state return."""
    test = bool(__opts__["test"])
    return stateret.from_call(
        name,
        lambda: __salt__[call](name, test=test, **kwargs),
        test=test,
        expected=(CommandExecutionError,),
    )


def present(name, load=None, rootfs=None, pull="missing"):
    """
    Make image ``name`` (``repo:tag``) present.

    load
        Path (or ``salt://`` URL) of a ``docker save`` tarball; loaded when the image ID
        inside differs.
    rootfs
        Path (or ``salt://`` URL) of a root filesystem tarball for ``docker import``;
        re-imported when the file's sha256 differs from the one recorded in the image label
        ``saltmesh.source-sha256``.
    pull
        Without ``load``/``rootfs``: ``missing`` pulls only when absent, ``always`` pulls every
        run and reports a change only when the image ID changed.

    .. code-block:: yaml

        local/app:1:
          image.present:
            - load: /srv/images/app-1.tar
    """
    kwargs = {"pull": pull}
    for key, value in (("load", load), ("rootfs", rootfs)):
        if value and str(value).startswith("salt://"):
            found = _fetch(value) if not __opts__["test"] else _peek(value, kwargs)
            if not found:
                return stateret.failed(name, f"{key}: {value} not found on the fileserver")
            value = found
        kwargs[key] = value
    return _state(name, "saltmesh_docker.ensure_image", **kwargs)


def _fetch(url):
    """The local copy of ``url`` (fetched into the minion's cache), or None."""
    return __salt__["cp.cache_file"](url) or None


def _peek(url, kwargs):
    """Test mode: ``url`` without fetching it (test=True writes no file, the cache included).

    An up-to-date cached copy is read in place; otherwise the core is told the file is not
    here (``fetched=False``) and, when the master hashes with sha256, given its digest.
    """
    remote = __salt__["cp.hash_file"](url)
    if not remote:
        return None
    local = __salt__["cp.is_cached"](url)
    if local and __salt__["cp.hash_file"](local) == remote:
        return local
    kwargs["fetched"] = False
    if remote.get("hash_type") == "sha256":
        kwargs["source_sha256"] = remote.get("hsum")
    return url


def absent(name, force=False):
    """
    Remove image ``name``; fails with the engine's message while a container uses it.

    .. code-block:: yaml

        local/app:0:
          image.absent
    """
    return _state(name, "saltmesh_docker.ensure_image_absent", force=force)
