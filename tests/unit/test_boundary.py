"""Runner functions answer expected failures with one line and retcode 1, never a traceback."""

import functools
import inspect

import pytest

from saltmesh.boundary import one_line_errors, rendered
from saltmesh.errors import PillarError, SaltmeshError

__context__: dict = {}


class OtherError(Exception):
    pass


@one_line_errors(OtherError)
def runner(kind=None, value=1):
    """Doc."""
    if kind == "saltmesh":
        raise SaltmeshError("format must be dot")
    if kind == "pillar":
        raise PillarError([("servers:x:parents:0", "unknown parent 'y'")])
    if kind == "other":
        raise OtherError("master not responding")
    if kind == "bug":
        raise KeyError("bug")
    return value


@pytest.fixture(autouse=True)
def fresh_context():
    __context__.clear()


def test_success_passes_through_and_sets_no_retcode():
    assert runner(value=5) == 5
    assert __context__ == {}


@pytest.mark.parametrize(
    ("kind", "answer"),
    [
        ("saltmesh", "format must be dot"),
        ("pillar", "Invalid pillar:\n  servers:x:parents:0: unknown parent 'y'"),
        ("other", "master not responding"),
    ],
)
def test_expected_errors_become_one_answer_and_retcode_1(kind, answer):
    assert runner(kind) == {"error": answer, "retcode": 1}
    assert __context__ == {"retcode": 1}


def test_unexpected_errors_are_not_hidden():
    with pytest.raises(KeyError):
        runner("bug")


def test_signature_and_name_are_kept_for_salts_argument_parsing():
    assert runner.__name__ == "runner" and runner.__doc__ == "Doc."
    assert list(inspect.signature(runner).parameters) == ["kind", "value"]
    assert isinstance(runner, functools.partial) or inspect.isfunction(runner)


def test_a_pillar_with_render_errors_is_refused_with_them():
    good = {"servers": {}}
    assert rendered(good, "*") is good
    bad = {"_errors": ["saltmesh_fleet: /srv/fleet.yaml: cannot read: No such file"]}
    with pytest.raises(
        SaltmeshError, match=r"pillar of \* did not render: saltmesh_fleet: /srv/fl"
    ):
        rendered(bad, "*")
