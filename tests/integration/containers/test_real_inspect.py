"""The container comparison against what the real dockerd reports, not against our own model.

The unit tests derive Docker's inspect from our create arguments (``fakes.inspect_of``), which
cannot catch a field Docker stores differently. Here containers are created on the real dockerd
with ``create_kwargs`` and compared with its real inspect: the same spec shows no difference,
a changed spec shows exactly the changed field, in place or not.
"""

from __future__ import annotations

import socket

import docker
import pytest

from saltmesh import inventory
from saltmesh.containers import spec as specs
from tests.support import docker as d

pytestmark = [pytest.mark.usefixtures("docker_ok"), pytest.mark.reliability]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def api():
    client = docker.APIClient()
    yield client
    client.close()


@pytest.fixture(scope="module")
def image_with_defaults(rootfs, image_prefix):
    """An image with its own Env, Labels, Cmd and WorkingDir (inherited values must not count)."""
    ref = f"{image_prefix}/defaults:1"
    d.docker("import", "--change", "ENV LANG=C.UTF-8", "--change", "LABEL from=image",
             "--change", 'CMD ["sh"]', "--change", "WORKDIR /www", str(rootfs), ref)  # fmt: skip
    return ref


def full_spec(image, tmp_path):
    return dict(
        image=image, command=["sleep", "1"], entrypoint=["/bin/sh", "-c"],
        env={"A": "1", "PATH": "/x"}, labels={"team": "web"},
        ports={"80": f"127.0.0.1:{free_port()}", "53/udp": f"127.0.0.1:{free_port()}"},
        volumes=[f"{tmp_path}:/srv:ro"], restart="always", hostname="web", user="nobody",
        workdir="/tmp", memory="64m", cpus=0.5,
        networks=[{"bridge": "br0", "ip": "10.0.0.2/24"}],
    )  # fmt: skip


def create(api, name, spec, host):
    api.create_container(**specs.create_kwargs(name, spec, host))
    return api.inspect_container(name)


@pytest.mark.parametrize("which", ["busybox", "image_with_defaults"])
def test_the_same_spec_shows_no_difference(request, api, prefix, tmp_path, which):
    image = request.getfixturevalue(which)
    # the plain busybox import has no CMD: Docker wants one (the other image brings its own)
    cmd = {"command": ["true"]} if which == "busybox" else {}
    cases = {
        "full": full_spec(image, tmp_path),
        "bare": {"image": image, **cmd},
        "env-list": {"image": image, "env": ["A=1", "LANG=C.UTF-8"], **cmd},  # LANG as the image
        "image-label": {"image": image, "labels": {"from": "image"}, **cmd},
        "no-restart": {"image": image, "restart": "no", "command": ["true"]},
    }
    img = api.inspect_image(image)
    for label, kw in cases.items():
        s = inventory.parse_container(kw)
        name = f"{prefix}{label}"
        real = create(api, name, s, "d1")
        want = specs.desired_values(s, "d1", img["Id"])
        have = specs.actual_values(s, "d1", real, img)
        assert {k: have[k] for k in want} == want, label
        assert specs.diff_container(s, "d1", real, img).changes == {}, label
        # and a bare spec compares equal to everything it leaves unset
        assert specs.diff_container(inventory.parse_container({"image": image}), "d1", real,
                                    img).changes == {}, label  # fmt: skip


@pytest.mark.parametrize(
    ("field", "value", "in_place"),
    [
        ("memory", "128m", True), ("cpus", 1.5, True), ("restart", "no", True),
        ("command", ["sleep", "2"], False), ("env", {"A": "2", "PATH": "/x"}, False),
        ("labels", {"team": "db"}, False), ("ports", {"80": "127.0.0.1:1"}, False),
        ("volumes", ["/:/srv:ro"], False), ("hostname", "db", False), ("user", "root", False),
        ("workdir", "/", False), ("entrypoint", ["sh"], False), ("image", "other", False),
    ],
)  # fmt: skip
def test_a_changed_field_is_named_exactly(api, busybox, rootfs, image_prefix, prefix, tmp_path,
                                          field, value, in_place):  # fmt: skip
    base = full_spec(busybox, tmp_path)
    have = inventory.parse_container(base)
    real = create(api, f"{prefix}drift", have, "d1")
    img = api.inspect_image(busybox)
    if field == "image":
        value = f"{image_prefix}/other:1"
        d.docker("import", "--change", "LABEL other=1", str(rootfs), value)
        img = api.inspect_image(value)  # what the spec now names
    want = inventory.parse_container({**base, field: value})
    diff = specs.diff_container(want, "d1", real, img)
    assert list(diff.changes) == [field], diff.changes
    assert (field in diff.update) is in_place and (field in diff.recreate) is not in_place
    old = diff.changes[field]["old"]
    assert old == specs.actual_values(have, "d1", real, img)[field]
    assert old != diff.changes[field]["new"]


def test_labels_and_host_label_read_back(api, busybox, prefix):
    s = inventory.parse_container({"image": busybox, "command": ["true"]})
    real = create(api, f"{prefix}lbl", s, "d1")
    assert real["Config"]["Labels"] == {"saltmesh.managed": "true", "saltmesh.host": "d1"}
    diff = specs.diff_container(s, "d2", real, api.inspect_image(busybox))
    assert diff.recreate == {
        "labels": {
            "old": {"saltmesh.managed": "true", "saltmesh.host": "d1"},
            "new": {"saltmesh.managed": "true", "saltmesh.host": "d2"},
        }
    }
