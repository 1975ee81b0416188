"""Images: references, ``docker save`` archives read without the engine, present/absent."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile

import pytest

from saltmesh.containers import archive, images
from saltmesh.containers.engine import EngineError
from saltmesh.errors import SaltmeshError
from tests.unit.containers.fakes import FakeEngine

CONFIG = b'{"architecture": "amd64", "config": {}}'
CONFIG_ID = "sha256:" + hashlib.sha256(CONFIG).hexdigest()


@pytest.mark.parametrize(
    ("ref", "split"),
    [
        ("a/b:1", ("a/b", "1")), ("a/b", ("a/b", None)), ("busybox", ("busybox", None)),
        ("reg:5000/a/b", ("reg:5000/a/b", None)), ("reg:5000/a:2", ("reg:5000/a", "2")),
        ("a/b@sha256:abcd", ("a/b@sha256:abcd", None)),
    ],
)  # fmt: skip
def test_split_ref(ref, split):
    assert images.split_ref(ref) == split


def saved(path):
    """A minimal ``docker save`` archive: manifest.json naming its config blob."""
    with tarfile.open(path, "w") as tar:
        for name, data in (
            ("manifest.json", json.dumps([{"Config": "blobs/cfg", "Layers": []}]).encode()),
            ("blobs/cfg", CONFIG),
        ):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


def test_archive_reads(tmp_path):
    path = saved(tmp_path / "img.tar")
    assert archive.saved_image_id(path) == CONFIG_ID
    with open(path, "rb") as fh:
        assert archive.file_sha256(path) == hashlib.sha256(fh.read()).hexdigest()


class Loader(FakeEngine):
    def _load_image(self, path):
        self.images[archive.saved_image_id(path)] = {"Id": archive.saved_image_id(path)}

    def _tag(self, image, repo, tag):
        self.images[f"{repo}:{tag}"] = self.images[image]

    def _import_image_from_file(self, path, repository, tag, changes):
        digest = changes[0].split("=", 1)[1]
        self.images[f"{repository}:{tag}"] = {
            "Id": "sha256:imported",
            "Config": {"Labels": {images.SOURCE_LABEL: digest}},
        }


def test_load(tmp_path):
    path = saved(tmp_path / "img.tar")
    eng = Loader()
    pred = images.ensure_image(eng, "app:1", True, load=path)
    assert pred.changes == {"image_id": {"old": None, "new": CONFIG_ID}} and eng.writes == []
    assert pred.comment == "Image app:1 would be added"
    out = images.ensure_image(eng, "app:1", False, load=path)
    assert out.changes == pred.changes and out.comment == "Image app:1 added"
    assert eng.written() == ["load_image", "tag"]
    assert eng.writes[1] == ("tag", (CONFIG_ID, "app"), {"tag": "1"})
    again = images.ensure_image(eng, "app:1", False, load=path)
    assert again.changes == {} and again.comment == f"Image app:1 is present ({CONFIG_ID[:19]})"


def test_load_that_provides_another_image(tmp_path):
    eng = FakeEngine()  # loads nothing
    with pytest.raises(EngineError, match="did not provide image"):
        images.ensure_image(eng, "app:1", False, load=saved(tmp_path / "img.tar"))
    with pytest.raises(SaltmeshError, match="either load or rootfs"):
        images.ensure_image(eng, "app:1", False, load="a", rootfs="b")


def test_rootfs(tmp_path):
    rootfs = tmp_path / "rootfs.tar"
    rootfs.write_bytes(b"not really a tarball")
    eng = Loader()
    out = images.ensure_image(eng, "app", False, rootfs=str(rootfs))
    assert out.changes == {"image_id": {"old": None, "new": "sha256:imported"}}
    method, args, kwargs = eng.writes[0]
    assert (method, kwargs["repository"], kwargs["tag"]) == (
        "import_image_from_file",
        "app",
        "latest",
    )
    again = images.ensure_image(eng, "app:latest", False, rootfs=str(rootfs))
    assert again.changes == {} and "imported from this" in again.comment
    rootfs.write_bytes(b"changed")
    pred = images.ensure_image(eng, "app:latest", True, rootfs=str(rootfs))
    assert pred.changes["image_id"]["old"] == "sha256:imported"
    assert pred.comment == "Image app:latest would be updated"


def test_pull():
    eng = FakeEngine(images={"a/b:1": {"Id": "sha256:a/b-1"}})
    assert images.ensure_image(eng, "a/b:1", False).comment.startswith("Image a/b:1 is present")
    up = images.ensure_image(eng, "a/b:1", False, pull="always")
    assert up.changes == {} and up.comment.startswith("Image a/b:1 is up to date")
    assert eng.writes[0] == ("pull", ("a/b",), {"tag": "1", "stream": True, "decode": True})
    pred = images.ensure_image(eng, "c", True)
    assert pred.changes == {"image_id": {"old": None, "new": "pulled from registry"}}
    out = images.ensure_image(eng, "c", False)
    assert out.changes == {"image_id": {"old": None, "new": "sha256:c-latest"}}


def test_pull_error_event():
    class Refusing(FakeEngine):
        def _pull(self, *args, **kwargs):
            return iter([{"status": "Pulling"}, {"error": "manifest unknown"}])

    with pytest.raises(EngineError, match="^Docker engine: pull x:1: manifest unknown$"):
        images.pull_image(Refusing(), "x:1")


def test_absent():
    eng = FakeEngine(images={"a:1": {"Id": "sha256:1"}})
    pred = images.ensure_image_absent(eng, "a:1", True)
    assert pred.changes == {"removed": {"old": "sha256:1", "new": None}} and eng.writes == []
    out = images.ensure_image_absent(eng, "a:1", False, force=True)
    assert out.comment == "Image a:1 removed" and eng.writes == [
        ("remove_image", ("a:1",), {"force": True})
    ]
    assert images.ensure_image_absent(eng, "a:1", False).comment == "Image a:1 is absent"


def _tar(path, members):
    with tarfile.open(path, "w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return str(path)


@pytest.mark.reliability
@pytest.mark.parametrize(
    ("members", "message"),
    [
        (None, "not a tar archive"),
        ({"other": b"x"}, "no manifest.json; not a docker save archive"),
        ({"manifest.json": b"{nope"}, "manifest.json is not valid JSON"),
        ({"manifest.json": b"[]"}, "manifest.json names no image config"),
        ({"manifest.json": b'{"Config": 1}'}, "manifest.json names no image config"),
        ({"manifest.json": b'[{"Config": "gone"}]'}, "config gone named by manifest.json is missing"),
    ],
)  # fmt: skip
def test_bad_archives_are_named_errors(tmp_path, members, message):
    path = tmp_path / "bad.tar"
    if members is None:
        path.write_bytes(b"this is not a tarball at all" * 100)
    else:
        _tar(path, members)
    with pytest.raises(SaltmeshError) as err:
        archive.saved_image_id(str(path))
    assert str(err.value).startswith(f"{path}: ") and message in str(err.value)
    eng = Loader()
    with pytest.raises(SaltmeshError, match=message):
        images.ensure_image(eng, "app:1", True, load=str(path))
    assert eng.writes == []


@pytest.mark.reliability
def test_missing_files_are_named_errors(tmp_path):
    missing = str(tmp_path / "nope.tar")
    for kwargs in ({"load": missing}, {"rootfs": missing}):
        for test in (True, False):
            eng = Loader()
            with pytest.raises(SaltmeshError, match=f"^{missing}: cannot read it: No such file"):
                images.ensure_image(eng, "app:1", test, **kwargs)
            assert eng.writes == []
    with pytest.raises(SaltmeshError, match="cannot read it"):
        _engine_load(missing)


def _engine_load(path):
    from saltmesh.containers.engine import Engine

    eng = Engine.__new__(Engine)  # no client needed: the file is read first
    eng.load_image_file(path)


@pytest.mark.reliability
def test_an_image_without_id_is_an_engine_error_not_a_crash(tmp_path):
    class NoId(Loader):
        def _pull(self, repo, tag=None, **kw):
            self.images[f"{repo}:{tag}"] = {"Config": {}}  # the engine shows no Id
            return iter([])

        def _import_image_from_file(self, path, repository, tag, changes):
            pass  # the import "succeeds" but no image appears under the name

    eng = NoId()
    with pytest.raises(
        EngineError, match="^Docker engine: no image c:latest after a successful pull$"
    ):
        images.ensure_image(eng, "c:latest", False)
    rootfs = tmp_path / "r.tar"
    rootfs.write_bytes(b"x")
    with pytest.raises(EngineError, match=f"no image app:1 after importing {rootfs}$"):
        images.ensure_image(eng, "app:1", False, rootfs=str(rootfs))
    # an existing image whose inspect lacks an Id: reported, no crash
    eng = FakeEngine(images={"a:1": {"Config": {}}})
    assert images.ensure_image(eng, "a:1", True, pull="always").changes == {
        "image_id": {"old": None, "new": "pulled from registry"}
    }
    assert images.ensure_image_absent(eng, "a:1", True).changes == {
        "removed": {"old": None, "new": None}
    }


@pytest.mark.reliability
def test_unfetched_source_in_test_mode_reads_no_file():
    eng = Loader(
        images={"app:1": {"Id": "sha256:old", "Config": {"Labels": {images.SOURCE_LABEL: "abc"}}}}
    )
    url = "salt://images/app.tar"
    same = images.ensure_image(eng, "app:1", True, rootfs=url, fetched=False, source_sha256="abc")
    assert same.changes == {}
    other = images.ensure_image(eng, "app:1", True, rootfs=url, fetched=False, source_sha256="def")
    assert other.changes == {"image_id": {"old": "sha256:old", "new": f"imported from {url}"}}
    unknown = images.ensure_image(eng, "app:1", True, rootfs=url, fetched=False)
    assert unknown.result and unknown.changes["image_id"]["old"] == "sha256:old"
    loaded = images.ensure_image(eng, "app:1", True, load=url, fetched=False)
    assert loaded.changes == {"image_id": {"old": "sha256:old", "new": f"loaded from {url}"}}
    assert eng.writes == []
    with pytest.raises(SaltmeshError, match="not fetched"):
        images.ensure_image(eng, "app:1", False, load=url, fetched=False)
